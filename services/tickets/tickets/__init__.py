"""Guanjia tickets service: the closed loop of residents' requests."""

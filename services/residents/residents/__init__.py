"""Guanjia residents service: communities, buildings, units, residents and their move-in."""

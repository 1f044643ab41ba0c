"""Guanjia notifications service: tells residents what happened to their requests, and keeps the delivery log."""

"""Guanjia shared infrastructure: nothing here knows about residents, tickets, bills or SMS."""

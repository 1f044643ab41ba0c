"""Guanjia billing service: property fees by unit area, bills and payments."""

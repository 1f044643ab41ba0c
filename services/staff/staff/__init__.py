"""Guanjia staff service: the team behind the accounts — organisation, leave with stand-in cover, the pay rule."""

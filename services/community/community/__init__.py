"""Guanjia community service: knowledge base, local directory and hotlines, satisfaction surveys."""

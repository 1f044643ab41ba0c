"""Guanjia gateway: users, tokens, routing to the services and the merged API documentation."""

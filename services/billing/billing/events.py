"""Events the billing service publishes: their type names and payload schemas (the contract). None yet."""

PUBLISHED: dict = {}

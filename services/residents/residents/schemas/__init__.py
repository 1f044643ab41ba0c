"""Request and response schemas of the residents API, one module per blueprint (shared fields in `common`)."""

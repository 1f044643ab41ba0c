"""Events the residents service handles: none yet (it owns the data others project), so HANDLERS is empty."""

HANDLERS: dict = {}
# The tolerant payload schema of each handled type (checked against the producers in tests/contract).
SCHEMAS: dict = {}

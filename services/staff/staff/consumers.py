"""Events the staff service handles: none yet (it announces absences; figures come from the others' APIs)."""

from __future__ import annotations

HANDLERS: dict = {}
# The tolerant payload schema of each handled type (checked against the producers in tests/contract).
SCHEMAS: dict = {}

"""Need-to-know tables: per service, which role may read and change which resource, enforced in one place.

A service describes its resources in a table (its `policy.py`): each resource names the routes it covers, the roles
that may read it (GET/HEAD), the roles that may change it (any other method), why, and the free-text note fields
that integrators (facts, never notes) do not get. `install(app, policy)` checks every request against the table before the view runs (403
problem+json for a role without the need), and removes the note fields from the answers of roles that get facts
only (integrators). The object-level scope (which community, zone, household) stays with the service's domain.

The same table is machine-readable for the tests (the access matrix is generated from it) and rendered into
docs/security.md (`markdown()`), so the documentation cannot drift from what is enforced.
"""

from __future__ import annotations

import dataclasses
import json

from flask import Flask, g, request

from .errors import Forbidden
from .events import schema_rule

READ_METHODS = ("GET", "HEAD")
ROLES = ("resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator", "admin")


@dataclasses.dataclass(frozen=True)
class Resource:
    """One row of a need-to-know table."""

    name: str
    routes: tuple[str, ...]  # Flask rules, e.g. "/api/v1/residents/<resident_id>/contacts"
    read: tuple[str, ...]
    write: tuple[str, ...]
    why: str
    # Staff's free-text fields in the answers: removed (null) for the roles that get facts only.
    notes: tuple[str, ...] = ()
    facts_only: tuple[str, ...] = ("integrator",)

    def allows(self, role: str, method: str) -> bool:
        if role == "admin":
            return True
        if role == "service":
            # Services ask each other for facts (a unit, a resident's community); they change nothing through here.
            return method in READ_METHODS
        return role in (self.read if method in READ_METHODS else self.write)


class Policy:
    """A service's table, looked up by the request's route."""

    def __init__(
        self,
        service: str,
        resources: list[Resource],
        *,
        service_only: tuple[str, ...] = (),
        public: tuple[str, ...] = (),
    ):
        self.service = service
        self.resources = resources
        self.service_only = service_only  # route prefixes only the `service` role may call (internal routes)
        # Routes without a caller: provider callbacks (checked by their signatures) and the published event schemas.
        self.public = (*public, schema_rule(service))
        self.by_route: dict[str, Resource] = {}
        for resource in resources:
            for route in resource.routes:
                if route in self.by_route:
                    raise ValueError(f"{route} is in two resources: {self.by_route[route].name}, {resource.name}")
                self.by_route[route] = resource

    def resource_of(self, rule: str) -> Resource | None:
        return self.by_route.get(rule)

    def check(self, role: str, method: str, rule: str) -> Resource | None:
        if any(rule.startswith(prefix) for prefix in self.service_only):
            if role != "service":
                raise Forbidden("for services only")
            return None
        resource = self.resource_of(rule)
        if resource is not None and not resource.allows(role, method):
            verb = "read" if method in READ_METHODS else "change"
            raise Forbidden(f"role {role} has no need to {verb} {resource.name}")
        return resource

    def rows(self) -> list[dict]:
        return [
            {"resource": r.name, "read": list(r.read), "write": list(r.write), "why": r.why, "notes": list(r.notes)}
            for r in self.resources
        ]

    def markdown(self) -> str:
        """The table as docs/security.md shows it: one row per resource, R/W per role, and why."""
        head = "| resource | " + " | ".join(ROLES) + " | why |"
        lines = [head, "|" + "---|" * (len(ROLES) + 2)]
        for r in self.resources:
            cells = []
            for role in ROLES:
                mark = ("R" if r.allows(role, "GET") else "") + ("W" if r.allows(role, "POST") else "")
                cells.append(mark or "—")
            lines.append(f"| {r.name} | " + " | ".join(cells) + f" | {r.why} |")
        return "\n".join(lines)


def _strip(value, fields: tuple[str, ...]):
    if isinstance(value, dict):
        return {k: (None if k in fields else _strip(v, fields)) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v, fields) for v in value]
    return value


def install(app: Flask, policy: Policy) -> None:
    """Check every API request against `policy` (after the token was verified) and strip notes on the way out."""
    app.extensions["guanjia.policy"] = policy

    @app.before_request
    def _need_to_know():
        principal = g.get("principal")
        if principal is None or request.url_rule is None:
            return None
        g.policy_resource = policy.check(principal.role, request.method, request.url_rule.rule)
        return None

    @app.after_request
    def _facts_only(response):
        resource = g.get("policy_resource")
        principal = g.get("principal")
        if (
            resource is None
            or principal is None
            or not resource.notes
            or principal.role not in resource.facts_only
            or response.mimetype != "application/json"
        ):
            return response
        body = response.get_json(silent=True)
        if body is not None:
            response.set_data(json.dumps(_strip(body, resource.notes), ensure_ascii=False))
        return response

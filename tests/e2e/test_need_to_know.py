"""The need-to-know matrix, generated from the services' policy tables (`<service>/policy.py`): every role ×
every resource × every documented route and method, called through the gateway as that role of the household's
own community. A role the table does not give the need gets 403 (before the body is even read); a role it does
give the need is never refused by the table. Also: every documented route is in some table, and docs/security.md
shows the tables exactly as enforced.
"""

from __future__ import annotations

import importlib
import re
import uuid
from pathlib import Path

import pytest

from guanjia.access import READ_METHODS, ROLES
from guanjia.testing import auth_header

from .conftest import Client, make_household
from .test_access_matrix import METHODS

SERVICES = ("residents", "tickets", "billing", "notifications", "community", "staff")
# The gateway's own administration checks its callers itself (admin only, own profile).
GATEWAY_OWN = (
    "/api/v1/auth",
    "/api/v1/users",
    "/api/v1/api-keys",
    "/api/v1/audit",
    "/api/v1/dead-letters",
    "/api/v1/openapi.json",
)
RULE_PARAM = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
POLICY_REFUSAL = "has no need to"


def policies():
    return {name: importlib.import_module(f"{name}.policy").policy() for name in SERVICES}


def template_of(rule: str) -> str:
    return RULE_PARAM.sub(r"{\1}", rule)


@pytest.fixture(scope="module")
def world(embedded_stack):
    settings = embedded_stack.settings["gateway"]
    admin = Client(embedded_stack.url, auth_header(settings, "admin")["Authorization"].split()[1])
    home = make_household(admin, f"N{uuid.uuid4().hex[:4]}")
    unit = admin.get(f"/api/v1/units/{home['unit']['id']}").json()
    scopes = {
        "communities": [home["community"]["id"]],
        "zones": [unit["zone_id"]],
        "units": [home["unit"]["id"]],
        "resident_id": home["resident"]["id"],
    }
    known = {
        "community_id": home["community"]["id"],
        "zone_id": unit["zone_id"],
        "building_id": home["building"]["id"],
        "unit_id": home["unit"]["id"],
        "resident_id": home["resident"]["id"],
    }
    document = admin.get("/api/v1/openapi.json").json()
    return {"stack": embedded_stack, "settings": settings, "scopes": scopes, "known": known, "document": document}


def cases():
    """(service, resource, rule, role) for every row and role of every table."""
    for service, policy in policies().items():
        for resource in policy.resources:
            for rule in resource.routes:
                for role in ROLES:
                    if role != "admin":
                        yield pytest.param(service, resource.name, rule, role, id=f"{service}:{rule}:{role}")


@pytest.mark.parametrize(("service", "resource", "rule", "role"), list(cases()))
def test_the_table_decides_who_may_read_and_change(world, service, resource, rule, role):
    policy = policies()[service]
    row = next(r for r in policy.resources if r.name == resource)
    template = template_of(rule)
    item = world["document"]["paths"].get(template)
    assert item is not None, f"{template} is in the {service} table but not documented"
    headers = auth_header(world["settings"], role, **world["scopes"])
    client = Client(world["stack"].url)
    values = {name: world["known"].get(name, str(uuid.uuid4())) for name in RULE_PARAM.findall(rule)}
    path = template.format(**values)
    checked = 0
    for method in METHODS:
        if method not in item:
            continue
        verb = method.upper()
        if verb in READ_METHODS:
            response = client.request(verb, path, headers=headers)
        else:
            # Not even a valid body: the table answers before the request is read.
            response = client.request(
                verb, path, headers={**headers, "Content-Type": "application/json"}, data="{not json"
            )
        refused = response.status_code == 403 and POLICY_REFUSAL in response.text
        if row.allows(role, verb):
            assert not refused, f"{role} {verb} {template}: refused by the table that allows it: {response.text}"
        else:
            assert response.status_code == 403, f"{role} {verb} {template} → {response.status_code}: no need"
            assert refused, f"{role} {verb} {template}: 403 but not from the table: {response.text}"
        checked += 1
    assert checked, f"{template}: no documented method"


def test_every_documented_route_is_in_a_table(world):
    mapped = {template_of(rule) for policy in policies().values() for rule in policy.by_route}
    public = {template_of(rule) for policy in policies().values() for rule in policy.public}
    missing = [
        path
        for path in world["document"]["paths"]
        if path not in mapped
        and path not in public
        and not path.startswith(GATEWAY_OWN)
        and not path.startswith("/api/v1/internal")
    ]
    assert not missing, f"routes without a need-to-know row (add them to the service's policy.py): {missing}"


def test_docs_security_md_shows_the_tables_as_enforced():
    text = (Path(__file__).resolve().parents[2] / "docs/security.md").read_text(encoding="utf-8")
    for service, policy in policies().items():
        assert policy.markdown() in text, (
            f"docs/security.md does not show the {service} table as enforced: run scripts/access_tables.py"
        )


def test_integrators_get_facts_never_notes(world):
    settings, known = world["settings"], world["known"]
    admin = Client(world["stack"].url, auth_header(settings, "admin")["Authorization"].split()[1])
    note = "独居老人，周三下午常不在家"
    changed = admin.request("PATCH", f"/api/v1/residents/{known['resident_id']}", json={"notes": note})
    assert changed.status_code == 200, changed.text
    assert admin.get(f"/api/v1/residents/{known['resident_id']}").json()["notes"] == note
    integrator = Client(world["stack"].url)
    headers = auth_header(settings, "integrator", communities=[known["community_id"]])
    one = integrator.get(f"/api/v1/residents/{known['resident_id']}", headers=headers)
    assert one.status_code == 200 and one.json()["notes"] is None
    listed = integrator.get("/api/v1/residents", headers=headers, params={"unit_id": known["unit_id"]})
    assert listed.status_code == 200 and note not in listed.text
    contacts = integrator.get(f"/api/v1/residents/{known['resident_id']}/contacts", headers=headers)
    assert contacts.status_code == 403


def test_a_resident_does_not_read_the_staffs_contact_log_about_them(world):
    settings, known = world["settings"], world["known"]
    admin = Client(world["stack"].url, auth_header(settings, "admin")["Authorization"].split()[1])
    logged = admin.post(
        f"/api/v1/residents/{known['resident_id']}/contacts",
        json={"kind": "visit", "effective": True, "notes": "对物业费有意见，态度强硬"},
    )
    assert logged.status_code == 201, logged.text
    own = auth_header(settings, "resident", **world["scopes"])
    response = Client(world["stack"].url).get(f"/api/v1/residents/{known['resident_id']}/contacts", headers=own)
    assert response.status_code == 403 and "态度强硬" not in response.text


# --- ids of another community in request bodies, generated from the documented write bodies ----------------------

ID_FIELDS = ("community_id", "zone_id", "building_id", "unit_id", "resident_id", "reporter_id", "payer_id", "owner_id")
# Body fields naming a resident under another name.
AS_RESIDENT = {"reporter_id": "resident_id", "payer_id": "resident_id", "owner_id": "resident_id"}


def _write_bodies(document: dict):
    """(method, template, op, id fields the body documents) for every write with an id field in its body."""
    for template, item in sorted(document["paths"].items()):
        if template.startswith(GATEWAY_OWN) or template.startswith("/api/v1/internal"):
            continue
        for method in ("post", "put", "patch"):
            op = item.get(method)
            content = ((op or {}).get("requestBody") or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            if schema is None:
                continue
            if "$ref" in schema:
                schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            fields = [f for f in ID_FIELDS if f in (schema.get("properties") or {})]
            if fields:
                yield method.upper(), template, op, fields


def test_a_body_naming_another_communitys_objects_writes_nothing(world, embedded_stack):
    """As an admin (instance-wide: only the object's community can refuse it), every write on household B's
    objects whose body names one of household A's objects is refused — 4xx naming nothing of A, nothing written."""
    from .test_access_matrix import body_for, resolve

    settings = world["settings"]
    admin = Client(embedded_stack.url, auth_header(settings, "admin")["Authorization"].split()[1])
    b = make_household(admin, f"X{uuid.uuid4().hex[:4]}")
    b_unit = admin.get(f"/api/v1/units/{b['unit']['id']}").json()
    known_b = {
        "community_id": b["community"]["id"],
        "zone_id": b_unit["zone_id"],
        "building_id": b["building"]["id"],
        "unit_id": b["unit"]["id"],
        "resident_id": b["resident"]["id"],
    }
    known_a = dict(world["known"])
    for alias, kind in AS_RESIDENT.items():
        known_a[alias], known_b[alias] = known_a[kind], known_b[kind]
    document, cache, violations, checked = world["document"], {}, [], 0
    for method, template, op, fields in _write_bodies(document):
        values = resolve(admin, template, known_b, cache)
        if values is None:
            continue
        path = template.format(**values)
        base = body_for(op, document, known_b) or {}
        for field in fields:
            if field in values or field == "community_id" and "{" in template:
                continue  # the path names the object itself
            # The rest of the body on B (every other id field it documents): only `field` names A.
            body = {**base, **{other: known_b[other] for other in fields if other != field}, field: known_a[field]}
            if not values and len(fields) < 2:
                continue  # nothing of B to conflict with: this merely creates in A (an admin may)
            response = admin.request(method, path, json=body)
            checked += 1
            if response.status_code < 400:
                violations.append(f"{method} {template} with {field} of another community → {response.status_code}")
    print(f"{checked} writes with another community's id checked")
    assert checked >= 10
    assert not violations, "\n".join(violations)

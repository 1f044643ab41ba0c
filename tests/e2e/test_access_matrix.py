"""The access matrix, generated from the merged OpenAPI document: for every endpoint and every role, a caller from
another community (and a resident of another household, a butler of another zone) gets 404 — or 403 where the
object's existence is not secret — and nothing changes. A new endpoint is covered the day it is documented.

How an endpoint is exercised: its path parameters are filled with the ids of objects of household A (found by
name — `unit_id` is A's unit — or by listing the parent collection as an admin); a request body is made from the
documented schema (required fields, plausible values), so the request gets past validation to the object lookup.
Callers hold tokens scoped to community B. For list endpoints, the answer must not mention any of A's ids.
Runs on the embedded stack (the same code as distributed; one process is fast enough for ~1000 requests).
"""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from guanjia.testing import auth_header

from .conftest import Client, make_household

METHODS = ("get", "post", "put", "patch", "delete")
SCOPED_ROLES = ("resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator")
# Parameters naming the community itself or its structure: a resident of another household in the same community
# may legitimately see these, so that caller is checked on household-level objects only. The community's knowledge
# base and directory entries, its service catalogue and its surveys' questionnaires are pages of the whole community,
# like its zones (a survey's answers stay per household: the community service's tests cover the neighbours).
# The estate's equipment is the community's too; a butler sees the community-wide pieces and those of their own
# zones (services/tickets/tests/integration/test_equipment.py covers the zones).
COMMUNITY_LEVEL = {"community_id", "building_id", "zone_id", "entry_id", "item_id", "survey_id", "equipment_id"}
ALLOWED = {403, 404}
PARAM = re.compile(r"\{([^}]+)\}")


@pytest.fixture(scope="module")
def world(embedded_stack):
    settings = embedded_stack.settings["gateway"]
    # An admin principal of its own (not the shared `admin` login): the matrix never uses up its rate limit.
    admin = Client(embedded_stack.url, auth_header(settings, "admin")["Authorization"].split()[1])
    a = make_household(admin, f"A{uuid.uuid4().hex[:4]}")
    b = make_household(admin, f"B{uuid.uuid4().hex[:4]}")
    # A second household in A's community: "another household" for residents.
    unit2 = admin.created(
        "/api/v1/units", {"building_id": a["building"]["id"], "number": "1-102", "floor": 1, "area_m2": "70.00"}
    )
    resident2 = admin.created(
        "/api/v1/residents", {"unit_id": unit2["id"], "name": "李四", "phone": "13900139002", "role": "owner"}
    )
    owner_a = Client(embedded_stack.url).login(*a["login"])
    ticket = owner_a.created(
        "/api/v1/tickets", {"unit_id": a["unit"]["id"], "category": "repair", "description": "厨房水龙头滴水"}
    )
    document = admin.get("/api/v1/openapi.json").json()
    known = {
        "community_id": a["community"]["id"],
        "building_id": a["building"]["id"],
        "unit_id": a["unit"]["id"],
        "resident_id": a["resident"]["id"],
        "ticket_id": ticket["id"],
    }
    unit = admin.get(f"/api/v1/units/{a['unit']['id']}").json()
    if unit.get("zone_id"):
        known["zone_id"] = unit["zone_id"]
    return {
        "stack": embedded_stack,
        "admin": admin,
        "a": a,
        "b": b,
        "second_household": {"unit": unit2, "resident": resident2},
        "known": known,
        "document": document,
        "a_ids": set(known.values()),
    }


def operations(document: dict):
    for path, item in sorted(document["paths"].items()):
        for method in METHODS:
            op = item.get(method)
            if op is None or op.get("security") == []:
                continue  # public endpoints (sign-in) have no caller to scope
            yield method.upper(), path, op


def resolve(admin: Client, path: str, known: dict, cache: dict, document: dict | None = None) -> dict | None:
    """Values for every {param} of `path` that name objects of household A, or None if some cannot be found.

    An empty collection is given one object first, created as an admin from the documented POST body of the
    collection, so endpoints of objects nobody thought of creating here get covered as well."""
    values = {}
    for name in PARAM.findall(path):
        if name in known:
            values[name] = known[name]
            continue
        # The collection the parameter indexes: the path up to it, the parameters before it filled in.
        prefix = path[: path.index("{" + name + "}")].rstrip("/")
        try:
            parent = prefix.format(**values)
        except KeyError:
            return None
        if parent not in cache:
            response = admin.get(parent, params={"community_id": known["community_id"], "page_size": 100})
            found = response.json() if response.status_code == 200 else None
            items = found.get("items") if isinstance(found, dict) else found
            cache[parent] = [i for i in (items or []) if isinstance(i, dict) and i.get("id")]
            if not cache[parent] and document is not None:
                cache[parent] = _create_one(admin, prefix, parent, known, document)
        items = cache[parent]
        if not items:
            return None
        values[name] = items[0]["id"]
    return values


def _create_one(admin: Client, template: str, parent: str, known: dict, document: dict) -> list[dict]:
    post = (document["paths"].get(template) or {}).get("post")
    if post is None:
        return []
    response = admin.post(parent, json=body_for(post, document, known) or {})
    if response.status_code in (200, 201) and isinstance(response.json(), dict) and response.json().get("id"):
        return [response.json()]
    return []


def example(schema: dict, document: dict, known: dict, depth: int = 0):
    """A plausible value for `schema`: required fields only, ids of household A where the name says so."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return example(document["components"]["schemas"][name], document, known, depth)
    if depth > 4:
        return None
    for combinator in ("allOf", "anyOf", "oneOf"):
        if schema.get(combinator):
            return example(schema[combinator][0], document, known, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    if kind == "object" or "properties" in schema:
        body = {}
        for prop in schema.get("required", []):
            sub = schema.get("properties", {}).get(prop, {})
            body[prop] = known.get(prop) if prop in known else example(sub, document, known, depth + 1)
        return body
    if kind == "array":
        return [example(schema.get("items", {}), document, known, depth + 1)] if schema.get("minItems") else []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date":
        return "2027-01-15"
    if fmt == "date-time":
        return "2027-01-15T10:00:00+08:00"
    if schema.get("pattern") and "\\d" in schema["pattern"] and "." in schema["pattern"]:
        return "100.00"
    return "测试"


def body_for(op: dict, document: dict, known: dict):
    content = (op.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema")
    return None if schema is None else example(schema, document, known)


def callers(world) -> dict:
    """role → (headers, kind): tokens from community B; residents of another household; a butler of another zone."""
    settings = world["stack"].settings["gateway"]
    b = world["b"]
    scoped = {}
    for role in SCOPED_ROLES:
        scopes = {"communities": [b["community"]["id"]], "zones": [str(uuid.uuid4())]}
        if role == "resident":
            scopes.update(units=[b["unit"]["id"]], resident_id=b["resident"]["id"])
        scoped[f"{role}@other-community"] = (auth_header(settings, role, **scopes), "community")
    second = world["second_household"]
    scoped["resident@other-household"] = (
        auth_header(
            settings,
            "resident",
            communities=[world["a"]["community"]["id"]],
            units=[second["unit"]["id"]],
            resident_id=second["resident"]["id"],
        ),
        "household",
    )
    if "zone_id" in world["known"]:
        scoped["butler@other-zone"] = (
            auth_header(settings, "butler", communities=[world["a"]["community"]["id"]], zones=[str(uuid.uuid4())]),
            "household",
        )
    return scoped


def snapshot(admin: Client, object_path: str):
    response = admin.get(object_path)
    return response.status_code, response.text if response.status_code == 200 else None


def settled(admin: Client, object_path: str, timeout: float = 10.0):
    """The object's snapshot once two readings 0.3 s apart agree (background work on it has finished)."""
    deadline = time.monotonic() + timeout
    last = snapshot(admin, object_path)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        current = snapshot(admin, object_path)
        if current == last:
            return current
        last = current
    return last


def mentions(text: str, ids: set[str]) -> set[str]:
    return {i for i in ids if i in text}


CALLERS = [f"{r}@other-community" for r in SCOPED_ROLES] + ["resident@other-household", "butler@other-zone"]


@pytest.mark.parametrize("caller", CALLERS)
def test_a_caller_from_elsewhere_gets_404_or_403_and_changes_nothing(world, caller):
    scoped = callers(world)
    if caller not in scoped:
        pytest.skip("household A's unit has no zone: there is no other zone to be a butler of")
    headers, kind = scoped[caller]
    client = Client(world["stack"].url)
    # An admin principal of its own: the hundreds of reads here never eat into another test's rate-limit budget.
    settings = world["stack"].settings["gateway"]
    admin = Client(world["stack"].url, auth_header(settings, "admin")["Authorization"].split()[1])
    document, known = world["document"], world["known"]
    cache: dict = {}
    violations, covered, uncovered = [], 0, []

    for method, template, op in operations(document):
        params = PARAM.findall(template)
        if kind == "household" and (not params or set(params) <= COMMUNITY_LEVEL):
            continue  # a neighbour may see the community's own pages
        if not params:
            if method != "GET":
                continue  # creating in one's own scope is not a matter of another's objects
            response = client.get(
                template,
                headers=headers,
                params={"community_id": known["community_id"], "unit_id": known["unit_id"], "page_size": 100},
            )
            covered += 1
            leaked = mentions(response.text, world["a_ids"]) if response.status_code == 200 else set()
            if leaked:
                violations.append(f"GET {template} → 200 listing household A's {sorted(leaked)}")
            continue
        values = resolve(admin, template, known, cache, document)
        if values is None:
            uncovered.append(f"{method} {template}")
            continue
        path = template.format(**values)
        object_path = path[: path.rindex(values[params[-1]]) + len(values[params[-1]])]
        before = snapshot(admin, object_path) if method != "GET" else None
        body = body_for(op, document, known)
        response = client.request(method, path, headers=headers, json=body)
        covered += 1
        status = response.status_code
        if status not in ALLOWED:
            # Validation that answers the same for an id that does not exist reveals nothing.
            ghost = template.format(**{k: str(uuid.uuid4()) for k in values})
            same_for_nothing = client.request(method, ghost, headers=headers, json=body).status_code == status
            if not (status in (400, 422) and same_for_nothing):
                violations.append(f"{method} {template} → {status}: {response.text[:200]}")
        if before is not None and snapshot(admin, object_path) != before:
            # Objects change on their own too (an SMS being sent): once it is still, ask again and compare.
            before = settled(admin, object_path)
            again = client.request(method, path, headers=headers, json=body).status_code
            if snapshot(admin, object_path) != before:
                violations.append(f"{method} {template} changed {object_path} (answered {status}, then {again})")

    print(f"{caller}: {covered} requests checked; not coverable (no such object in household A): {uncovered}")
    assert covered >= 20, "the matrix exercised almost nothing: is the merged OpenAPI document complete?"
    assert not violations, f"{caller} reached household A's data:\n" + "\n".join(violations)


def test_the_matrix_covers_every_kind_of_object_household_a_has(world):
    """The core objects are always exercisable: if this fails, the generator lost track of them."""
    templates = {path for _, path, _ in operations(world["document"])}
    for needed in ("/api/v1/units/{unit_id}", "/api/v1/tickets/{ticket_id}", "/api/v1/residents/{resident_id}"):
        assert needed in templates
    cache: dict = {}
    for template in templates:
        if set(PARAM.findall(template)) <= set(world["known"]):
            assert resolve(world["admin"], template, world["known"], cache) is not None
    assert json.dumps(world["known"])  # ids of A are what the callers must never see

"""The routing table and the OpenAPI merge, without infrastructure."""

import pytest

from gateway.openapi import merge_documents
from gateway.routing import LOCAL_PREFIXES, ROUTES, is_blocked, route_for


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/communities", "residents"),
        ("/api/v1/buildings/b-1", "residents"),
        ("/api/v1/units/u-1/move-in", "residents"),
        ("/api/v1/residents", "residents"),
        ("/api/v1/tickets", "tickets"),
        ("/api/v1/tickets/t-1", "tickets"),
        ("/api/v1/billing/bills", "billing"),
        ("/api/v1/notifications/deliveries", "notifications"),
        ("/api/v1/auth/token", None),
        ("/api/v1/users/me", None),
        ("/api/v1/ticketsx", None),
        ("/api/v1/openapi.json", None),
        ("/healthz", None),
    ],
)
def test_paths_route_to_their_owning_service(path, service):
    assert route_for(path) == service


def test_every_prefix_is_one_segment_below_the_api_root():
    # route_for looks prefixes up by that one segment.
    assert all(prefix.count("/") == 3 and prefix.startswith("/api/v1/") for prefix in ROUTES)


@pytest.mark.parametrize(
    ("path", "blocked"),
    [
        ("/api/v1/internal", True),
        ("/api/v1/internal/residents/r/contact", True),
        ("/api/v1//internal/residents/r/contact", True),
        ("/api/v1/tickets/../internal/x", True),
        ("/api/v1/tickets/./x", True),
        ("/api/v1/tickets/..", True),
        ("/api/v1/internals", False),
        ("/api/v1/tickets/t-1", False),
        ("/api/v1/tickets/", False),
    ],
)
def test_internal_routes_and_their_disguises_are_blocked(path, blocked):
    assert is_blocked(path) is blocked


def _doc(paths, schemas):
    tags = sorted({tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])})
    return {
        "openapi": "3.1.0",
        "info": {"version": "v1"},
        "paths": paths,
        "components": {"schemas": schemas},
        "tags": [{"name": t} for t in tags],
    }


def _op(ref_name, tag):
    def schema(name):
        return {"content": {"x": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    return {"get": {"tags": [tag], "responses": {"200": schema(ref_name), "default": schema("Error")}}}


def test_same_named_different_schemas_are_prefixed_per_service_and_refs_follow():
    gateway = _doc(
        {"/api/v1/users": _op("Item", "users")},
        {"Item": {"type": "object", "title": "user"}, "Error": {"type": "object"}},
    )
    tickets = _doc(
        {"/api/v1/tickets": _op("Item", "tickets"), "/api/v1/internal/secret": _op("Secret", "internal")},
        {
            "Item": {"type": "object", "title": "ticket", "properties": {"p": {"$ref": "#/components/schemas/Part"}}},
            "Part": {"type": "string"},
            "Secret": {"type": "object"},
            "Error": {"type": "object"},
        },
    )
    merged = merge_documents({"gateway": gateway, "tickets": tickets})
    schemas = merged["components"]["schemas"]
    # Identical Error is shared; Part is kept because tickets_Item uses it; Secret left with its internal route.
    assert set(schemas) == {"gateway_Item", "tickets_Item", "Part", "Error"}
    assert schemas["tickets_Item"]["title"] == "ticket"

    def ref_of(path):
        return merged["paths"][path]["get"]["responses"]["200"]["content"]["x"]["schema"]["$ref"]

    assert ref_of("/api/v1/users") == "#/components/schemas/gateway_Item"
    assert ref_of("/api/v1/tickets") == "#/components/schemas/tickets_Item"
    assert "/api/v1/internal/secret" not in merged["paths"]
    assert "internal" not in [tag["name"] for tag in merged["tags"]]


def test_no_local_path_is_routed_away():
    assert all(route_for(prefix) is None and route_for(prefix + "/x") is None for prefix in LOCAL_PREFIXES)


def test_a_service_cannot_publish_paths_it_does_not_own():
    gateway = _doc({"/api/v1/auth/token": {"post": {}}}, {})
    rogue = _doc({"/api/v1/auth/token": {"post": {"summary": "rogue"}}, "/api/v1/tickets": {"get": {}}}, {})
    merged = merge_documents({"gateway": gateway, "billing": rogue})
    assert merged["paths"] == {"/api/v1/auth/token": {"post": {}}}

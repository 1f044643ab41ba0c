"""Routing of the gateway's own internal routes, discovered routes, rate-limit windows, password policy."""

import pytest

from gateway import security
from gateway.config import GatewaySettings
from gateway.openapi import discovered_owners, merge_documents
from gateway.ratelimit import MemoryStore, RateLimiter
from gateway.routing import is_blocked
from guanjia.config import Settings
from guanjia.errors import Invalid


@pytest.mark.parametrize(
    ("path", "blocked"),
    [
        ("/api/v1/internal/users", False),
        ("/api/v1/internal/users/u-1/contact", False),
        ("/api/v1/internal/users-x", True),
        ("/api/v1//internal/users/u-1/contact", True),
        ("/api/v1/internal/users/../residents/r/contact", True),
        ("/api/v1/internal/residents", True),
    ],
)
def test_only_the_gateways_own_internal_routes_pass_the_router(path, blocked):
    assert is_blocked(path) is blocked


def _doc(*paths):
    return {"openapi": "3.1.0", "info": {"version": "v1"}, "paths": {p: {"get": {}} for p in paths}}


def test_a_segment_a_service_documents_is_routed_to_it_and_internal_paths_never_merge():
    documents = {
        "gateway": _doc("/api/v1/users", "/api/v1/internal/users"),
        "residents": _doc("/api/v1/zones/{zone_id}", "/api/v1/units", "/api/v1/internal/zones/{zone_id}"),
        "tickets": _doc("/api/v1/zones", "/api/v1/tickets"),
    }
    # The first service to document a segment owns it; static routes and the gateway's own are never taken over.
    assert discovered_owners(documents) == {"zones": "residents"}
    merged = merge_documents(documents)
    assert set(merged["paths"]) == {"/api/v1/users", "/api/v1/zones/{zone_id}", "/api/v1/units", "/api/v1/tickets"}


def test_memory_limits_count_a_moving_window_and_say_when_it_frees():
    limiter = RateLimiter(
        Settings(service="gateway", database_url="sqlite://", embedded=True),
        GatewaySettings(rate_limits={"login": (2, 60)}),
        MemoryStore(),
    )
    assert limiter.hit("login", "1.2.3.4") is None
    assert limiter.hit("login", "1.2.3.4") is None
    retry_after = limiter.hit("login", "1.2.3.4")
    assert 1 <= retry_after <= 60
    assert limiter.hit("login", "5.6.7.8") is None


@pytest.mark.parametrize(
    ("password", "ok"),
    [("correct-horse-1", True), ("short", False), ("aaaaaaaaaaaaaa", False), ("qwertyuiop", False)],
)
def test_password_policy(password, ok):
    if ok:
        security.check_policy(password, "someone")
    else:
        with pytest.raises(Invalid):
            security.check_policy(password, "someone")


def test_argon2id_hashes_verify_and_walking_skeleton_hashes_are_upgraded():
    from werkzeug.security import generate_password_hash

    stored = security.hash_password("correct-horse-1")
    assert stored.startswith("$argon2id$")
    assert security.verify_password(stored, "correct-horse-1") == (True, False)
    assert security.verify_password(stored, "wrong-horse-1")[0] is False
    old = generate_password_hash("correct-horse-1")
    assert security.verify_password(old, "correct-horse-1") == (True, True)  # then rehashed with argon2id
    assert security.verify_password("", "anything")[0] is False

"""The first admin: created once at start-up, with a generated password or the one from the environment."""

import uuid

from gateway.app import create_app
from gateway.bootstrap import bootstrap


def fresh_settings(infra, **overrides):
    # A database of its own: the shared session database may already hold an admin.
    return infra.settings("gateway", database=f"gateway_boot_{uuid.uuid4().hex[:6]}", **overrides)


def login(settings, password):
    client = create_app(settings, upstreams={}).test_client()
    return client.post("/api/v1/auth/token", json={"username": "admin", "password": password})


def test_bootstrap_generates_and_prints_the_admin_password_once(infra):
    settings = fresh_settings(infra)
    lines = bootstrap(settings)
    [password_line] = [line for line in lines if line.startswith("admin password: ")]
    password = password_line.removeprefix("admin password: ")
    assert len(password) >= 12
    # A password that went through a console must be replaced before it opens anything.
    response = login(settings, password)
    assert response.status_code == 403
    assert response.json["password_change_required"] is True
    assert "access_token" not in response.json

    assert bootstrap(settings) == []  # idempotent: nothing new, nothing printed
    client = create_app(settings, upstreams={}).test_client()
    changed = client.post(
        "/api/v1/auth/password",
        json={"username": "admin", "password": password, "new_password": "a-new-root-passphrase-7"},
    )
    assert changed.status_code == 200 and changed.json["access_token"]
    assert login(settings, password).status_code == 401
    assert login(settings, "a-new-root-passphrase-7").status_code == 200


def test_bootstrap_takes_the_password_from_the_environment_and_never_prints_it(infra):
    settings = fresh_settings(infra, env={"GUANJIA_ADMIN_PASSWORD": "from-the-env-42"})
    lines = bootstrap(settings)
    assert lines and any("GUANJIA_ADMIN_PASSWORD" in line for line in lines)
    assert not any("from-the-env-42" in line for line in lines)
    assert login(settings, "from-the-env-42").status_code == 200
    assert bootstrap(settings) == []

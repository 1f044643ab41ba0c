"""The operator's commands against a running instance: guanjia users, guanjia load FILE, guanjia jobs, config check."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from guanjia.cli import main

from .conftest import ADMIN_PASSWORD, Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def operator_env(embedded_stack, monkeypatch):
    """The operator's shell: the instance's GUANJIA_* settings (its var/ holds the token signing key)."""
    for key, value in embedded_stack.env.items():
        if key.startswith("GUANJIA_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("GUANJIA_GATEWAY_URL", embedded_stack.url)
    return embedded_stack


def _jobs_run(service: str) -> set[str]:
    """The service's jobs with a recorded run, read as the CLI reads them (the operator's environment)."""
    from guanjia import config
    from guanjia.db import Database
    from guanjia.jobs import last_runs

    database = Database(config.from_env(service).database_url, pool_size=1)
    try:
        return set(last_runs(database))
    finally:
        database.dispose()


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_create_reset_password_and_disable(operator_env, capsys):
    url = operator_env.url
    name = f"clerk{uuid.uuid4().hex[:6]}"
    code, out, _ = _run(capsys, "users", "create", name, "--role", "finance", "--display-name", "出纳")
    assert code == 0 and "one-time password" in out
    one_time = out.rsplit(": ", 1)[1].strip()
    # A one-time password opens nothing but the password change.
    first = requests.post(f"{url}/api/v1/auth/token", json={"username": name, "password": one_time}, timeout=10)
    assert first.status_code == 403 and first.json()["password_change_required"] is True

    code, out, _ = _run(capsys, "users", "reset-password", name)
    assert code == 0 and "temporary password" in out
    temporary = out.rsplit(": ", 1)[1].strip()
    assert temporary != one_time
    assert requests.post(f"{url}/api/v1/auth/token", json={"username": name, "password": one_time}).status_code == 401

    code, out, _ = _run(capsys, "users", "disable", name)
    assert code == 0 and "disabled" in out
    after = requests.post(f"{url}/api/v1/auth/token", json={"username": name, "password": temporary}, timeout=10)
    assert after.status_code in (401, 403) and "access_token" not in after.json()

    code, _, err = _run(capsys, "users", "disable", "nobody-" + name)
    assert code == 1 and "no user named" in err


def test_load_creates_communities_with_fee_defaults_and_users_once(operator_env, capsys, tmp_path):
    community = f"锦城花园 {uuid.uuid4().hex[:4]}"
    clerk = f"fin{uuid.uuid4().hex[:6]}"
    (tmp_path / "fee-defaults.json").write_text(
        (ROOT / "deploy/k8s/overlays/chengdu/fee-defaults.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "city.json").write_text(
        json.dumps(
            {
                "fee_defaults": "fee-defaults.json",
                "communities": [{"name": community, "fee_defaults": {"due_days": 20}}],
                "users": [{"username": clerk, "role": "finance", "communities": [community]}],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    code, out, err = _run(capsys, "load", str(tmp_path / "city.json"))
    assert code == 0, err
    assert f"community {community}: created" in out and f"user {clerk}: created (finance)" in out

    admin = Client(operator_env.url).login("admin", ADMIN_PASSWORD)
    found = [
        c for c in admin.get("/api/v1/communities", params={"page_size": 100}).json()["items"] if c["name"] == community
    ]
    assert len(found) == 1
    policy = admin.get(f"/api/v1/billing/policies/{found[0]['id']}").json()
    assert policy["due_days"] == 20 and policy["late_fee_daily_rate"] == "0.000300" and policy["area_basis"] == "inner"
    user = admin.get("/api/v1/users", params={"username": clerk}).json()["items"][0]
    assert user["communities"] == [found[0]["id"]]

    code, out, _ = _run(capsys, "load", str(tmp_path / "city.json"))
    assert code == 0 and f"community {community}: exists" in out and f"user {clerk}: exists" in out
    assert (
        len(
            [
                c
                for c in admin.get("/api/v1/communities", params={"page_size": 100}).json()["items"]
                if c["name"] == community
            ]
        )
        == 1
    )

    (tmp_path / "bad.json").write_text('{"communities": [', encoding="utf-8")
    code, _, err = _run(capsys, "load", str(tmp_path / "bad.json"))
    assert code == 1 and "not valid JSON" in err


def test_jobs_show_when_each_ran_and_run_one_now(operator_env, capsys):
    code, out, _ = _run(capsys, "jobs", "run", "tickets", "sla")
    assert code == 0 and out.startswith("tickets sla: ok in ")
    ran_before = _jobs_run("tickets")
    code, out, _ = _run(capsys, "jobs", "list", "tickets")
    ran_after = _jobs_run("tickets")
    assert code == 0
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert lines["tickets sla"].startswith("every 60s, last run ") and " ok" in lines["tickets sla"]
    # The session's instance runs patrol coverage 15 minutes after it started: a long suite gets there first.
    if "patrol-coverage" not in ran_after:
        assert lines["tickets patrol-coverage"] == "every 900s, not run yet"
    elif "patrol-coverage" in ran_before:
        assert lines["tickets patrol-coverage"].startswith("every 900s, last run ")

    # The scheduled runs of the instance's own workers are on /metrics (notifications' dispatch runs constantly).
    # The gateway serves /metrics only with GUANJIA_METRICS_TOKEN; the embedded stack runs in this process, so its
    # registry is read directly.
    from prometheus_client import REGISTRY, generate_latest

    metrics = generate_latest(REGISTRY).decode()
    assert 'guanjia_job_last_run_timestamp_seconds{job="dispatch",service="notifications"}' in metrics
    assert 'guanjia_job_last_run_ok{job="dispatch",service="notifications"} 1.0' in metrics

    code, _, err = _run(capsys, "jobs", "run", "tickets", "nightly")
    assert code == 2 and "one of: sla, patrol-coverage" in err
    code, _, err = _run(capsys, "jobs", "list", "gateway")
    assert code == 2 and "unknown service 'gateway'; one of: tickets, billing, notifications, community, staff" in err

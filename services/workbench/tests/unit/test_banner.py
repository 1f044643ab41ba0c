"""`make run` / `make run-distributed` print the workbench's address first, with the demo logins under it."""

from guanjia.cli import _banner


def test_the_banner_starts_with_the_workbench_and_the_demo_logins():
    lines = ["admin     password: generated-once", "log in as butler / garden-walk-2026 (butler)"]
    body = _banner("http://127.0.0.1:8000", lines, "embedded").splitlines()
    assert body[1] == "Workbench      http://127.0.0.1:8000/"
    assert body[2:4] == [f"  {line}" for line in lines]
    assert sum("garden-walk-2026" in line for line in body) == 1

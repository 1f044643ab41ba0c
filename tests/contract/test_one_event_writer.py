"""Every service writes its events through the library's one writer (guanjia.outbox.emit / outbox.Batch): no
envelope built by hand, no outbox row or relay wake-up written by a service itself (issue 20)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_CODE = sorted(
    path
    for path in (ROOT / "services").glob("*/*/**/*.py")
    if "tests" not in path.relative_to(ROOT / "services").parts and "migrations" not in path.parts
)
# What only guanjia.outbox may do.
FORBIDDEN = {
    "builds an envelope itself (use outbox.emit or outbox.Batch)": re.compile(r"events\w*\.build\("),
    "writes outbox rows itself": re.compile(r"INSERT INTO outbox|outbox\.insert\(|outboxmod\.add\(", re.I),
    "wakes the relay itself": re.compile(r"pg_notify|guanjia_outbox"),
}


def test_service_code_is_found():
    assert len(SERVICE_CODE) > 50


@pytest.mark.parametrize("rule", sorted(FORBIDDEN))
def test_no_service_writes_events_around_the_library(rule):
    pattern = FORBIDDEN[rule]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in SERVICE_CODE
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"service code that {rule}: {offenders}"

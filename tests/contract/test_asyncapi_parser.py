"""docs/asyncapi.yaml passes the reference AsyncAPI parser (@asyncapi/parser on node), not only our own reading.

The parser and its exact version come from tests/asyncapi/package-lock.json (installed by `make venv`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tests" / "asyncapi"
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"


def _parse(path: Path) -> tuple[int, dict]:
    node = shutil.which("node")
    assert node, "node is required for the AsyncAPI check (Node.js 20 is part of the development machine)"
    assert (CHECKER / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "@asyncapi/parser is not installed: run `make venv` (npm ci --prefix tests/asyncapi)"
    )
    result = subprocess.run(
        [node, str(CHECKER / "validate.mjs"), str(path)], capture_output=True, text=True, timeout=120, cwd=CHECKER
    )
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the AsyncAPI checker crashed: {result.stdout}\n{result.stderr}")


def test_asyncapi_document_is_valid_for_the_reference_parser():
    code, report = _parse(DOCUMENT)
    assert code == 0 and report["valid"], json.dumps(report["errors"], indent=2, ensure_ascii=False)
    assert report["version"].startswith("3.")
    documented = {m["name"] for m in yaml.safe_load(DOCUMENT.read_text())["components"]["messages"].values()}
    # Every channel the parser resolved is an event type, and every documented message has its channel.
    assert set(report["channels"]) == documented


def test_the_parser_rejects_a_broken_document(tmp_path):
    # Guards the guard: an unquoted comma in a flow mapping once slipped an extra key into an operation.
    broken = DOCUMENT.read_text().replace("action: send", "action: shout", 1)
    path = tmp_path / "asyncapi.yaml"
    path.write_text(broken)
    code, report = _parse(path)
    assert code == 1 and not report["valid"] and report["errors"]

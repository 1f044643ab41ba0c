"""The Prometheus alert rules and the Grafana dashboard under deploy/observability parse (PromQL by a real
parser), cover what operators must hear about, and use only metrics the code exposes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
import yaml

import guanjia.metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "observability" / "prometheus-rules.yaml"
DASHBOARD = ROOT / "deploy" / "observability" / "grafana-dashboard.json"
# Read by billing from its own database at scrape time through guanjia.metrics.register_state (billing owns
# the collection-rate rules). Until billing registers them the alert and the panel stay empty, never wrong.
PENDING = {"guanjia_billing_collection_rate", "guanjia_billing_collection_target"}


def _exposed() -> set[str]:
    """Every metric name the code can expose (counters, histograms with their series, scrape-time gauges)."""
    names = set()
    for value in vars(guanjia.metrics).values():
        describe = getattr(value, "describe", None)
        if callable(describe) and hasattr(value, "_name"):
            for family in describe():
                for sample_suffix in ("", "_total", "_bucket", "_sum", "_count", "_created"):
                    names.add(family.name + sample_suffix)
    source = Path(guanjia.metrics.__file__).read_text()
    names |= set(re.findall(r'GaugeMetricFamily\(\s*"(guanjia_\w+)"', source))
    for path in (ROOT / "services").glob("*/*/*.py"):
        names |= set(re.findall(r'"(guanjia_\w+)"', path.read_text(encoding="utf-8")))
    return names


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\b(guanjia_[a-z_]+)\b", expr))


def test_rule_file_has_named_groups_of_alerts():
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names)) and all(group["rules"] for group in document["groups"])
    alerts = [rule["alert"] for rule in _rules()]
    assert len(alerts) == len(set(alerts))


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.get("alert", "?"))
def test_every_rule_parses_and_is_actionable(rule):
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
    promql_parser.parse(rule["expr"])  # raises on invalid PromQL
    if "for" in rule:
        promql_parser.parse_duration(rule["for"])
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["annotations"]["summary"]
    for text in rule["annotations"].values():
        assert text.count("{{") == text.count("}}"), "unbalanced template"
    unknown = _metrics_in(rule["expr"]) - _exposed() - PENDING
    assert not unknown, f"{rule['alert']} uses metrics nobody exposes: {unknown}"


def test_the_invalid_is_refused_by_the_parser():
    with pytest.raises(Exception):  # noqa: B017 - the parser raises its own error type
        promql_parser.parse("sum by (service) (rate(guanjia_http_requests_total[5m]) >")


def test_alerts_cover_what_the_issue_names():
    by_metric = {}
    for rule in _rules():
        for metric in _metrics_in(rule["expr"]):
            by_metric.setdefault(metric, []).append(rule)
    assert any("guanjia_outbox_backlog" in r["expr"] for r in by_metric["guanjia_outbox_oldest_unpublished_seconds"])
    assert by_metric["guanjia_dead_letters"]
    assert any('"ticket.sla_breached"' in r["expr"] for r in by_metric["guanjia_events_published_total"])
    assert by_metric["guanjia_billing_collection_rate"]
    assert by_metric["guanjia_consumer_lag_messages"]


def test_dashboard_panels_query_valid_promql_over_exposed_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "city"} <= variables
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$city", "shanghai")
            promql_parser.parse(expr)
            used |= _metrics_in(expr)
    assert not used - _exposed() - PENDING, used - _exposed() - PENDING
    # The things an operator looks at first.
    for metric in ("guanjia_outbox_backlog", "guanjia_dead_letters", "guanjia_consumer_lag_messages"):
        assert metric in used

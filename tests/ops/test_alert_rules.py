"""deploy/prometheus/alerts.yml: every metric it names is in /metrics, and its thresholds are
the defaults of the settings it names."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.ops.conftest import scrape

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bshop_[a-z_]+\b")


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def test_the_issue_s_alerts_are_all_there():
    assert {rule["alert"] for rule in rules()} >= {
        "ProjectionLagging",
        "ProjectionFailureRateHigh",
        "DeadLettersGrowing",
        "QueryLatencyOverSLA",
        "ProjectionRunnerStuck",
        "HorizonHeld",
    }


def test_every_metric_the_rules_name_is_in_the_metrics_output(staff, client, failed_projection):
    # Labelled series appear once something happened: a command, a request, a projection run
    # and a failure (the fixture).
    client.get("/api/categories/")
    exposed = {name for name, _ in scrape(client)}
    named = {name for rule in rules() for name in METRIC.findall(rule["expr"])}
    assert len(named) >= 8
    assert named <= exposed, sorted(named - exposed)


@pytest.mark.parametrize(
    "rule",
    [rule for rule in rules() if "threshold_setting" in rule["annotations"]],
    ids=lambda rule: rule["alert"],
)
def test_each_threshold_is_its_setting_s_default(rule):
    setting = rule["annotations"]["threshold_setting"]
    threshold = float(re.findall(r"[<>]=?\s*([0-9.e-]+)\s*\)?\s*$", rule["expr"].strip())[-1])
    assert threshold == float(getattr(settings, setting)), (rule["alert"], setting)

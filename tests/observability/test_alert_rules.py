"""The alert rules file: the seed's five rules, over metrics that Metrics really exposes.

promtool is not at hand, so the expressions are checked for what can go
wrong between the two files: a metric renamed on one side, a label matched
or grouped by that the metric does not carry, a threshold that drifted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool

from checkout_adapters.observability import Metrics
from tests.observability.exposition import exercise, scrape

RULES_FILE = Path(__file__).parents[2] / "deploy" / "prometheus" / "checkout-alerts.yml"

# The seed's rules, by alert name, and the comparison with the seed's threshold in each.
SEED_RULES = {
    "CheckoutPaymentSuccessRateLow": "< 0.95",
    "CheckoutApiSlow": "> 0.5",
    "CheckoutWebhookFailureRateHigh": "> 0.05",
    "CheckoutDatabasePoolNearlyFull": "> 0.8",
    "CheckoutCacheMissRateHigh": "> 0.2",
}

# Labels Prometheus gives every series it scrapes, and the one histogram_quantile reads.
TARGET_LABELS = frozenset({"job", "instance"})

METRIC_NAME = re.compile(r"\bcheckout_[a-z0-9_]+\b")
SELECTOR = re.compile(r"\b(checkout_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
TEMPLATE_LABEL = re.compile(r"\$labels\.(\w+)")


def load_rules() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return {
        rule["alert"]: rule
        for group in document["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


RULES = load_rules()


@pytest.fixture(scope="module")
def exposed() -> Iterator[dict[str, frozenset[str]]]:
    """Every sample name a scrape gives once each method was called, with its label names."""
    metrics = Metrics()
    exercise(metrics)
    # A QueuePool, so that both pool gauges have a sample.
    engine = create_engine("sqlite://", poolclass=QueuePool, pool_size=1, max_overflow=0)
    metrics.watch_pool(engine)
    names: dict[str, frozenset[str]] = {}
    for name, labels in scrape(metrics):
        names[name] = names.get(name, frozenset()) | {label for label, _ in labels}
    yield names
    engine.dispose()


def test_the_file_holds_the_seeds_five_rules() -> None:
    assert set(RULES) == set(SEED_RULES)


@pytest.mark.parametrize(("alert", "comparison"), SEED_RULES.items())
def test_a_rule_compares_with_the_seeds_threshold(alert: str, comparison: str) -> None:
    expr = " ".join(RULES[alert]["expr"].split())

    assert re.search(rf"\) {re.escape(comparison)}(?![\d.])", expr), expr


@pytest.mark.parametrize("alert", SEED_RULES)
def test_a_rule_is_complete(alert: str) -> None:
    rule = RULES[alert]

    assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["description"]


@pytest.mark.parametrize("alert", SEED_RULES)
def test_a_rule_reads_only_metrics_that_are_exposed(
    alert: str, exposed: dict[str, frozenset[str]]
) -> None:
    used = set(METRIC_NAME.findall(RULES[alert]["expr"]))

    assert used
    assert used <= set(exposed), used - set(exposed)


@pytest.mark.parametrize("alert", SEED_RULES)
def test_a_rule_matches_only_labels_its_metrics_carry(
    alert: str, exposed: dict[str, frozenset[str]]
) -> None:
    expr = RULES[alert]["expr"]
    for name, matchers in SELECTOR.findall(expr):
        assert set(MATCHER.findall(matchers)) <= exposed[name], (name, matchers)


@pytest.mark.parametrize("alert", SEED_RULES)
def test_a_rule_groups_and_describes_by_labels_its_metrics_carry(
    alert: str, exposed: dict[str, frozenset[str]]
) -> None:
    rule = RULES[alert]
    carried = TARGET_LABELS.union(*(exposed[name] for name in METRIC_NAME.findall(rule["expr"])))
    grouped = {
        label.strip()
        for labels in GROUPING.findall(rule["expr"])
        for label in labels.split(",")
        if label.strip()
    }
    described = {
        label for text in rule["annotations"].values() for label in TEMPLATE_LABEL.findall(text)
    }

    assert grouped <= carried, grouped - carried
    assert described <= carried | grouped, described - carried

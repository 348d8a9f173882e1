"""Reading what a Metrics answers to a scrape, as Prometheus would."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from checkout_adapters.observability import Metrics


def scrape(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    text, _content_type = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    """The value of one sample, ``None`` when the scrape has no such sample."""
    return scrape(metrics).get((name, frozenset(labels.items())))


def labelled(metrics: Metrics, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples named ``name``, by their labels."""
    return {labels: v for (sample, labels), v in scrape(metrics).items() if sample == name}


def exercise(metrics: Metrics) -> None:
    """Call every recording method once, so that every metric has a sample."""
    metrics.observe_request("GET", "/carts/{token}", 200, 0.1)
    metrics.count_error("cart", 2004)
    metrics.count_cart_created()
    metrics.count_order("paid", "awaiting_payment")
    metrics.count_payment("razorpay", "succeeded")
    metrics.observe_webhook("razorpay", "applied", 0.2)
    metrics.count_cache("cart", hit=True)

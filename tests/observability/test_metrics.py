from __future__ import annotations

from datetime import UTC, datetime, timedelta

import prometheus_client
import pytest

from checkout_adapters.memory import FixedClock, InMemoryCartCache
from checkout_adapters.observability import HTTP_BUCKETS, MeteredCartCache, Metrics
from checkout_core.domain.cart import Cart
from tests.observability.exposition import exercise, labelled, scrape, value


def test_a_request_is_observed_by_method_route_and_status() -> None:
    metrics = Metrics()

    metrics.observe_request("GET", "/carts/{token}", 200, 0.12)
    metrics.observe_request("GET", "/carts/{token}", 200, 0.7)
    metrics.observe_request("POST", "/orders", 422, 0.03)

    name = "checkout_http_request_duration_seconds"
    get = {"method": "GET", "route": "/carts/{token}", "status": "200"}
    assert value(metrics, f"{name}_count", **get) == 2
    assert value(metrics, f"{name}_sum", **get) == pytest.approx(0.82)
    assert value(metrics, f"{name}_bucket", **get, le="0.5") == 1
    assert value(metrics, f"{name}_bucket", **get, le="0.75") == 2
    assert value(metrics, f"{name}_bucket", **get, le="+Inf") == 2
    post = {"method": "POST", "route": "/orders", "status": "422"}
    assert value(metrics, f"{name}_count", **post) == 1


def test_the_request_buckets_have_the_alerting_threshold_as_a_bound() -> None:
    assert 0.5 in HTTP_BUCKETS
    assert list(HTTP_BUCKETS) == sorted(HTTP_BUCKETS)


def test_errors_are_counted_by_service_and_code() -> None:
    metrics = Metrics()

    metrics.count_error("discount", 2004)
    metrics.count_error("discount", 2004)
    metrics.count_error("payment", 5001)

    assert labelled(metrics, "checkout_errors_total") == {
        frozenset({("service", "discount"), ("code", "2004")}): 2,
        frozenset({("service", "payment"), ("code", "5001")}): 1,
    }


def test_carts_created_are_counted_from_zero() -> None:
    metrics = Metrics()
    assert value(metrics, "checkout_carts_created_total") == 0

    metrics.count_cart_created()
    metrics.count_cart_created()

    assert value(metrics, "checkout_carts_created_total") == 2


def test_orders_are_counted_by_kind_and_status() -> None:
    metrics = Metrics()

    metrics.count_order("free", "completed")
    metrics.count_order("paid", "awaiting_payment")
    metrics.count_order("paid", "awaiting_payment")

    assert labelled(metrics, "checkout_orders_total") == {
        frozenset({("kind", "free"), ("status", "completed")}): 1,
        frozenset({("kind", "paid"), ("status", "awaiting_payment")}): 2,
    }


def test_payments_are_counted_by_provider_and_outcome() -> None:
    metrics = Metrics()

    metrics.count_payment("razorpay", "succeeded")
    metrics.count_payment("razorpay", "succeeded")
    metrics.count_payment("stripe", "failed")

    assert labelled(metrics, "checkout_payments_total") == {
        frozenset({("provider", "razorpay"), ("outcome", "succeeded")}): 2,
        frozenset({("provider", "stripe"), ("outcome", "failed")}): 1,
    }


def test_a_webhook_is_observed_by_provider_and_outcome() -> None:
    metrics = Metrics()

    metrics.observe_webhook("razorpay", "applied", 0.04)
    metrics.observe_webhook("razorpay", "rejected", 0.001)
    metrics.observe_webhook("razorpay", "applied", 0.3)

    name = "checkout_webhook_duration_seconds"
    applied = {"provider": "razorpay", "outcome": "applied"}
    assert value(metrics, f"{name}_count", **applied) == 2
    assert value(metrics, f"{name}_sum", **applied) == pytest.approx(0.34)
    assert value(metrics, f"{name}_bucket", **applied, le="0.05") == 1
    assert value(metrics, f"{name}_count", provider="razorpay", outcome="rejected") == 1


def test_cache_lookups_are_counted_by_cache_and_result() -> None:
    metrics = Metrics()

    metrics.count_cache("catalog", hit=True)
    metrics.count_cache("catalog", hit=False)
    metrics.count_cache("catalog", hit=True)

    assert value(metrics, "checkout_cache_requests_total", cache="catalog", result="hit") == 2
    assert value(metrics, "checkout_cache_requests_total", cache="catalog", result="miss") == 1


def test_a_prepared_cache_shows_zero_hits_and_misses() -> None:
    metrics = Metrics()

    metrics.prepare_cache("idempotency")

    assert labelled(metrics, "checkout_cache_requests_total") == {
        frozenset({("cache", "idempotency"), ("result", "hit")}): 0,
        frozenset({("cache", "idempotency"), ("result", "miss")}): 0,
    }


def test_render_gives_the_text_format_and_its_content_type() -> None:
    metrics = Metrics()
    exercise(metrics)

    text, content_type = metrics.render()

    assert content_type == prometheus_client.CONTENT_TYPE_LATEST
    assert content_type.startswith("text/plain")
    assert b"# TYPE checkout_http_request_duration_seconds histogram" in text
    assert b"# TYPE checkout_errors_total counter" in text


def test_every_metric_is_named_for_the_checkout() -> None:
    metrics = Metrics()
    exercise(metrics)

    assert {name for name, _labels in scrape(metrics)} == {
        name for name, _labels in scrape(metrics) if name.startswith("checkout_")
    }


def test_two_metrics_keep_apart_and_off_the_global_registry() -> None:
    first, second = Metrics(), Metrics()

    first.count_cart_created()

    assert value(first, "checkout_carts_created_total") == 1
    assert value(second, "checkout_carts_created_total") == 0
    assert first.registry is not second.registry
    global_names = prometheus_client.generate_latest(prometheus_client.REGISTRY)
    assert b"checkout_" not in global_names


def _cart(token: str, now: datetime) -> Cart:
    return Cart(token=token, lines=(), created_at=now, expires_at=now + timedelta(hours=24))


NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_the_metered_cart_cache_counts_hits_and_misses() -> None:
    metrics = Metrics()
    inner = InMemoryCartCache(FixedClock(NOW))
    cache = MeteredCartCache(inner, metrics)
    assert value(metrics, "checkout_cache_requests_total", cache="cart", result="miss") == 0

    assert cache.get("c1") is None
    cart = _cart("c1", NOW)
    cache.put(cart, timedelta(minutes=5))
    assert cache.get("c1") == cart
    assert cache.get("c1") == cart
    cache.invalidate("c1")
    assert cache.get("c1") is None
    assert inner.get("c1") is None

    assert value(metrics, "checkout_cache_requests_total", cache="cart", result="hit") == 2
    assert value(metrics, "checkout_cache_requests_total", cache="cart", result="miss") == 2


def test_the_metered_cart_cache_puts_into_the_inner_cache() -> None:
    metrics = Metrics()
    inner = InMemoryCartCache(FixedClock(NOW))
    cache = MeteredCartCache(inner, metrics, name="carts-redis")

    cart = _cart("c2", NOW)
    cache.put(cart, timedelta(minutes=5))

    assert inner.get("c2") == cart
    # Only the metered cache's lookups are counted, not the inner one's.
    assert value(metrics, "checkout_cache_requests_total", cache="carts-redis", result="hit") == 0

"""Prometheus metrics for the seed's key figures, in a registry of their own.

Each :class:`Metrics` owns a :class:`~prometheus_client.CollectorRegistry`,
never the process-wide default one: a host may build two checkouts, and the
tests build many, and a metric registered twice in one registry is an error.
The names all start with ``checkout_`` and the label values stay few (a route
is its path template, a status its number), so the series stay bounded.

The alert rules in ``deploy/prometheus/checkout-alerts.yml`` are written
against these names; ``docs/observability.md`` describes each one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Final

from attrs import define, field
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from checkout_core.domain.cart import Cart
from checkout_core.ports import CartCache

__all__ = [
    "HTTP_BUCKETS",
    "JOB_BUCKETS",
    "WEBHOOK_BUCKETS",
    "MeteredCartCache",
    "Metrics",
]

HTTP_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the request-duration buckets.

They are dense up to 0.5 s, the alerting threshold, so that a quantile
estimated near it is interpolated over a narrow bucket, and 0.5 is itself
a bound, so "slower than 500 ms" is exact.
"""

WEBHOOK_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds (seconds) of the webhook-duration buckets, up to a gateway's own timeout."""

JOB_BUCKETS: Final = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
"""Upper bounds (seconds) of the job-duration buckets, up to the longest interval but a day.

A job that takes longer than 15 minutes, the interval of cart cleanup, is
one that may overlap its own next run: 900 s is a bound, so that is exact.
"""

_CART_CACHE: Final = "cart"


class Metrics:
    """The checkout's Prometheus metrics, in a registry of their own.

    The HTTP router records each request through :meth:`observe_request` and
    :meth:`count_error`; services and adapters record carts, orders,
    payments, webhooks and cache lookups; :meth:`watch_pool` adds a database
    pool, read at each scrape. :meth:`render` gives what ``/metrics`` answers.
    """

    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        self._requests = Histogram(
            "checkout_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=self._registry,
        )
        self._errors = Counter(
            "checkout_errors_total",
            "Errors answered, by the service that raised them and their error code.",
            ["service", "code"],
            registry=self._registry,
        )
        self._carts_created = Counter(
            "checkout_carts_created_total",
            "Carts created.",
            registry=self._registry,
        )
        self._orders = Counter(
            "checkout_orders_total",
            "Orders, by kind (free or paid) and the status they reached.",
            ["kind", "status"],
            registry=self._registry,
        )
        self._payments = Counter(
            "checkout_payments_total",
            "Payments that ended, by provider and outcome (succeeded or failed).",
            ["provider", "outcome"],
            registry=self._registry,
        )
        self._webhooks = Histogram(
            "checkout_webhook_duration_seconds",
            "Time to process a gateway webhook, by provider and outcome.",
            ["provider", "outcome"],
            buckets=WEBHOOK_BUCKETS,
            registry=self._registry,
        )
        self._cache_requests = Counter(
            "checkout_cache_requests_total",
            "Cache lookups, by cache and result (hit or miss).",
            ["cache", "result"],
            registry=self._registry,
        )
        self._job_runs = Counter(
            "checkout_job_runs_total",
            "Runs of the scheduled jobs, by job and outcome (ok, failed or skipped).",
            ["job", "outcome"],
            registry=self._registry,
        )
        self._job_durations = Histogram(
            "checkout_job_duration_seconds",
            "Time a job's run took, by job and outcome (skipped runs are not timed).",
            ["job", "outcome"],
            buckets=JOB_BUCKETS,
            registry=self._registry,
        )
        self._job_items = Counter(
            "checkout_job_items_total",
            "Items the jobs processed (carts, payments, orders, report rows), by job.",
            ["job"],
            registry=self._registry,
        )
        self._job_last_success = Gauge(
            "checkout_job_last_success_timestamp_seconds",
            "When each job last finished a run without failing, in Unix seconds.",
            ["job"],
            registry=self._registry,
        )
        self._pools = _PoolCollector()
        self._registry.register(self._pools)
        self._degradations: _DegradationCollector | None = None

    @property
    def registry(self) -> CollectorRegistry:
        """The registry holding these metrics, for a host that adds its own or serves it itself."""
        return self._registry

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record an HTTP request answered with ``status`` after ``seconds``.

        ``route`` is the route's path template (``/carts/{token}``), not the
        path asked for, so that there is one series per route and not per cart.
        """
        self._requests.labels(method, route, str(status)).observe(seconds)

    def count_error(self, service: str, code: int) -> None:
        """Count an error with the stable ``code`` from ``service`` (``"cart"``, ``"payment"``)."""
        self._errors.labels(service, str(code)).inc()

    def count_cart_created(self) -> None:
        """Count a new cart."""
        self._carts_created.inc()

    def count_order(self, kind: str, status: str) -> None:
        """Count an order of ``kind`` (``"free"`` or ``"paid"``) reaching ``status``."""
        self._orders.labels(kind, status).inc()

    def count_payment(self, provider: str, outcome: str) -> None:
        """Count a payment at ``provider`` that ended with ``outcome`` (succeeded or failed)."""
        self._payments.labels(provider, outcome).inc()

    def observe_webhook(self, provider: str, outcome: str, seconds: float) -> None:
        """Record a webhook from ``provider`` processed in ``seconds`` with ``outcome``.

        The outcomes are the webhook handler's: ``"applied"``, ``"ignored"``,
        ``"duplicate"``, ``"rejected"`` (a bad signature), ``"failed"`` (an
        error while processing) and any other it names.
        """
        self._webhooks.labels(provider, outcome).observe(seconds)

    def count_cache(self, cache: str, *, hit: bool) -> None:
        """Count a lookup in the cache named ``cache`` that found (``hit``) or missed."""
        self._cache_requests.labels(cache, "hit" if hit else "miss").inc()

    def prepare_cache(self, cache: str) -> None:
        """Expose zero hits and misses for ``cache`` before its first lookup.

        A ratio over a series that does not exist yet is no ratio at all: the
        cache-miss alert would stay silent rather than see 0 of 0.
        """
        self._cache_requests.labels(cache, "hit")
        self._cache_requests.labels(cache, "miss")

    def prepare_job(self, job: str) -> None:
        """Expose a job's series at zero before its first run.

        An alert on failed runs, or on a last success too long ago, needs
        the series to exist from the start to see nothing happen.
        """
        for outcome in ("ok", "failed", "skipped"):
            self._job_runs.labels(job, outcome)
        self._job_items.labels(job)

    def observe_job(
        self, job: str, *, outcome: str, seconds: float, items: int, finished_at: float
    ) -> None:
        """Record a run of ``job`` that ended with ``outcome`` after ``seconds``.

        ``items`` is what it processed; ``finished_at`` (Unix seconds) is its
        last success when the outcome is ``"ok"``. A skipped run (another
        instance held the job's lock) is counted, not timed.
        """
        self._job_runs.labels(job, outcome).inc()
        if outcome == "skipped":
            return
        self._job_durations.labels(job, outcome).observe(seconds)
        self._job_items.labels(job).inc(items)
        if outcome == "ok":
            self._job_last_success.labels(job).set(finished_at)

    def watch_pool(self, engine: Engine, name: str = "default") -> None:
        """Report the use of ``engine``'s connection pool as the pool named ``name``.

        The pool is read at each scrape, and from the engine each time, as
        :meth:`~sqlalchemy.Engine.dispose` replaces it. Only a
        :class:`~sqlalchemy.pool.QueuePool` has a size and a count of
        connections in use; an engine with another pool (SQLite in memory
        shares one connection through a ``StaticPool``) is watched but reports
        nothing.

        Raises:
            ValueError: a pool named ``name`` is already watched.
        """
        self._pools.watch(name, engine)

    def watch_degradations(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Report how often the Redis ports went on without Redis, read from ``counts``.

        ``counts`` gives the degradations so far by ``"port.operation"`` (a
        ``"total"`` entry is left out), as
        :meth:`checkout_adapters.redis.Degradations.snapshot` does; it is read
        at each scrape as ``checkout_redis_degradations_total{port,operation}``.

        Raises:
            ValueError: degradations are watched already.
        """
        if self._degradations is not None:
            raise ValueError("the degradations are watched already")
        self._degradations = _DegradationCollector(counts)
        self._registry.register(self._degradations)

    def render(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and the content type to answer it with."""
        return generate_latest(self._registry), CONTENT_TYPE_LATEST


class _PoolCollector(Collector):
    """Reads the watched engines' pools when the registry is scraped."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        # Scrapes run on the exposition thread while the host may still add pools.
        self._lock = threading.Lock()

    def watch(self, name: str, engine: Engine) -> None:
        with self._lock:
            if name in self._engines:
                raise ValueError(f"a pool named {name!r} is already watched")
            self._engines[name] = engine

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Named up front, so that a clash with another metric is found when registering.
        return self._families()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        in_use, capacity = self._families()
        with self._lock:
            engines = list(self._engines.items())
        for name, engine in engines:
            pool = engine.pool
            if not isinstance(pool, QueuePool):
                continue
            in_use.add_metric([name], pool.checkedout())
            # SQLAlchemy has no public accessor for the overflow limit; -1 means no limit,
            # and an unbounded pool has no capacity to be a fraction of.
            max_overflow: int = pool._max_overflow  # noqa: SLF001
            if max_overflow >= 0:
                capacity.add_metric([name], pool.size() + max_overflow)
        return (in_use, capacity)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "checkout_db_pool_connections_in_use",
                "Database connections checked out of the pool.",
                labels=["pool"],
            ),
            GaugeMetricFamily(
                "checkout_db_pool_size",
                "Connections the pool may hold at once: its size plus its overflow.",
                labels=["pool"],
            ),
        )


class _DegradationCollector(Collector):
    """Reads the Redis ports' degradation counts when the registry is scraped."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def describe(self) -> Iterable[CounterMetricFamily]:
        return (self._family(),)

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = self._family()
        for key, count in self._counts().items():
            port, dot, operation = key.partition(".")
            if dot:
                family.add_metric([port, operation], count)
        return (family,)

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "checkout_redis_degradations",
            "Calls to Redis that failed or were skipped, after which the port went on without it.",
            labels=["port", "operation"],
        )


@define
class MeteredCartCache:
    """A cart cache that counts its hits and misses in :class:`Metrics` as the cache ``name``.

    Everything is passed to ``inner``; only :meth:`get` is counted, since
    only a lookup can miss.
    """

    inner: CartCache
    metrics: Metrics = field(repr=False)
    name: str = _CART_CACHE

    def __attrs_post_init__(self) -> None:
        self.metrics.prepare_cache(self.name)

    def get(self, token: str) -> Cart | None:
        """The cart cached in ``inner``, counting a hit or a miss."""
        cart = self.inner.get(token)
        self.metrics.count_cache(self.name, hit=cart is not None)
        return cart

    def put(self, cart: Cart, ttl: timedelta) -> None:
        """Cache ``cart`` in ``inner`` for ``ttl``."""
        self.inner.put(cart, ttl)

    def invalidate(self, token: str) -> None:
        """Forget the cart with ``token`` in ``inner``."""
        self.inner.invalidate(token)

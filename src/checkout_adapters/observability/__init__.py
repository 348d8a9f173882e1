"""Observability: the request's correlation id, Prometheus metrics and structured logs.

:class:`Metrics` holds the checkout's Prometheus metrics in a registry of its
own; :func:`configure_logging` makes every log record one JSON line carrying
the correlation id, with secrets masked. The alert rules written against the
metrics are in ``deploy/prometheus/checkout-alerts.yml``.
"""

from __future__ import annotations

from checkout_adapters.observability.context import CORRELATION_ID, correlation_scope
from checkout_adapters.observability.logs import (
    REDACTED,
    add_correlation_id,
    configure_logging,
    redact,
    redact_text,
)
from checkout_adapters.observability.metrics import (
    HTTP_BUCKETS,
    WEBHOOK_BUCKETS,
    MeteredCartCache,
    Metrics,
)

__all__ = [
    "CORRELATION_ID",
    "HTTP_BUCKETS",
    "REDACTED",
    "WEBHOOK_BUCKETS",
    "MeteredCartCache",
    "Metrics",
    "add_correlation_id",
    "configure_logging",
    "correlation_scope",
    "redact",
    "redact_text",
]

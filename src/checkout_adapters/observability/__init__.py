"""Observability: the request's correlation id, Prometheus metrics and structured logs."""

from __future__ import annotations

from checkout_adapters.observability.context import CORRELATION_ID, correlation_scope

__all__ = ["CORRELATION_ID", "correlation_scope"]

"""What the HTTP API reports to a metrics backend; the observability package implements it."""

from __future__ import annotations

from typing import Protocol

__all__ = ["HttpMetrics"]


class HttpMetrics(Protocol):
    """The counters and timings the router and the app report.

    ``route`` is always a path template (``/api/v1/cart/{token}/coupon``),
    ``"unmatched"`` for a path no route serves, so no token reaches a label.
    """

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request answered with ``status`` after ``seconds``."""
        ...

    def count_error(self, service: str, code: int) -> None:
        """One error answer: the service that refused (or ``auth``, ``http``) and its code."""
        ...

    def count_cart_created(self) -> None:
        """One cart created."""
        ...

    def count_order(self, kind: str, status: str) -> None:
        """One order placed (not a replay): ``free`` or ``paid``, and its status."""
        ...

    def observe_webhook(self, provider: str, outcome: str, seconds: float) -> None:
        """One webhook delivery: its inbox status, ``duplicate`` or ``rejected``."""
        ...

    def count_payment(self, provider: str, outcome: str) -> None:
        """One payment that ended at ``provider``: ``succeeded`` (captured) or ``failed``."""
        ...

    def render(self) -> tuple[bytes, str]:
        """The metrics in the exposition format, and its content type."""
        ...

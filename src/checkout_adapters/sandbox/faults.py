"""Faults a test can inject: API errors, slow answers, dropped connections, odd deliveries.

The sandbox asks :class:`Faults` before answering each API call and before
queueing each webhook, so a switch thrown here takes effect on the next
call. Every method is safe to call from a test while the server answers
other threads.
"""

from __future__ import annotations

import threading

from attrs import define, field, frozen

__all__ = ["Faults", "InjectedFailure"]


@frozen
class InjectedFailure:
    """An API call to fail: the status to answer and whether the body is the provider's JSON.

    A body that is not JSON (``json_body=False``) is what a load balancer in
    front of a provider sends; the razorpay SDK then fails while decoding it.
    """

    status: int
    json_body: bool = True
    provider: str | None = None

    def applies_to(self, provider: str) -> bool:
        """Whether a call to ``provider`` consumes this failure."""
        return self.provider is None or self.provider == provider


@define
class Faults:
    """The faults switched on now. A fresh :class:`Faults` has none."""

    _failures: list[InjectedFailure] = field(factory=list, init=False)
    _delay: float = field(default=0.0, init=False)
    _drops: int = field(default=0, init=False)
    _duplicate: bool = field(default=False, init=False)
    _reorder: bool = field(default=False, init=False)
    _lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def fail_next_api_calls(
        self,
        count: int,
        status: int = 503,
        *,
        provider: str | None = None,
        json_body: bool = True,
    ) -> None:
        """Make the next ``count`` API calls (to ``provider``, or to either) answer ``status``.

        The body is the provider's error JSON (Razorpay's ``SERVER_ERROR`` or
        ``GATEWAY_ERROR``, Stripe's ``api_error``), or an HTML page when
        ``json_body`` is false. The call does nothing at the provider.
        """
        if count < 0:
            raise ValueError(f"cannot fail {count} calls")
        if not 500 <= status <= 599:
            raise ValueError(f"an injected failure is a 5xx, not {status}")
        with self._lock:
            self._failures.extend([InjectedFailure(status, json_body, provider)] * count)

    def slow_api(self, seconds: float) -> None:
        """Delay every API answer by ``seconds`` from now on (``0`` to stop)."""
        if seconds < 0:
            raise ValueError(f"cannot delay by {seconds} seconds")
        with self._lock:
            self._delay = seconds

    def drop_connection_next(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` API calls without answering them."""
        if count < 0:
            raise ValueError(f"cannot drop {count} connections")
        with self._lock:
            self._drops += count

    def duplicate_webhooks(self, enabled: bool = True) -> None:  # noqa: FBT001, FBT002 - reads as a switch: duplicate_webhooks(True)
        """Deliver each webhook queued from now on twice, with the same event id."""
        with self._lock:
            self._duplicate = enabled

    def reorder_webhooks(self, enabled: bool = True) -> None:  # noqa: FBT001, FBT002 - reads as a switch: reorder_webhooks(True)
        """Deliver the events one action raises about a payment in reverse order.

        Completing a Razorpay order then delivers ``order.paid``,
        ``payment.captured``, ``payment.authorized``; completing a Stripe
        session delivers ``payment_intent.succeeded`` before
        ``checkout.session.completed``.
        """
        with self._lock:
            self._reorder = enabled

    def reset(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._failures.clear()
            self._delay = 0.0
            self._drops = 0
            self._duplicate = False
            self._reorder = False

    @property
    def api_delay(self) -> float:
        """How long each API answer waits, in seconds."""
        with self._lock:
            return self._delay

    @property
    def duplicating(self) -> bool:
        """Whether webhooks are delivered twice."""
        with self._lock:
            return self._duplicate

    @property
    def reordering(self) -> bool:
        """Whether the events of one action are delivered in reverse order."""
        with self._lock:
            return self._reorder

    def take_drop(self) -> bool:
        """Whether to drop this call's connection; uses up one drop if so."""
        with self._lock:
            if self._drops == 0:
                return False
            self._drops -= 1
            return True

    def take_failure(self, provider: str) -> InjectedFailure | None:
        """The failure this call to ``provider`` answers with, if one is due; uses it up."""
        with self._lock:
            for position, failure in enumerate(self._failures):
                if failure.applies_to(provider):
                    del self._failures[position]
                    return failure
            return None

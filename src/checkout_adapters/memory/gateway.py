"""A payment gateway that lives in memory: the tests' provider, and the demo's until a sandbox.

:class:`FakeGateway` behaves as the real providers do where the checkout
depends on it: a session request repeated with the same idempotency key
gets the same session back, a refund likewise, and webhooks are signed over
their raw body. Tests steer it: :meth:`FakeGateway.fail_next` makes calls
fail, :meth:`FakeGateway.set_status` says what a status query answers, and
:meth:`FakeGateway.webhook` writes a signed delivery.

A webhook is JSON: ``{"event_id", "type", "provider_ref", "kind", "amount"}``,
and optionally ``"refund_id"``, ``"failure_code"``, ``"failure_reason"`` and
``"occurred_at"`` (ISO 8601 with an offset; the gateway's clock otherwise).
``kind`` is a :class:`~checkout_core.domain.payment_events.PaymentEventKind`,
or ``null`` for an event the checkout records without acting on it. The
header ``x-fake-signature`` carries the hex HMAC-SHA256 of the body under
the gateway's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from attrs import define, field

from checkout_adapters.system import SystemClock
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSession,
    PaymentSessionRequest,
    ProviderPaymentState,
    ProviderStatus,
    RefundReceipt,
    RefundRequest,
    WebhookEvent,
    WebhookSignatureInvalid,
)
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.errors import InvalidRequest
from checkout_core.ports import Clock

__all__ = ["FAKE_PROVIDER", "FAKE_SIGNATURE_HEADER", "FakeGateway"]

FAKE_PROVIDER: Final = "fake"
"""The provider name the fake gateway stores on payments."""
FAKE_SIGNATURE_HEADER: Final = "x-fake-signature"
"""The header that carries a fake webhook's signature."""


def _secret(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise ValueError("a webhook secret cannot be empty")
    return raw


@define
class FakeGateway:
    """A :class:`~checkout_core.ports.PaymentGateway` that answers from memory.

    ``requests`` holds every session request received, failed ones included,
    and ``refunds`` every refund request; :attr:`sessions` the distinct
    sessions opened. Safe to call from several threads.
    """

    secret: bytes = field(converter=_secret, repr=False)
    clock: Clock = field(factory=SystemClock)
    requests: list[PaymentSessionRequest] = field(factory=list, init=False)
    refunds: list[RefundRequest] = field(factory=list, init=False)
    _statuses: dict[str, ProviderStatus] = field(factory=dict, init=False, repr=False)
    _sessions: dict[str, tuple[PaymentSessionRequest, PaymentSession]] = field(
        factory=dict, init=False, repr=False
    )
    _receipts: dict[str, tuple[RefundRequest, RefundReceipt]] = field(
        factory=dict, init=False, repr=False
    )
    # One flag per call still to fail: whether its GatewayError says it may be retried.
    _failures: list[bool] = field(factory=list, init=False, repr=False)
    _lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    @property
    def provider(self) -> str:
        """``"fake"``."""
        return FAKE_PROVIDER

    @property
    def sessions(self) -> list[PaymentSession]:
        """Every distinct session opened, oldest first."""
        with self._lock:
            return [session for _, session in self._sessions.values()]

    def fail_next(self, count: int = 1, *, retryable: bool = True) -> None:
        """Make the next ``count`` sessions, statuses or refunds raise :class:`GatewayError`."""
        if count < 0:
            raise ValueError(f"cannot fail {count} calls")
        with self._lock:
            self._failures.extend([retryable] * count)

    def set_status(self, status: ProviderStatus) -> None:
        """Say what :meth:`fetch_status` answers for ``status.provider_ref``."""
        with self._lock:
            self._statuses[status.provider_ref] = status

    def available(self) -> bool:
        """Always: the fake gateway has no circuit breaker of its own."""
        return True

    def create_session(self, request: PaymentSessionRequest) -> PaymentSession:
        """Open a session, or return the one opened before under the same idempotency key.

        Raises:
            GatewayError: told to fail, or the key was used before with another request.
        """
        with self._lock:
            self.requests.append(request)
            self._maybe_fail("create_session")
            known = self._sessions.get(request.idempotency_key)
            if known is not None:
                first, session = known
                if first != request:
                    raise GatewayError(
                        f"idempotency key {request.idempotency_key!r} was used for another session",
                        retryable=False,
                        provider=FAKE_PROVIDER,
                    )
                return session
            provider_ref = f"fake_{request.payment_id}_{request.attempt}"
            session = PaymentSession(
                provider=FAKE_PROVIDER,
                provider_ref=provider_ref,
                checkout_url=f"https://pay.invalid/{provider_ref}",
            )
            self._sessions[request.idempotency_key] = (request, session)
            return session

    def fetch_status(self, provider_ref: str) -> ProviderStatus:
        """The status set for ``provider_ref``; ``pending`` for a session with none set.

        Raises:
            GatewayError: told to fail, or the reference is unknown (never retryable).
        """
        with self._lock:
            self._maybe_fail("fetch_status")
            status = self._statuses.get(provider_ref)
            if status is not None:
                return status
            if any(session.provider_ref == provider_ref for _, session in self._sessions.values()):
                return ProviderStatus(provider_ref, ProviderPaymentState.PENDING)
            raise GatewayError(
                f"no payment {provider_ref!r} at the fake gateway",
                retryable=False,
                provider=FAKE_PROVIDER,
            )

    def refund(self, request: RefundRequest) -> RefundReceipt:
        """Refund at once, or return the receipt given before under the same idempotency key.

        Raises:
            GatewayError: told to fail, or the key was used before with another request.
        """
        with self._lock:
            self.refunds.append(request)
            self._maybe_fail("refund")
            known = self._receipts.get(request.idempotency_key)
            if known is not None:
                first, receipt = known
                if first != request:
                    raise GatewayError(
                        f"idempotency key {request.idempotency_key!r} was used with another refund",
                        retryable=False,
                        provider=FAKE_PROVIDER,
                    )
                return receipt
            receipt = RefundReceipt(
                refund_id=f"fake_rfnd_{len(self._receipts) + 1}",
                amount=request.amount,
                pending=False,
            )
            self._receipts[request.idempotency_key] = (request, receipt)
            return receipt

    def sign(self, body: bytes) -> str:
        """The signature of ``body``: its hex HMAC-SHA256 under the secret."""
        return hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def webhook(  # noqa: PLR0913 - the fields of a delivery, each a test may want to set
        self,
        *,
        event_id: str,
        type: str,  # noqa: A002 - the field of the delivery is named type
        provider_ref: str | None,
        kind: PaymentEventKind | None,
        amount: int | None = None,
        refund_id: str | None = None,
        failure_code: str | None = None,
        failure_reason: str | None = None,
        occurred_at: datetime | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed delivery as the fake provider would send it: its headers and raw body."""
        payload: dict[str, object] = {
            "event_id": event_id,
            "type": type,
            "provider_ref": provider_ref,
            "kind": None if kind is None else str(kind),
            "amount": amount,
        }
        optional = {
            "refund_id": refund_id,
            "failure_code": failure_code,
            "failure_reason": failure_reason,
            "occurred_at": None if occurred_at is None else occurred_at.isoformat(),
        }
        payload.update({name: value for name, value in optional.items() if value is not None})
        body = json.dumps(payload, sort_keys=True).encode()
        return {FAKE_SIGNATURE_HEADER: self.sign(body)}, body

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify the signature over the raw ``body``, then read it.

        Raises:
            WebhookSignatureInvalid: the signature is missing or does not verify.
            InvalidRequest: the body verifies but is not a delivery the fake sends.
        """
        # Header names are case-insensitive, and a plain dict does not know it.
        signature = next(
            (value for name, value in headers.items() if name.lower() == FAKE_SIGNATURE_HEADER),
            None,
        )
        if signature is None or not hmac.compare_digest(signature, self.sign(body)):
            raise WebhookSignatureInvalid("the fake webhook's signature does not verify")
        return _read_delivery(body, self.clock)

    def _maybe_fail(self, call: str) -> None:
        if self._failures:
            retryable = self._failures.pop(0)
            raise GatewayError(
                f"the fake gateway was told to fail {call}",
                retryable=retryable,
                provider=FAKE_PROVIDER,
            )


def _read_delivery(body: bytes, clock: Clock) -> WebhookEvent:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest("the fake webhook's body is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("the fake webhook's body is not a JSON object")
    kind = _text(payload, "kind")
    return WebhookEvent(
        provider=FAKE_PROVIDER,
        event_id=_required_text(payload, "event_id"),
        type=_required_text(payload, "type"),
        provider_ref=_text(payload, "provider_ref"),
        payment_event=None if kind is None else _payment_event(kind, payload, clock),
    )


def _payment_event(kind: str, payload: dict[str, object], clock: Clock) -> PaymentEvent:
    try:
        event_kind = PaymentEventKind(kind)
    except ValueError:
        raise InvalidRequest(f"the fake webhook's kind {kind!r} is unknown") from None
    amount = payload.get("amount")
    if amount is not None and type(amount) is not int:
        raise InvalidRequest(f"the fake webhook's amount is an integer, not {amount!r}")
    occurred = _text(payload, "occurred_at")
    try:
        occurred_at = clock.now() if occurred is None else datetime.fromisoformat(occurred)
    except ValueError:
        raise InvalidRequest(
            f"the fake webhook's occurred_at {occurred!r} is not ISO 8601"
        ) from None
    return PaymentEvent(
        event_kind,
        occurred_at,
        amount=amount,
        refund_id=_text(payload, "refund_id"),
        failure_code=_text(payload, "failure_code"),
        failure_reason=_text(payload, "failure_reason"),
    )


def _text(payload: dict[str, object], name: str) -> str | None:
    return None if payload.get(name) is None else _required_text(payload, name)


def _required_text(payload: dict[str, object], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"the fake webhook's {name} is a non-empty string, not {value!r}")
    return value

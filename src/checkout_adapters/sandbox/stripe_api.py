"""Stripe's REST API as the stripe SDK calls it: Checkout Sessions, PaymentIntents, refunds.

Every call is authenticated with ``Authorization: Bearer <secret key>`` and
answered as Stripe answers: objects as JSON, errors as
``{"error": {"type", "code", "message", "param"}}`` with Stripe's statuses.
Bodies are read as the SDK form-encodes them (``line_items[0][quantity]=1``),
unknown parameters are refused, and the ``Idempotency-Key`` header is kept:
the same key with the same parameters replays the first answer
(``Idempotent-Replayed: true``), with other parameters or on another
endpoint it is an ``idempotency_error``. ``Stripe-Version`` is accepted and
echoed; events carry the version the session was made with.

A session is made with its PaymentIntent (``requires_payment_method``,
carrying ``payment_intent_data[metadata]``). Paying it on the pay page (or
with :meth:`StripeEmulator.complete`) makes a charge, the intent
``succeeded`` and the session ``complete``/``paid``, and raises
``checkout.session.completed`` and ``payment_intent.succeeded``. Event
bodies are pretty-printed JSON, as Stripe's are, with a ``·`` or a ``₹``
in the descriptions.
"""

from __future__ import annotations

import base64
import hmac
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from attrs import define, field

from checkout_adapters.sandbox.amounts import format_amount
from checkout_adapters.sandbox.errors import NotPayable, UnknownReference
from checkout_adapters.sandbox.faults import InjectedFailure
from checkout_adapters.sandbox.ids import provider_id
from checkout_adapters.sandbox.pay_page import PaySummary
from checkout_adapters.sandbox.routing import (
    ApiRequest,
    ApiResponse,
    JsonObject,
    Route,
    dispatch,
    json_response,
)
from checkout_adapters.sandbox.signatures import stripe_signature_header
from checkout_adapters.sandbox.stripe_idempotency import IdempotencyKeys
from checkout_adapters.sandbox.stripe_objects import StripeObjects
from checkout_adapters.sandbox.stripe_params import StripeApiError
from checkout_adapters.sandbox.stripe_requests import expand, refund_request, session_request
from checkout_adapters.sandbox.webhooks import Webhook
from checkout_core.ports import Clock

__all__ = ["STRIPE", "STRIPE_API_VERSION", "StripeEmulator"]

STRIPE: Final = "stripe"
"""The provider's name, as webhooks and the pay page carry it."""
STRIPE_API_VERSION: Final = "2025-03-31.basil"
"""The API version events carry when the session was made without ``Stripe-Version``."""


@define
class StripeEmulator:
    """Stripe's Checkout Sessions, PaymentIntents, charges and refunds, behind its HTTP API.

    ``base_url`` gives the sandbox's address for the sessions' ``url``;
    ``publish`` queues the webhooks one action raises, called while the
    emulation holds its lock, so events leave in the order the state changed.
    """

    api_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    base_url: Callable[[], str]
    publish: Callable[[Sequence[Webhook]], None]
    clock: Clock
    _objects: StripeObjects = field(init=False, repr=False)
    _keys: IdempotencyKeys = field(factory=IdempotencyKeys, init=False, repr=False)
    _lock: threading.RLock = field(factory=threading.RLock, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._objects = StripeObjects(self.clock)

    def routes(self) -> list[Route]:
        """The API's routes under ``/v1``."""
        ident = r"(?P<id>[A-Za-z0-9_]+)"
        return [
            Route("POST", "/v1/checkout/sessions", self._create_session),
            Route("GET", f"/v1/checkout/sessions/{ident}", self._retrieve("checkout.session")),
            Route("POST", f"/v1/checkout/sessions/{ident}/expire", self._expire_session),
            Route("GET", f"/v1/payment_intents/{ident}", self._retrieve("payment_intent")),
            Route("GET", f"/v1/charges/{ident}", self._retrieve("charge")),
            Route("POST", "/v1/refunds", self._create_refund),
            Route("GET", f"/v1/refunds/{ident}", self._retrieve("refund")),
            Route("GET", f"/v1/events/{ident}", self._retrieve("event")),
        ]

    def knows(self, path: str) -> bool:
        """Whether ``path`` is one of Stripe's, whatever the method."""
        return any(route.knows(path) for route in self.routes())

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one API call: check the key, keep idempotency, route it."""
        request_id = provider_id("req_", 14)
        key = request.header("idempotency-key")
        headers = [
            ("Request-Id", request_id),
            ("Stripe-Version", request.header("stripe-version") or STRIPE_API_VERSION),
        ]
        if key:
            headers.append(("Idempotency-Key", key))
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal.response(tuple(headers))
        with self._lock:
            self._objects.origin = {"id": request_id, "idempotency_key": key}
            response = self._keys.answer(request, lambda: self._answer(request))
        return ApiResponse(
            response.status,
            response.body,
            response.content_type,
            response.headers + tuple(headers),
        )

    def failure(self, injected: InjectedFailure) -> ApiResponse:
        """The answer to a call the faults say must fail with a 5xx."""
        return StripeApiError(
            injected.status,
            "An unknown error occurred while processing your request.",
            type="api_error",
        ).response((("Stripe-Should-Retry", "true"),))

    def sign(self, webhook: Webhook) -> dict[str, str]:
        """The headers of one delivery of ``webhook``, signed now, as Stripe sends them."""
        timestamp = int(self.clock.now().timestamp())
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": stripe_signature_header(
                webhook.body, self.webhook_secret, timestamp
            ),
        }

    # The pay page's side: see checkout_adapters.sandbox.pay_page.Payable.

    def summary(self, ref: str) -> PaySummary:
        """What the pay page shows of the session ``ref``."""
        with self._lock:
            session = self._session(ref)
            names = self._objects.line_item_names(ref)
            title = names[0] + (f" and {len(names) - 1} more" if len(names) > 1 else "")
            return PaySummary(
                provider=STRIPE,
                ref=ref,
                amount=session["amount_total"],
                currency=session["currency"],
                title=title,
                status=f"{session['status']}, {session['payment_status']}",
                payable=session["status"] == "open",
            )

    def complete(self, ref: str) -> JsonObject:
        """Pay the session ``ref``; answers where the browser goes next (the ``success_url``)."""
        with self._lock:
            session = self._open_session(ref)
            self._objects.origin = None
            self.publish(
                [
                    *self._objects.complete_session(session, paid=True),
                    *self._objects.succeed(session),
                ]
            )
            return self._outcome(session)

    def fail(self, ref: str, *, code: str | None = None, reason: str | None = None) -> JsonObject:
        """Decline a payment attempt on the session ``ref``; it stays open for another."""
        with self._lock:
            session = self._open_session(ref)
            self._objects.origin = None
            self.publish(self._objects.decline(session, code=code, decline_code=reason))
            intent = self._objects.get("payment_intent", session["payment_intent"])
            return {**self._outcome(session), "error": intent["last_payment_error"]}

    def settle_async(self, ref: str, *, succeeded: bool) -> JsonObject:
        """Settle a delayed payment method on the session ``ref``.

        An open session is first completed unpaid (``checkout.session.completed``
        with ``payment_status`` ``unpaid``); then the payment succeeds
        (``checkout.session.async_payment_succeeded``, ``payment_intent.succeeded``)
        or fails (``checkout.session.async_payment_failed``,
        ``payment_intent.payment_failed``).
        """
        with self._lock:
            session = self._session(ref)
            self._objects.origin = None
            events: list[Webhook] = []
            if session["status"] == "open":
                events += self._objects.complete_session(session, paid=False)
            intent = self._objects.get("payment_intent", session["payment_intent"])
            if session["status"] != "complete" or intent["status"] != "processing":
                raise NotPayable(f"session {ref} has no delayed payment to settle")
            if succeeded:
                events += self._objects.succeed(session, asynchronous=True)
            else:
                events += self._objects.decline(session, asynchronous=True)
            self.publish(events)
            return self._outcome(session)

    # The API's handlers, called with the lock held.

    def _answer(self, request: ApiRequest) -> ApiResponse:
        try:
            response = dispatch(self.routes(), request)
        except StripeApiError as exc:
            return exc.response()
        if response is None:
            return StripeApiError(
                404,
                f"Unrecognized request URL ({request.method}: {request.path}). "
                "Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            ).response()
        return response

    def _create_session(self, request: ApiRequest, _path: Mapping[str, str]) -> ApiResponse:
        wanted = session_request(request.body.decode(errors="replace"), self.clock.now())
        session = self._objects.create_session(
            wanted,
            api_version=request.header("stripe-version") or STRIPE_API_VERSION,
            pay_url=lambda ident: f"{self.base_url()}/pay/{STRIPE}/{ident}",
        )
        return self._object_response(session, wanted.params.get("expand", []))

    def _retrieve(self, kind: str) -> Callable[[ApiRequest, Mapping[str, str]], ApiResponse]:
        def retrieve(request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
            return self._object_response(self._get(kind, path["id"]), expand(request.query))

        return retrieve

    def _expire_session(self, request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        paths = expand(request.body.decode(errors="replace"))
        session = self._get("checkout.session", path["id"])
        if session["status"] != "open":
            raise StripeApiError(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired; '
                f"{session['id']} is {session['status']}.",
            )
        self.publish(self._objects.expire_session(session))
        return self._object_response(session, paths)

    def _create_refund(self, request: ApiRequest, _path: Mapping[str, str]) -> ApiResponse:
        params = refund_request(request.body.decode(errors="replace"))
        charge = self._refundable_charge(params)
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise StripeApiError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = params.get("amount", remaining)
        if amount > remaining:
            currency = charge["currency"]
            raise StripeApiError(
                400,
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
                f"amount on charge ({format_amount(remaining, currency)})",
                code="amount_too_large",
                param="amount",
            )
        refund, events = self._objects.refund(
            charge, amount, reason=params.get("reason"), metadata=params.get("metadata", {})
        )
        self.publish(events)
        return self._object_response(refund, params.get("expand", []))

    def _refundable_charge(self, params: JsonObject) -> JsonObject:
        if "payment_intent" in params:
            intent = self._get("payment_intent", params["payment_intent"], param="payment_intent")
            if intent["status"] != "succeeded":
                raise StripeApiError(
                    400,
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge "
                    "to refund.",
                    code="payment_intent_unexpected_state",
                    param="payment_intent",
                )
            return self._objects.get("charge", intent["latest_charge"])
        charge = self._get("charge", params["charge"], param="charge")
        if charge["status"] != "succeeded":
            raise StripeApiError(
                400,
                f"Charge {charge['id']} has not succeeded and cannot be refunded.",
                code="charge_not_refundable",
                param="charge",
            )
        return charge

    # State, with the lock held.

    def _object_response(self, obj: JsonObject, expand: list[str]) -> ApiResponse:
        return json_response(200, self._objects.expanded(obj, expand), indent=2)

    def _get(self, kind: str, ident: str, *, param: str = "id") -> JsonObject:
        obj = self._objects.find(kind, ident)
        if obj is None:
            raise StripeApiError(
                404, f"No such {kind}: '{ident}'", code="resource_missing", param=param
            )
        return obj

    def _session(self, ref: str) -> JsonObject:
        session = self._objects.find("checkout.session", ref)
        if session is None:
            raise UnknownReference(f"no Stripe Checkout Session {ref!r} in the sandbox")
        return session

    def _open_session(self, ref: str) -> JsonObject:
        session = self._session(ref)
        if session["status"] != "open":
            raise NotPayable(f"session {ref} is {session['status']}, not open")
        return session

    @staticmethod
    def _outcome(session: JsonObject) -> JsonObject:
        target = session["success_url"] if session["payment_status"] == "paid" else None
        return {
            "status": session["status"],
            "payment_status": session["payment_status"],
            "redirect_url": None
            if target is None
            else target.replace("{CHECKOUT_SESSION_ID}", session["id"]),
        }

    def _refusal(self, request: ApiRequest) -> StripeApiError | None:
        header = request.header("authorization") or ""
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":
            # Stripe also takes the key as a basic-auth user name.
            decoded = base64.b64decode(credential + "==").decode(errors="replace")
            credential = decoded.partition(":")[0]
        elif scheme.lower() != "bearer":
            credential = ""
        if not credential:
            return StripeApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth "
                "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not hmac.compare_digest(credential.encode(), self.api_key.encode()):
            shown = credential[:8] + "*" * max(len(credential) - 12, 0) + credential[-4:]
            return StripeApiError(401, f"Invalid API Key provided: {shown}")
        return None

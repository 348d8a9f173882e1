"""The seed's HTTP API over a Checkout: :func:`checkout_router`.

Mount it on any FastAPI app (``app.include_router(checkout_router(...))``).
Its endpoints answer the seed's envelopes, refusals included; what a router
cannot do (CORS, the body limit, the correlation id, envelopes for unknown
paths and faults) is the app's: use
:func:`~checkout_adapters.fastapi.app.checkout_app` or
:func:`~checkout_adapters.fastapi.app.install_checkout`, or add
:class:`~checkout_adapters.fastapi.middleware.CorrelationMiddleware`,
:class:`~checkout_adapters.fastapi.middleware.BodyLimitMiddleware` and the
exception handlers yourself.

The endpoints are plain functions: the services block, and FastAPI runs such
endpoints in its thread pool. Only the webhooks' is a coroutine, to read the
raw body that the signature covers before anything parses it.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints'
# annotations at run time, and they name each router's own identity dependency,
# a local that string annotations could not be resolved against.

from collections.abc import Callable
from time import perf_counter
from typing import Annotated, Final

from attrs import frozen
from fastapi import APIRouter, Depends, Header, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from checkout_adapters.fastapi.answers import (
    AuthCheckData,
    CartData,
    CouponData,
    Envelope,
    EstimateData,
    InternshipsData,
    OrderData,
    OrderStatusData,
    WebhookData,
    error_responses,
)
from checkout_adapters.fastapi.bodies import (
    MAX_TOKEN_LENGTH,
    CartRequest,
    CouponRequest,
    EstimateRequest,
    IdempotencyKey,
    OrderRequest,
)
from checkout_adapters.fastapi.envelopes import answer
from checkout_adapters.fastapi.identity import Identity
from checkout_adapters.fastapi.metrics import HttpMetrics
from checkout_adapters.fastapi.orders import order_key, present_order_status
from checkout_adapters.fastapi.routing import route_class, unwrap
from checkout_adapters.fastapi.security import (
    OPTIONAL_BEARER,
    client_address,
    identity_dependency,
)
from checkout_adapters.fastapi.settings import RouterSettings
from checkout_adapters.presenters import (
    present_coupon_result,
    present_estimate,
    present_offering,
    present_receipt,
)
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.services import Checkout

__all__ = ["checkout_router"]

PathToken = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN_LENGTH)]
_PAYMENT_ENDINGS: Final = {
    PaymentEventKind.CAPTURED: "succeeded",
    PaymentEventKind.FAILED: "failed",
}
"""How an applied delivery ended its payment, as the payment success rate counts it."""


@frozen
class _Wiring:
    """What every endpoint of one router reaches: the checkout, settings, metrics, caller."""

    checkout: Checkout
    settings: RouterSettings
    metrics: HttpMetrics | None
    caller: Callable[..., Identity | None]


def _user_of(identity: Identity | None) -> str | None:
    return identity.user_id if identity else None


def checkout_router(
    checkout: Checkout, settings: RouterSettings, *, metrics: HttpMetrics | None = None
) -> APIRouter:
    """The seed's endpoints over ``checkout``, configured by ``settings``.

    The webhook endpoint is ``/api/v1/webhooks/{provider}`` for the provider
    of ``checkout``'s gateway only: one Checkout has one gateway, so the
    other provider's path is not served (404).
    """
    router = APIRouter(route_class=route_class(metrics))
    wiring = _Wiring(checkout, settings, metrics, identity_dependency(settings))
    _cart_routes(router, wiring)
    _coupon_routes(router, wiring)
    _order_routes(router, wiring)
    provider = checkout.ports.gateway.provider
    router.add_api_route(
        f"/api/v1/webhooks/{provider}",
        _webhook_endpoint(checkout, metrics),
        methods=["POST"],
        tags=["webhooks"],
        response_model=Envelope[WebhookData],
        responses=error_responses(400, 413),
        summary="Receive the payment provider's webhook",
        openapi_extra=_signed_delivery(provider),
    )
    return router


def _cart_routes(router: APIRouter, wiring: _Wiring) -> None:
    checkout, settings, metrics = wiring.checkout, wiring.settings, wiring.metrics
    Caller = Annotated[Identity | None, Depends(wiring.caller)]  # noqa: N806 - a type alias

    @router.get(
        "/api/v1/internships",
        tags=["carts"],
        response_model=Envelope[InternshipsData],
        responses=error_responses(),
    )
    def list_internships() -> JSONResponse:
        """Every internship on sale, with its plans in minor units."""
        offerings = unwrap(checkout.carts.list_offerings())
        return answer({"internships": [present_offering(offering) for offering in offerings]})

    @router.post(
        "/api-proxy/api/cart",
        tags=["carts"],
        response_model=Envelope[CartData],
        responses=error_responses(413),
    )
    def create_cart(body: CartRequest) -> JSONResponse:
        """Open a cart; its prices come from the catalog, never from the request."""
        lines = [
            CartLine(product.internship_id, Period(product.period.value, product.period.unit))
            for product in body.products
        ]
        cart = unwrap(
            checkout.carts.create_cart(
                lines,
                sale_slug=body.sale_slug,
                analytics_data=[(pair.key, pair.value) for pair in body.analytics_data],
            )
        )
        if metrics is not None:
            metrics.count_cart_created()
        base = settings.cart_url_base
        summary = {
            "cart_token": cart.token,
            "cart_url": base + cart.token if base is not None else None,
            "expires_at": cart.expires_at.isoformat(),
        }
        return answer({"cart": summary})

    @router.post(
        "/api/v1/cart/{token}/auth/check",
        tags=["auth"],
        response_model=Envelope[AuthCheckData],
        responses=error_responses(401, 403, 404, 409, 410),
        openapi_extra=OPTIONAL_BEARER,
    )
    def check_cart_access(token: PathToken, identity: Caller) -> JSONResponse:
        """Whether the caller is signed in; a signed-in caller's first check binds the cart."""
        access = unwrap(checkout.auth.validate_cart_access(token, _user_of(identity)))
        data: dict[str, object] = {"authenticated": access.authenticated}
        if access.user_id is not None:
            data["user_id"] = access.user_id
        return answer(data)

    @router.post(
        "/api/v1/cart/estimate",
        tags=["pricing"],
        response_model=Envelope[EstimateData],
        responses=error_responses(401, 403, 404, 409, 410, 413),
        openapi_extra=OPTIONAL_BEARER,
    )
    def estimate(body: EstimateRequest, identity: Caller) -> JSONResponse:
        """The cart priced afresh from the catalog, in minor units."""
        priced = unwrap(checkout.pricing.calculate(body.cart_token, _user_of(identity)))
        return answer(present_estimate(priced))


def _coupon_routes(router: APIRouter, wiring: _Wiring) -> None:
    checkout, settings = wiring.checkout, wiring.settings
    Caller = Annotated[Identity | None, Depends(wiring.caller)]  # noqa: N806 - a type alias

    @router.post(
        "/api/v1/cart/{token}/coupon",
        tags=["discounts"],
        response_model=Envelope[CouponData],
        responses=error_responses(401, 403, 404, 409, 410, 413, 429),
        openapi_extra=OPTIONAL_BEARER,
    )
    def apply_coupon(
        token: PathToken, body: CouponRequest, identity: Caller, request: Request
    ) -> JSONResponse:
        """Apply a coupon; attempts are limited per cart, user and client address."""
        client = client_address(request, settings)
        applied = unwrap(
            checkout.discounts.apply(token, body.coupon, _user_of(identity), client=client)
        )
        return answer(present_coupon_result(applied))

    @router.delete(
        "/api/v1/cart/{token}/coupon",
        tags=["discounts"],
        response_model=Envelope[EstimateData],
        responses=error_responses(401, 403, 404, 409, 410),
        openapi_extra=OPTIONAL_BEARER,
    )
    def remove_coupon(token: PathToken, identity: Caller) -> JSONResponse:
        """Take the coupon off the cart; the answer is the estimate without it."""
        removed = unwrap(checkout.discounts.remove(token, _user_of(identity)))
        return answer(present_estimate(removed))


def _order_routes(router: APIRouter, wiring: _Wiring) -> None:
    checkout, metrics = wiring.checkout, wiring.metrics
    Caller = Annotated[Identity | None, Depends(wiring.caller)]  # noqa: N806 - a type alias

    @router.post(
        "/api/v1/order",
        tags=["orders"],
        response_model=Envelope[OrderData],
        responses=error_responses(401, 403, 404, 409, 410, 413, 429, 503),
    )
    def place_order(
        body: OrderRequest,
        identity: Caller,
        idempotency_key: Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")] = None,
    ) -> JSONResponse:
        """Place the order for a cart, once per idempotency key; a repeat gets the same answer.

        The key comes in the ``Idempotency-Key`` header or as ``idempotency_key``;
        both may be sent if they are equal. A stored answer comes back with
        ``Idempotent-Replayed: true``.
        """
        key = order_key(idempotency_key, body.idempotency_key)
        placed = unwrap(checkout.orders.create_from_cart(body.cart_token, key, _user_of(identity)))
        receipt = placed.receipt
        if metrics is not None and not placed.replayed:
            metrics.count_order("free" if receipt.total == 0 else "paid", receipt.status)
        headers = {"Idempotent-Replayed": "true"} if placed.replayed else None
        return answer(present_receipt(receipt), headers=headers)

    @router.get(
        "/api/v1/order/{order_token}",
        tags=["orders"],
        response_model=Envelope[OrderStatusData],
        responses=error_responses(401, 404),
    )
    def read_order(order_token: PathToken, identity: Caller) -> JSONResponse:
        """An order as it stands, for its owner only: anyone else is told it does not exist."""
        receipt = unwrap(checkout.orders.get_receipt(order_token, _user_of(identity)))
        return answer(present_order_status(receipt))


_SIGNATURE_HEADERS = {"razorpay": "X-Razorpay-Signature", "stripe": "Stripe-Signature"}


def _signed_delivery(provider: str) -> dict[str, object]:
    """The webhook's request as documented: a raw JSON body and its signature header."""
    extra: dict[str, object] = {
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}
    }
    header = _SIGNATURE_HEADERS.get(provider)
    if header is not None:
        extra["parameters"] = [
            {"name": header, "in": "header", "required": True, "schema": {"type": "string"}}
        ]
    return extra


def _webhook_endpoint(
    checkout: Checkout, metrics: HttpMetrics | None
) -> Callable[[Request], object]:
    provider = checkout.ports.gateway.provider

    async def receive_webhook(request: Request) -> JSONResponse:
        """A delivery of the provider, verified on its raw body before anything reads it."""
        body = await request.body()
        started = perf_counter()
        try:
            result = await run_in_threadpool(checkout.webhooks.handle, dict(request.headers), body)
        except Exception:
            # A fault of the world (the database down): the provider retries the delivery.
            if metrics is not None:
                metrics.observe_webhook(provider, "failed", perf_counter() - started)
            raise
        if metrics is not None:
            outcome = result.value_or(None)
            label = (
                "rejected"
                if outcome is None
                else "duplicate"
                if outcome.duplicate
                else str(outcome.status)
            )
            metrics.observe_webhook(provider, label, perf_counter() - started)
            payment = outcome.payment if outcome is not None else None
            if payment in _PAYMENT_ENDINGS:
                metrics.count_payment(provider, _PAYMENT_ENDINGS[payment])
        done = unwrap(result)
        return answer(
            {
                "provider": done.provider,
                "event_id": done.event_id,
                "type": done.type,
                "outcome": str(done.status),
                "duplicate": done.duplicate,
            }
        )

    return receive_webhook

"""Where the gateway sends the buyer back after paying: on to the order's page.

Razorpay Checkout (and the sandbox's pay page) posts a form to its
``callback_url``: ``razorpay_order_id`` after a payment, ``error[metadata]``
(JSON holding ``order_id``) after a failure. Stripe sends the buyer to its
``success_url`` with ``?session_id=...``. Either way this page finds the
order paid through that provider reference and redirects to the checkout
page's view of the order, which follows its status. Nothing here marks an
order paid: the provider's signed webhook does that.
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from checkout_core.services import Checkout

__all__ = ["RETURN_PATH", "payment_return_router", "provider_ref_of"]

RETURN_PATH: Final = "/checkout/return"
ORDER_PAGE: Final = "/checkout/order/"
_NOT_FOUND: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payment not found</title></head>
<body><h1>We could not find that payment</h1>
<p><a href="/checkout">Back to the internships</a></p></body></html>
"""


def provider_ref_of(fields: dict[str, list[str]]) -> str | None:
    """The provider's order id in a Razorpay callback's form fields, paid or failed."""
    paid = fields.get("razorpay_order_id")
    if paid:
        return paid[0]
    failed = fields.get("error[metadata]")
    if not failed:
        return None
    try:
        metadata = json.loads(failed[0])
    except json.JSONDecodeError:
        return None
    order_id = metadata.get("order_id") if isinstance(metadata, dict) else None
    return order_id if isinstance(order_id, str) else None


def payment_return_router(checkout: Checkout) -> APIRouter:
    """``GET`` (Stripe) and ``POST`` (Razorpay) on :data:`RETURN_PATH`."""
    router = APIRouter(tags=["demo"])

    def back_to_order(provider_ref: str | None) -> Response:
        if provider_ref is None:
            return HTMLResponse(_NOT_FOUND, status_code=404)
        with checkout.ports.unit_of_work() as uow:
            payment = uow.payments.get_by_provider_ref(
                checkout.ports.gateway.provider, provider_ref
            )
        if payment is None:
            return HTMLResponse(_NOT_FOUND, status_code=404)
        # 303: the browser follows with a GET, whatever method brought it here.
        return RedirectResponse(ORDER_PAGE + payment.order_token, status_code=303)

    @router.get(RETURN_PATH, include_in_schema=False)
    def from_stripe(session_id: str | None = None) -> Response:
        """Back from Stripe's hosted page."""
        return back_to_order(session_id)

    @router.post(RETURN_PATH, include_in_schema=False)
    async def from_razorpay(request: Request) -> Response:
        """Back from Razorpay Checkout (or the sandbox's pay page), paid or not."""
        fields = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        # The lookup is a blocking database read: off the event loop.
        return await run_in_threadpool(back_to_order, provider_ref_of(fields))

    return router

"""Razorpay, on its official SDK: a payment gateway for the checkout.

Install with the ``razorpay`` extra. :class:`RazorpayGateway` implements
:class:`~checkout_core.ports.PaymentGateway`: orders as payment sessions,
their status, refunds, the checkout callback's signature, and webhooks
verified on their raw body. The SDK's errors, ``requests``' errors and its
prints stay inside this package.
"""

from __future__ import annotations

from checkout_adapters.razorpay.api import RAZORPAY_PROVIDER
from checkout_adapters.razorpay.gateway import (
    DEFAULT_BASE_URL,
    DEFAULT_CHECKOUT_URL_TEMPLATE,
    RazorpayGateway,
)
from checkout_adapters.razorpay.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    webhook_signature,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CHECKOUT_URL_TEMPLATE",
    "EVENT_ID_HEADER",
    "RAZORPAY_PROVIDER",
    "SIGNATURE_HEADER",
    "RazorpayGateway",
    "webhook_signature",
]

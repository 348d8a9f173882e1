"""The gateway sandbox: Razorpay and Stripe on a local HTTP server, for the demo and the tests.

:class:`Sandbox` answers the part of both providers' REST APIs the checkout
uses, so the official SDKs run against it unchanged; serves a hosted pay
page where a person or a test pays or fails; delivers webhooks signed
exactly as the providers sign them, retried on non-2xx; and injects faults
(5xx answers, slow answers, dropped connections, duplicate and reordered
deliveries) through :class:`Faults`.

``python -m checkout_adapters.sandbox`` starts one and prints its address
and secrets.
"""

from __future__ import annotations

from checkout_adapters.sandbox.errors import NotPayable, SandboxError, UnknownReference
from checkout_adapters.sandbox.faults import Faults
from checkout_adapters.sandbox.razorpay_api import RAZORPAY
from checkout_adapters.sandbox.razorpay_objects import RAZORPAY_ACCOUNT_ID
from checkout_adapters.sandbox.server import PROVIDERS, Sandbox
from checkout_adapters.sandbox.stripe_api import STRIPE, STRIPE_API_VERSION
from checkout_adapters.sandbox.webhooks import (
    Delivery,
    RetryPolicy,
    Webhook,
    WebhookReceiver,
    WebhookTarget,
)

__all__ = [
    "PROVIDERS",
    "RAZORPAY",
    "RAZORPAY_ACCOUNT_ID",
    "STRIPE",
    "STRIPE_API_VERSION",
    "Delivery",
    "Faults",
    "NotPayable",
    "RetryPolicy",
    "Sandbox",
    "SandboxError",
    "UnknownReference",
    "Webhook",
    "WebhookReceiver",
    "WebhookTarget",
]

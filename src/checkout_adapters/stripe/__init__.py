"""Stripe: Checkout Sessions, status, refunds and signed webhooks, on the official SDK.

Install with the ``stripe`` extra. :class:`StripeGateway` is the
:class:`~checkout_core.ports.PaymentGateway`; every SDK error it meets leaves
as a :class:`~checkout_core.domain.gateway.GatewayError`.
"""

from __future__ import annotations

from checkout_adapters.stripe.errors import STRIPE_PROVIDER
from checkout_adapters.stripe.gateway import PINNED_API_VERSION, StripeGateway
from checkout_adapters.stripe.webhooks import SIGNATURE_HEADER

__all__ = ["PINNED_API_VERSION", "SIGNATURE_HEADER", "STRIPE_PROVIDER", "StripeGateway"]

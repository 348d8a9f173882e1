"""Webhook signatures, computed exactly as Razorpay and Stripe compute them.

Both are a hex HMAC-SHA256 over the raw body as sent, byte for byte.
Razorpay signs the body alone, with the webhook secret; Stripe signs
``"{timestamp}.{body}"`` and writes ``t=<timestamp>,v1=<signature>`` in the
``Stripe-Signature`` header, as ``stripe.WebhookSignature.generate_signature_header``
does.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["hmac_sha256_hex", "razorpay_signature", "stripe_signature_header"]


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    """The hex HMAC-SHA256 of ``message`` under ``secret`` (UTF-8)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def razorpay_signature(body: bytes, secret: str) -> str:
    """The ``X-Razorpay-Signature`` of ``body`` under the webhook secret."""
    return hmac_sha256_hex(secret, body)


def stripe_signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header of ``body`` signed at ``timestamp`` (unix seconds)."""
    signature = hmac_sha256_hex(secret, f"{timestamp}.".encode() + body)
    return f"t={timestamp},v1={signature}"

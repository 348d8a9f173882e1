"""Stripe's and ``requests``' exceptions, translated into :class:`GatewayError` at the edge.

No vendor exception crosses into the core. Each is marked retryable or not by
its kind, the way httpx maps httpcore's errors:

- retryable: a connection refused or reset, a timeout (``APIConnectionError``
  caused by one), a rate limit (429), a conflict on a key still in use (409),
  a server error (5xx, or a body that could not be read);
- never retryable: a request Stripe refused (400, 404), bad credentials (401),
  a forbidden call (403), a declined card (402), an idempotency key reused
  with other parameters, a TLS certificate that does not verify, and a
  ``requests`` error that says the request itself is malformed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import requests
import stripe

from checkout_core.domain.gateway import GatewayError

__all__ = ["STRIPE_PROVIDER", "translated"]

STRIPE_PROVIDER: Final = "stripe"
"""The provider name stored on payments made through Stripe."""

_NEVER_RETRYABLE: Final = (
    stripe.InvalidRequestError,
    stripe.CardError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.IdempotencyError,
    stripe.SignatureVerificationError,
)
# 409: Stripe answers it while another request with the same key is in flight.
_RETRYABLE_STATUSES: Final = frozenset({409, 429})


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run a call to Stripe, raising :class:`GatewayError` for any Stripe or ``requests`` error.

    ``action`` names the call in the message (``"create a checkout session"``).
    The original exception is kept as ``__cause__``.
    """
    try:
        yield
    except stripe.StripeError as exc:
        raise GatewayError(
            f"stripe could not {action}: {_describe(exc)}",
            retryable=_stripe_retryable(exc),
            provider=STRIPE_PROVIDER,
        ) from exc
    except requests.RequestException as exc:
        # The SDK wraps these itself; one escaping it is still translated.
        raise GatewayError(
            f"stripe could not {action}: {type(exc).__name__}: {exc}",
            retryable=_requests_retryable(exc),
            provider=STRIPE_PROVIDER,
        ) from exc


def _stripe_retryable(exc: stripe.StripeError) -> bool:
    if isinstance(exc, _NEVER_RETRYABLE):
        return False
    if isinstance(exc, stripe.RateLimitError):
        return True
    if isinstance(exc, stripe.APIConnectionError):
        cause = exc.__cause__
        if cause is None:
            return True
        # Anything but a network error (a ValueError from a bad proxy setting) is local.
        return isinstance(cause, requests.RequestException) and _requests_retryable(cause)
    status = exc.http_status
    # APIError: a 5xx, or a body that was not Stripe's JSON (a proxy's page).
    return status is None or status >= 500 or status in _RETRYABLE_STATUSES


def _requests_retryable(exc: requests.RequestException) -> bool:
    # SSLError is a ConnectionError, but a certificate that fails now fails again.
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc,
        requests.Timeout
        | requests.ConnectionError
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.RetryError,
    )


def _describe(exc: stripe.StripeError) -> str:
    parts = [type(exc).__name__]
    if exc.http_status is not None:
        parts.append(f"HTTP {exc.http_status}")
    if exc.code:
        parts.append(f"code {exc.code}")
    message = exc.user_message or str(exc)
    return f"{' '.join(parts)}: {message}"

"""The seed's HTTP API on FastAPI: an embeddable router, and an app around it.

A host mounts the checkout in one call::

    app = checkout_app(checkout, RouterSettings(identity=JwtVerifier.hs256(...)))
    # or, into an app of its own:
    install_checkout(app, checkout, settings, metrics=metrics, readiness=readiness)

:func:`checkout_router` alone serves the endpoints and answers their
refusals as the seed's envelope; a host mounting only it must add
:class:`CorrelationMiddleware` and :class:`BodyLimitMiddleware` (and CORS,
and handlers for unknown paths and faults) itself, as
:func:`install_checkout` does.
"""

from __future__ import annotations

from checkout_adapters.fastapi.app import Readiness, checkout_app, install_checkout
from checkout_adapters.fastapi.identity import Identity, IdentityVerifier
from checkout_adapters.fastapi.metrics import HttpMetrics
from checkout_adapters.fastapi.middleware import BodyLimitMiddleware, CorrelationMiddleware
from checkout_adapters.fastapi.routes import checkout_router
from checkout_adapters.fastapi.settings import DEFAULT_MAX_BODY_BYTES, RouterSettings
from checkout_adapters.fastapi.tokens import JwtVerifier

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "CorrelationMiddleware",
    "HttpMetrics",
    "Identity",
    "IdentityVerifier",
    "JwtVerifier",
    "Readiness",
    "RouterSettings",
    "checkout_app",
    "checkout_router",
    "install_checkout",
]

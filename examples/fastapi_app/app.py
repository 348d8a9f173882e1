"""The marketplace app: the checkout's API mounted on a FastAPI app of its own, and its pages.

``/`` is the marketplace's home page; ``/checkout`` the checkout page (the
internships, then ``/checkout/cart/{token}`` and ``/checkout/order/{token}``,
one HTML page and one script that call the API). ``/demo/sign-in`` hands out
demo tokens and ``/checkout/return`` brings the buyer back from paying.

The checkout runs in the app's process: :func:`~checkout_adapters.bootstrap.served`
builds it from the settings, the app's lifespan starts and stops its
enrollment worker, and the demo's catalog is seeded the first time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.demo import demo_catalog
from checkout_adapters.fastapi import JwtVerifier, RouterSettings, install_checkout
from checkout_adapters.fastapi.identity import IdentityVerifier
from checkout_adapters.settings import ConfigurationError, ServerSettings
from checkout_core.services import CheckoutSettings
from examples.fastapi_app.catalog import seed_on_first_start
from examples.fastapi_app.payment_return import RETURN_PATH, payment_return_router
from examples.fastapi_app.sign_in import DemoTokens, demo_tokens, sign_in_router

__all__ = ["STATIC", "create_app"]

logger = logging.getLogger(__name__)

STATIC: Final = Path(__file__).parent / "static"
"""The pages, the script and the style sheet."""
_CART_PAGE: Final = "/checkout/cart/"


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The marketplace on ``settings`` (read from the environment when omitted).

    The app holds its :class:`~checkout_adapters.bootstrap.Served` checkout
    in ``app.state.served``.

    Raises:
        ConfigurationError: a setting is missing or wrong.
    """
    settings = settings or ServerSettings.from_env()
    public = settings.public_url
    server = served(
        settings,
        checkout_settings=CheckoutSettings(tax=demo_catalog().tax),
        return_url=None if public is None else public + RETURN_PATH,
    )
    try:
        clock = server.checkout.ports.clock
        if seed_on_first_start(server.catalog, clock.now()):
            logger.info("seeded the demo's catalog: its database had no offerings")
        if server.sandbox is not None and public is not None:
            # Through the app's own webhook route, signature checks and all.
            server.sandbox.webhook_target = public + "/api/v1/webhooks/{provider}"
        tokens = demo_tokens(settings, clock)
        router_settings = RouterSettings(
            identity=_verifier(settings, tokens),
            cors_origins=settings.cors_origins,
            cart_url_base=(public or "") + _CART_PAGE,
        )
    except BaseException:
        server.close()
        raise
    app = FastAPI(title="Internship marketplace", lifespan=_lifespan(server))
    app.state.served = server
    install_checkout(
        app, server.checkout, router_settings, metrics=server.metrics, readiness=server.readiness
    )
    app.include_router(sign_in_router(tokens))
    app.include_router(payment_return_router(server.checkout))
    _pages(app)
    return app


def _lifespan(server: Served) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the checkout's worker with the app; stop it, the sandbox and the database after."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        server.start()
        try:
            yield
        finally:
            server.close()

    return lifespan


def _verifier(settings: ServerSettings, tokens: DemoTokens | None) -> IdentityVerifier:
    audience, issuer = settings.jwt_audience, settings.jwt_issuer
    if tokens is not None:
        return JwtVerifier.hs256(tokens.secret, audience=audience, issuer=issuer)
    if settings.jwt_public_key is None:
        raise AssertionError("without a public key the demo issues tokens")
    try:
        return JwtVerifier.rs256(settings.jwt_public_key, audience=audience, issuer=issuer)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(
            f"CHECKOUT_JWT_PUBLIC_KEY is not an RSA public key: {error}"
        ) from None


def _pages(app: FastAPI) -> None:
    home, checkout = STATIC / "index.html", STATIC / "checkout.html"

    @app.get("/", include_in_schema=False)
    def home_page() -> FileResponse:
        """The marketplace's home page."""
        return FileResponse(home)

    @app.get("/checkout", include_in_schema=False)
    @app.get("/checkout/cart/{token}", include_in_schema=False)
    @app.get("/checkout/order/{token}", include_in_schema=False)
    def checkout_page() -> FileResponse:
        """The checkout page; its script reads the cart or order token from the address."""
        return FileResponse(checkout)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

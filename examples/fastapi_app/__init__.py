"""An internship marketplace that sells through the checkout: its HTTP API and a checkout page.

``create_app()`` builds it from the ``CHECKOUT_*`` environment (see
``docs/configuration.md``); ``checkout serve`` runs it under uvicorn.
"""

from __future__ import annotations

from examples.fastapi_app.app import create_app

__all__ = ["create_app"]

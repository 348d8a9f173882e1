"""The example marketplace under uvicorn, and Debian's Chromium driven by Playwright.

The app runs in a thread of the test process on a free 127.0.0.1 port, on a
SQLite file of its own, with the sandbox gateway; its sandbox sends webhooks
to the app's webhook route. :func:`running_marketplace` starts another one on
settings of a test's choosing (PostgreSQL and Redis, say). The browser is the system's Chromium at
``/usr/bin/chromium``: when it is missing the tests fail, saying how to
install it (they never skip).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
import uvicorn
from attrs import frozen
from playwright.sync_api import Browser, Page, sync_playwright

from checkout_adapters.bootstrap import Served
from checkout_adapters.settings import ServerSettings
from examples.fastapi_app import create_app

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS: Final = 30.0


@frozen
class Marketplace:
    """The running example app: where it answers, and its checkout."""

    base_url: str
    served: Served


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def running_marketplace(environ: Mapping[str, str]) -> Iterator[Marketplace]:
    """The example app on the ``CHECKOUT_*`` variables ``environ``, under uvicorn until the end.

    The gateway is the sandbox, and ``CHECKOUT_PUBLIC_URL`` is the server's
    own address, so the sandbox delivers its webhooks over HTTP to the app.
    """
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = ServerSettings.from_env(
        {**environ, "CHECKOUT_GATEWAY": "sandbox", "CHECKOUT_PUBLIC_URL": base_url}
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"marketplace-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"the example app did not start on {base_url}")
            time.sleep(0.05)
        yield Marketplace(base_url, app.state.served)
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)


@pytest.fixture(scope="session")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketplace]:
    database = tmp_path_factory.mktemp("marketplace") / "checkout.db"
    with running_marketplace({"CHECKOUT_DATABASE_URL": f"sqlite:///{database}"}) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Install it with `apt-get install -y chromium` (as root), then run them again.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A context per test: its own sessionStorage, so each buyer signs in afresh.
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()

"""Fixtures: the local SMTP and HTTP servers of servers.py, started on free ports."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.notifications.servers import (
    MailServer,
    RecordingHandler,
    RecordingHTTPServer,
    WebhookServer,
    authenticate,
    serve_mail,
)


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """An SMTP server on a free port of 127.0.0.1, accepting everything."""
    yield from serve_mail()


@pytest.fixture
def smtp_auth_server() -> Iterator[MailServer]:
    """An SMTP server that offers AUTH over plain text (it is a local test server)."""
    yield from serve_mail(authenticator=authenticate, auth_require_tls=False)


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """An HTTP server on a free port of 127.0.0.1 that records what is POSTed to it."""
    server = RecordingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield WebhookServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (into its backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])

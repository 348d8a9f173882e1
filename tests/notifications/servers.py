"""Local servers the notification tests talk to: aiosmtpd for SMTP, http.server for webhooks."""

from __future__ import annotations

import email
import email.policy
import http.server
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from attrs import define, field

USERNAME = "shop"
PASSWORD = "s3cret"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (when this returns)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@define
class MailHandler:
    """Collects every message the server accepts; refuses recipients when told to."""

    messages: list[EmailMessage] = field(factory=list)
    raw: list[bytes] = field(factory=list)
    envelopes: list[tuple[str, list[str]]] = field(factory=list)
    refuse_recipients: bool = False

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipients:
            return f"550 5.1.1 <{address}>: Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        self.raw.append(content)
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def authenticate(
    server: SMTP,  # noqa: ARG001 - aiosmtpd's authenticator signature
    session: Session,  # noqa: ARG001
    envelope: Envelope,  # noqa: ARG001
    mechanism: str,  # noqa: ARG001
    auth_data: object,
) -> AuthResult:
    """Let in :data:`USERNAME` with :data:`PASSWORD`, and nobody else."""
    good = isinstance(auth_data, LoginPassword) and auth_data == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False)


@define
class MailServer:
    """A running aiosmtpd server and the handler that collects its mail."""

    host: str
    port: int
    handler: MailHandler


def serve_mail(**smtp_parameters: Any) -> Iterator[MailServer]:
    handler = MailHandler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5.0, **smtp_parameters
    )
    controller.start()
    try:
        yield MailServer("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


@define
class Recorded:
    """One request the webhook server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RecordingHTTPServer(http.server.ThreadingHTTPServer):
    status: int = 204
    location: str | None = None
    requests: list[Recorded]


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    server: RecordingHTTPServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
        self.send_response(self.server.status)
        if self.server.location is not None:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.requests.append(Recorded("GET", self.path, dict(self.headers.items()), b""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Keep the test output quiet."""


@define
class WebhookServer:
    """A running HTTP server that records each request and answers with ``status``."""

    server: RecordingHTTPServer

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/alerts"

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def answer(self, status: int, *, location: str | None = None) -> None:
        self.server.status = status
        self.server.location = location

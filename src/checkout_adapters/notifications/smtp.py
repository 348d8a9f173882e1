"""A NotificationSender that sends email through an SMTP server, with ``smtplib``.

Each notification becomes one email with a plain-text part and an HTML
alternative, rendered from :class:`~checkout_adapters.notifications.templates.EmailTemplates`.
Its ``Message-ID`` is derived from the template and the order, so a resend
(a retried delivery of the same event) carries the same id and a mail
client or a server can tell it is the same message.

The buyer's address never reaches a log or an error message: the host's
``recipients`` callable turns a user id into an address at send time, and
replies of the server that quote it are scrubbed before they are chained.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Final

from attrs import field, frozen

from checkout_adapters.notifications.errors import NotificationFailed, RecipientUnknown
from checkout_adapters.notifications.templates import (
    DEFAULT_RECIPIENT_NAME,
    EmailTemplates,
    RenderedEmail,
)
from checkout_core.domain.messages import Notification

__all__ = ["SmtpNotificationSender", "message_id"]

_LOG: Final = logging.getLogger("checkout.notifications")
_REDACTED: Final = "<recipient>"
# 7-bit transfer encodings only: a name with accents must not need the server's 8BITMIME.
_POLICY: Final = email.policy.default.clone(cte_type="7bit")


def message_id(template: str, order_token: str, domain: str) -> str:
    """The ``Message-ID`` of the ``template`` email about ``order_token``: the same at each send.

    The order token is hashed, not written out: it is a bearer token, and
    message ids travel into mail logs. The id is kept short (96 bits of the
    hash) so that the header fits on one line and is not folded.
    """
    digest = hashlib.sha256(f"{template}\0{order_token}".encode()).hexdigest()[:24]
    return f"<{template}.{digest}@{domain}>"


def _scrubbed(exc: Exception, address: str) -> Exception:
    """``exc``, or a copy of it whose text no longer holds ``address``."""
    needle = address.encode()

    def scrub(reply: bytes | str) -> bytes:
        raw = reply if isinstance(reply, bytes) else reply.encode()
        return raw.replace(needle, _REDACTED.encode())

    copy: Exception
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        copy = smtplib.SMTPRecipientsRefused(
            {
                f"<recipient {index}>": (code, scrub(reply))
                for index, (code, reply) in enumerate(exc.recipients.values(), 1)
            }
        )
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        copy = smtplib.SMTPSenderRefused(exc.smtp_code, scrub(exc.smtp_error), exc.sender)
    elif isinstance(exc, smtplib.SMTPResponseException):
        copy = type(exc)(exc.smtp_code, scrub(exc.smtp_error))
    elif address in str(exc):
        text = str(exc).replace(address, _REDACTED)
        try:
            copy = type(exc)(text)
        except Exception:  # noqa: BLE001 - an error type that takes other arguments
            copy = OSError(text)
    else:
        return exc
    return copy.with_traceback(exc.__traceback__)


def _no_password(value: str | None) -> str:
    return "None" if value is None else "'***'"


@frozen
class SmtpNotificationSender:
    """Sends each notification as an email through the SMTP server at ``host``:``port``.

    ``recipients`` turns the notification's user id into the buyer's
    address (``"asha@example.com"`` or ``"Asha Rao <asha@example.com>"``,
    whose name the email greets); ``None`` means there is none to send to.
    ``sender`` is the ``From`` address. With ``starttls`` the connection is
    upgraded to TLS (verified against the system's certificates, or
    ``ssl_context``) before logging in with ``username`` and ``password``.
    ``templates`` renders the emails (the package's own by default).

    Raises from :meth:`send`:
        RecipientUnknown: ``recipients`` has no address for the buyer.
        TemplateError: the notification cannot be rendered.
        NotificationFailed: the server could not be reached or refused
            the message (retryable; the ``smtplib`` or socket error is chained).
    """

    host: str
    port: int
    sender: str = field(kw_only=True)
    recipients: Callable[[str | None], str | None] = field(kw_only=True, repr=False)
    username: str | None = field(default=None, kw_only=True)
    password: str | None = field(default=None, kw_only=True, repr=_no_password)
    starttls: bool = field(default=False, kw_only=True)
    timeout: float = field(default=10.0, kw_only=True)
    templates: EmailTemplates = field(factory=EmailTemplates, kw_only=True)
    ssl_context: ssl.SSLContext | None = field(default=None, kw_only=True, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"the SMTP timeout must be positive, not {self.timeout}")
        if self.password is not None and self.username is None:
            raise ValueError("a password is given without a username")
        if "@" not in parseaddr(self.sender)[1]:
            raise ValueError(f"the sender {self.sender!r} is not an email address")

    @property
    def domain(self) -> str:
        """The domain of the sender's address, which message ids are made in."""
        return parseaddr(self.sender)[1].rpartition("@")[2]

    def send(self, notification: Notification) -> None:
        """Render ``notification`` and hand it to the SMTP server.

        Raises:
            RecipientUnknown: there is no address for the buyer.
            TemplateError: the template cannot be rendered.
            NotificationFailed: the server could not be reached or refused the message.
        """
        name, address = parseaddr(self.recipients(notification.user_id) or "")
        if "@" not in address:
            raise RecipientUnknown(
                f"no email address for the buyer of order {notification.order_token}, "
                f"so the {notification.template!r} notification cannot be sent"
            )
        rendered = self.templates.render(
            notification, recipient_name=name.strip() or DEFAULT_RECIPIENT_NAME
        )
        message = self.message(notification, rendered, formataddr((name, address)))
        try:
            self._deliver(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise NotificationFailed(
                f"the {notification.template!r} notification about order "
                f"{notification.order_token} was not delivered ({type(exc).__name__})"
            ) from _scrubbed(exc, address)
        _LOG.info(
            "sent the %s notification about order %s as %s",
            notification.template,
            notification.order_token,
            message["Message-ID"],
        )

    def message(self, notification: Notification, rendered: RenderedEmail, to: str) -> EmailMessage:
        """The email for ``notification`` as rendered, addressed to ``to``."""
        message = EmailMessage(policy=_POLICY)
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = message_id(
            notification.template, notification.order_token, self.domain
        )
        message.set_content(rendered.text)
        if rendered.html is not None:
            message.add_alternative(rendered.html, subtype="html")
        return message

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=self.ssl_context or ssl.create_default_context())
            if self.username is not None:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

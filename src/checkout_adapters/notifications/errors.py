"""What goes wrong when a notification or an alert is sent.

Each error says with ``retryable`` whether sending the same thing again may
succeed: a mail server or a webhook that cannot be reached is a fault of the
world and worth retrying; a buyer without an email address or a broken
template is not, however often it is tried.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlertNotDelivered",
    "NotificationError",
    "NotificationFailed",
    "RecipientUnknown",
    "TemplateError",
]


class NotificationError(Exception):
    """A notification could not be sent; the root of the notification errors."""

    retryable: ClassVar[bool] = False


class NotificationFailed(NotificationError):
    """The mail server could not be reached, or refused the message: retry later.

    The cause (the ``smtplib`` or socket error) is chained, with the
    recipient's address taken out of it.
    """

    retryable: ClassVar[bool] = True


class RecipientUnknown(NotificationError):
    """The host knows no email address for the buyer: the notification cannot be sent."""


class TemplateError(NotificationError):
    """A template is missing, malformed, or names a placeholder the notification lacks."""


class AlertNotDelivered(Exception):
    """An alert did not reach a sink (a webhook down or answering an error): retry later.

    ``status`` is the HTTP status a webhook answered with, if it answered;
    ``failures`` are the errors of each sink a fan-out could not deliver to.
    """

    retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        failures: tuple[Exception, ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.failures = failures

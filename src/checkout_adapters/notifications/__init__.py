"""Notification senders and alert sinks that reach the world: email over SMTP, a webhook.

- :class:`SmtpNotificationSender` sends the ``welcome`` email (a free order)
  and the ``confirmation`` (a paid one), rendered by :class:`EmailTemplates`
  from the package's templates or a host's own;
- :class:`WebhookAlertSink` POSTs alerts as JSON, and :class:`FanOutAlertSink`
  sends each alert to several sinks, so the log still gets it when the webhook is down.

The log sender and the log alert sink (the embedded default, where there is no
mail server and no pager) live in :mod:`checkout_adapters.memory` and are
re-exported here.
"""

from __future__ import annotations

from checkout_adapters.memory.senders import LogAlertSink, LogNotificationSender
from checkout_adapters.notifications.alerts import (
    FanOutAlertSink,
    WebhookAlertSink,
    alert_payload,
)
from checkout_adapters.notifications.errors import (
    AlertNotDelivered,
    NotificationError,
    NotificationFailed,
    RecipientUnknown,
    TemplateError,
)
from checkout_adapters.notifications.smtp import SmtpNotificationSender, message_id
from checkout_adapters.notifications.templates import (
    AMOUNT_KEYS,
    DEFAULT_RECIPIENT_NAME,
    EmailTemplates,
    RenderedEmail,
    default_template_directory,
    format_amount,
)

__all__ = [
    "AMOUNT_KEYS",
    "DEFAULT_RECIPIENT_NAME",
    "AlertNotDelivered",
    "EmailTemplates",
    "FanOutAlertSink",
    "LogAlertSink",
    "LogNotificationSender",
    "NotificationError",
    "NotificationFailed",
    "RecipientUnknown",
    "RenderedEmail",
    "SmtpNotificationSender",
    "TemplateError",
    "WebhookAlertSink",
    "alert_payload",
    "default_template_directory",
    "format_amount",
    "message_id",
]

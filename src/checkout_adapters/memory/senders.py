"""Senders that record what they were given, and senders that write it to a log.

The recording ones are the fakes tests assert on; the log ones are the
embedded default, where there is no mail server and no pager.
"""

from __future__ import annotations

import logging
from typing import Final

from attrs import define, field, frozen

from checkout_core.domain.messages import Alert, AlertSeverity, AnalyticsEvent, Notification

__all__ = [
    "LogAlertSink",
    "LogAnalyticsTracker",
    "LogNotificationSender",
    "RecordingAlertSink",
    "RecordingAnalyticsTracker",
    "RecordingNotificationSender",
]

_LEVELS: Final = {
    AlertSeverity.INFO: logging.INFO,
    AlertSeverity.WARNING: logging.WARNING,
    AlertSeverity.CRITICAL: logging.CRITICAL,
}


@define
class RecordingNotificationSender:
    """Keeps every notification it delivers in :attr:`sent`, and fails when told to.

    :meth:`fail_next` makes the next sends raise :class:`ConnectionError`, as
    a mail server that cannot be reached would, so retries can be tested.
    """

    sent: list[Notification] = field(factory=list)
    _failures_left: int = field(default=0, init=False)

    def send(self, notification: Notification) -> None:
        """Record ``notification``, or raise if told to fail this one."""
        if self._failures_left > 0:
            self._failures_left -= 1
            raise ConnectionError(f"the {notification.template!r} notification was not delivered")
        self.sent.append(notification)

    def fail_next(self, count: int = 1) -> None:
        """Make the next ``count`` sends raise :class:`ConnectionError`."""
        if count < 0:
            raise ValueError(f"cannot fail {count} sends")
        self._failures_left = count


@frozen
class LogNotificationSender:
    """Writes each notification to ``logger`` at INFO instead of sending it."""

    logger: logging.Logger = field(factory=lambda: logging.getLogger("checkout.notifications"))

    def send(self, notification: Notification) -> None:
        """Log ``notification``: its template, recipient, order and context."""
        self.logger.info(
            "notification %s to user %s about order %s: %s",
            notification.template,
            notification.user_id,
            notification.order_token,
            dict(notification.context),
        )


@define
class RecordingAnalyticsTracker:
    """Keeps every analytics event in :attr:`events`."""

    events: list[AnalyticsEvent] = field(factory=list)

    def track(self, event: AnalyticsEvent) -> None:
        """Record ``event``."""
        self.events.append(event)


@frozen
class LogAnalyticsTracker:
    """Writes each analytics event to ``logger`` at INFO: the embedded default's tracker."""

    logger: logging.Logger = field(factory=lambda: logging.getLogger("checkout.analytics"))

    def track(self, event: AnalyticsEvent) -> None:
        """Log ``event`` with its amount and attribution."""
        self.logger.info(
            "%s of order %s by user %s: %s %s %s",
            event.name,
            event.order_token,
            event.user_id,
            event.amount,
            event.currency,
            dict(event.properties),
        )


@define
class RecordingAlertSink:
    """Keeps every alert in :attr:`alerts`."""

    alerts: list[Alert] = field(factory=list)

    def send(self, alert: Alert) -> None:
        """Record ``alert``."""
        self.alerts.append(alert)


@frozen
class LogAlertSink:
    """Writes each alert to ``logger`` at the level of its severity."""

    logger: logging.Logger = field(factory=lambda: logging.getLogger("checkout.alerts"))

    def send(self, alert: Alert) -> None:
        """Log ``alert`` at INFO, WARNING or CRITICAL, as its severity says."""
        self.logger.log(
            _LEVELS.get(alert.severity, logging.WARNING),
            "alert (%s) %s: %s",
            alert.severity,
            alert.title,
            alert.detail,
            extra={"alert_occurred_at": alert.occurred_at.isoformat()},
        )

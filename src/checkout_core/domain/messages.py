"""What the checkout sends out besides money: notifications, analytics and alerts."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime

from attrs import field, frozen

__all__ = ["Alert", "AlertSeverity", "AnalyticsEvent", "Notification"]


def _frozen_mapping(
    values: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dict(values).items()))


@frozen
class Notification:
    """A message to a buyer, rendered by the sender from ``template`` and ``context``."""

    template: str
    user_id: str | None
    order_token: str
    context: tuple[tuple[str, str], ...] = field(factory=tuple, converter=_frozen_mapping)


@frozen
class AnalyticsEvent:
    """Something worth counting, such as a conversion, with the cart's attribution."""

    name: str
    occurred_at: datetime
    order_token: str
    user_id: str | None
    amount: int
    currency: str
    properties: tuple[tuple[str, str], ...] = field(factory=tuple, converter=_frozen_mapping)


class AlertSeverity(enum.StrEnum):
    """How urgently a person should look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@frozen
class Alert:
    """Something a person must look at: a dead letter, a payment stuck, a limit crossed."""

    severity: AlertSeverity
    title: str
    detail: str
    occurred_at: datetime

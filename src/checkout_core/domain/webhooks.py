"""The webhook inbox: every delivery a provider made, kept once, with what became of it.

Providers deliver at least once, out of order, and retry for hours. The
inbox records each delivery by ``(provider, event_id)`` in the same
transaction as its effect, so a repeat is recognised and acknowledged
without being applied twice, and a delivery the checkout could not match
to a payment is kept for reconciliation instead of being refused (a
refusal would only make the provider retry it for a day).
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

__all__ = ["InboxEntry", "InboxStatus"]


class InboxStatus(enum.StrEnum):
    """What became of a delivery."""

    APPLIED = "applied"
    """It changed a payment (and maybe its order)."""
    IGNORED = "ignored"
    """It was verified and recorded, but changed nothing (a stale or repeated report)."""
    UNMATCHED = "unmatched"
    """No payment answers to it: kept for reconciliation."""
    FLAGGED = "flagged"
    """Its amount or currency differs from the payment's: nothing was marked paid."""
    CLAIMED = "claimed"
    """A consumer is handling it now (since ``received_at``); another copy waits its turn."""


@frozen
class InboxEntry:
    """One delivery as recorded: its identity, its type, its raw body and its fate."""

    provider: str
    event_id: str
    type: str
    received_at: datetime
    status: InboxStatus
    body: str
    detail: str | None = None

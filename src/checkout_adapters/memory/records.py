"""Enrollments, idempotency keys, the webhook inbox and the outbox, in memory.

Like the other in-memory repositories (:mod:`checkout_adapters.memory.repositories`),
each reads the store's tables and writes through the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from attrs import evolve, frozen

from checkout_adapters.memory.store import Transaction, page_after
from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.idempotency import IdempotencyRecord, IdempotencyState
from checkout_core.domain.redelivery import RelayedEvent
from checkout_core.domain.webhooks import InboxEntry, InboxStatus

__all__ = [
    "InMemoryEnrollmentRepository",
    "InMemoryIdempotencyStore",
    "InMemoryOutbox",
    "InMemoryWebhookInbox",
]


@frozen
class InMemoryEnrollmentRepository:
    """Enrollments, one per (order, offering)."""

    _tx: Transaction

    def add_missing(self, enrollments: Sequence[Enrollment]) -> list[Enrollment]:
        """Store the enrollments whose (order, offering) is new; return them in the given order."""
        store = self._tx.store
        added: list[Enrollment] = []
        for enrollment in enrollments:
            key = enrollment.key
            if key in store.enrollments:
                continue
            self._tx.put(store.enrollments, key, enrollment)
            siblings = store.enrollment_keys_by_order.get(enrollment.order_token, ())
            self._tx.put(store.enrollment_keys_by_order, enrollment.order_token, (*siblings, key))
            added.append(enrollment)
        return added

    def for_order(self, order_token: str) -> list[Enrollment]:
        """The order's enrollments, in the order they were stored."""
        store = self._tx.store
        keys = store.enrollment_keys_by_order.get(order_token, ())
        return [store.enrollments[key] for key in keys]


@frozen
class InMemoryIdempotencyStore:
    """Idempotency records by key; a claim is exclusive because the store is held."""

    _tx: Transaction

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record of ``key``, if any."""
        return self._tx.store.idempotency.get(key)

    def claim(self, record: IdempotencyRecord, *, replacing: IdempotencyRecord | None) -> bool:
        """Store the in-progress ``record`` if the key is free or still holds ``replacing``."""
        if record.state is not IdempotencyState.IN_PROGRESS:
            raise ValueError(f"a claim on key {record.key!r} is an in-progress record")
        if replacing is not None and replacing.key != record.key:
            raise ValueError(f"a claim on key {record.key!r} cannot replace key {replacing.key!r}")
        records = self._tx.store.idempotency
        if records.get(record.key) != replacing:
            return False
        self._tx.put(records, record.key, record)
        return True

    def complete(self, record: IdempotencyRecord) -> None:
        """Store the completed ``record``, replacing its claim."""
        if record.state is not IdempotencyState.COMPLETED:
            raise ValueError(f"the record of key {record.key!r} is not completed")
        self._tx.put(self._tx.store.idempotency, record.key, record)

    def release(self, key: str, fingerprint: str) -> None:
        """Drop the in-progress claim on ``key`` made with ``fingerprint``, if it is there."""
        records = self._tx.store.idempotency
        stored = records.get(key)
        if (
            stored is not None
            and stored.state is IdempotencyState.IN_PROGRESS
            and stored.fingerprint == fingerprint
        ):
            self._tx.delete(records, key)


@frozen
class InMemoryWebhookInbox:
    """Webhook deliveries, once each by (provider, event id)."""

    _tx: Transaction

    def record(self, entry: InboxEntry) -> bool:
        """Record a delivery; ``False`` when it was recorded before."""
        key = (entry.provider, entry.event_id)
        if key in self._tx.store.inbox:
            return False
        self._tx.put(self._tx.store.inbox, key, entry)
        return True

    def mark(self, provider: str, event_id: str, status: InboxStatus, detail: str | None) -> None:
        """Say what became of a recorded delivery; an unknown one raises :class:`ValueError`."""
        key = (provider, event_id)
        entry = self._tx.store.inbox.get(key)
        if entry is None:
            raise ValueError(f"{provider} event {event_id} is not recorded")
        self._tx.put(self._tx.store.inbox, key, evolve(entry, status=status, detail=detail))

    def get(self, provider: str, event_id: str) -> InboxEntry | None:
        """The recorded delivery, if any."""
        return self._tx.store.inbox.get((provider, event_id))

    def get_many(self, provider: str, event_ids: Collection[str]) -> dict[str, InboxEntry]:
        """The recorded deliveries of ``provider`` among ``event_ids``, by event id."""
        inbox = self._tx.store.inbox
        found = ((event_id, inbox.get((provider, event_id))) for event_id in event_ids)
        return {event_id: entry for event_id, entry in found if entry is not None}

    def record_many(self, entries: Sequence[InboxEntry]) -> int:
        """Record deliveries, skipping those recorded before; return how many were new."""
        return sum(self.record(entry) for entry in entries)

    def mark_many(self, provider: str, event_ids: Collection[str], status: InboxStatus) -> int:
        """Give the recorded deliveries among ``event_ids`` ``status``; return how many."""
        inbox = self._tx.store.inbox
        marked = 0
        for event_id in set(event_ids):
            key = (provider, event_id)
            entry = inbox.get(key)
            if entry is not None:
                self._tx.put(inbox, key, evolve(entry, status=status, detail=None))
                marked += 1
        return marked

    def reclaim(self, provider: str, event_id: str, at: datetime) -> None:
        """Claim a recorded delivery again, since ``at``; an unknown one raises ValueError."""
        key = (provider, event_id)
        entry = self._tx.store.inbox.get(key)
        if entry is None:
            raise ValueError(f"{provider} event {event_id} is not recorded")
        claimed = evolve(entry, status=InboxStatus.CLAIMED, received_at=at)
        self._tx.put(self._tx.store.inbox, key, claimed)

    def stale_claims(  # noqa: PLR0913 - the port's signature
        self,
        provider: str,
        type: str,  # noqa: A002 - the entries' field is named type
        claimed_from: datetime,
        claimed_before: datetime,
        *,
        after: InboxEntry | None,
        limit: int,
    ) -> list[InboxEntry]:
        """Entries still claimed since a time in the window, oldest claim first."""
        claims = (
            entry
            for entry in self._tx.store.inbox.values()
            if entry.provider == provider
            and entry.type == type
            and entry.status is InboxStatus.CLAIMED
            and claimed_from <= entry.received_at < claimed_before
        )
        return page_after(claims, lambda entry: (entry.received_at, entry.event_id), after, limit)


@frozen
class InMemoryOutbox:
    """Events queued with the transaction that made them.

    An :class:`~checkout_adapters.memory.InMemoryRelay` marks the events it
    publishes sent (:attr:`InMemoryStore.outbox_sent`); the in-memory queue
    reads the events themselves and marks nothing.
    """

    _tx: Transaction

    def append(self, event: DomainEvent) -> None:
        """Queue ``event``; a rollback takes it out again."""
        store = self._tx.store
        self._tx.put(store.outbox, store.next_outbox_position(), event)

    def count_unsent(self, occurred_before: datetime) -> int:
        """0: the in-memory queue reads this outbox itself, so nothing waits for a relay."""
        del occurred_before
        return 0

    def relayed(self, name: str, order_tokens: Collection[str]) -> list[RelayedEvent]:
        """The events called ``name`` of these orders that an in-memory relay published."""
        wanted = set(order_tokens)
        return self._relayed(lambda event: event.name == name and event.order_token in wanted)

    def relayed_events(self, event_ids: Collection[str]) -> list[RelayedEvent]:
        """The events among ``event_ids`` that an in-memory relay published."""
        wanted = set(event_ids)
        return self._relayed(lambda event: event.event_id in wanted)

    def _relayed(self, wanted: Callable[[DomainEvent], bool]) -> list[RelayedEvent]:
        store = self._tx.store
        return [
            RelayedEvent(event.event_id, event.order_token, event.occurred_at, sent_at)
            for position, event in sorted(store.outbox.items())
            if wanted(event) and (sent_at := store.outbox_sent.get(position)) is not None
        ]

    def resend(self, events: Collection[RelayedEvent]) -> int:
        """Take the sent mark off ``events`` still marked sent when they were read."""
        store = self._tx.store
        sent_at = {event.event_id: event.sent_at for event in events}
        resent = 0
        for position, event in list(store.outbox.items()):
            read_at = sent_at.get(event.event_id)
            if read_at is not None and store.outbox_sent.get(position) == read_at:
                self._tx.delete(store.outbox_sent, position)
                resent += 1
        return resent

"""IdempotencyService: a request with a key runs once; its repeats get its answer."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from checkout_core.domain.idempotency import (
    IdempotencyRecord,
    Replay,
    decide,
    fingerprint,
    validate_key,
)
from checkout_core.errors import IdempotencyKeyInProgress
from checkout_core.ports import UnitOfWork
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings

__all__ = ["Claim", "IdempotencyService"]


@frozen
class Claim:
    """The right to run the request behind a key, held until completed or released."""

    record: IdempotencyRecord


@frozen
class IdempotencyService:
    """Checks keys (the seed's ``CheckKey``), claims them, and stores the answers."""

    ports: CheckoutPorts
    settings: CheckoutSettings

    def check_fast(self, key: str, request: Mapping[str, object]) -> Replay | None:
        """Answer from the idempotency cache when one is configured and knows the key.

        A completed answer is replayed without touching the database; a key
        marked in progress by another request is refused at once. Otherwise
        this caller marks the key in progress (for the lease) and goes on to
        the database, which stays the record of truth and decides.
        """
        cache = self.ports.idempotency_cache
        if cache is None:
            return None
        key = validate_key(key)
        request_print = fingerprint(request)
        done = cache.completed(key)
        if done is not None:
            decision = decide(done, request_print, self.ports.clock.now())
            if isinstance(decision, Replay):
                return decision
        if not cache.claim(key, request_print, self.settings.idempotency_lease):
            raise IdempotencyKeyInProgress
        return None

    def remember(self, record: IdempotencyRecord) -> None:
        """Keep a completed record in the idempotency cache, after its commit."""
        if self.ports.idempotency_cache is not None:
            self.ports.idempotency_cache.store(record)

    def forget(self, key: str) -> None:
        """Drop this caller's in-progress mark from the idempotency cache after a failure."""
        if self.ports.idempotency_cache is not None:
            self.ports.idempotency_cache.release(key)

    def begin(self, uow: UnitOfWork, key: str, request: Mapping[str, object]) -> Claim | Replay:
        """Claim ``key`` for ``request`` in ``uow``, or return the stored answer when it ran before.

        The claim belongs to the caller's transaction: it becomes visible when
        the caller commits, and vanishes if the caller rolls back. A
        concurrent request with the key waits for that transaction at the
        claim. Raises :class:`~checkout_core.errors.IdempotencyKeyMismatch` for
        a key used with another request and
        :class:`~checkout_core.errors.IdempotencyKeyInProgress` while the first
        request still runs.
        """
        key = validate_key(key)
        request_print = fingerprint(request)
        now = self.ports.clock.now()
        record = IdempotencyRecord.begin(
            key,
            request_print,
            now,
            ttl=self.settings.idempotency_ttl,
            lease=self.settings.idempotency_lease,
        )
        if uow.idempotency.claim(record, replacing=None):
            return Claim(record)
        existing = uow.idempotency.get(key)
        decision = decide(existing, request_print, now)
        if isinstance(decision, Replay):
            return decision
        if uow.idempotency.claim(record, replacing=existing):
            return Claim(record)
        # Another request took the expired or abandoned key over first.
        raise IdempotencyKeyInProgress

    def complete(self, uow: UnitOfWork, claim: Claim, status_code: int, body: str) -> None:
        """Store the answer under the key, in the caller's transaction."""
        uow.idempotency.complete(claim.record.complete(status_code, body))

    def answered(self, claim: Claim, body: str) -> IdempotencyRecord:
        """The completed record :meth:`complete` stored for ``claim`` with ``body``."""
        return claim.record.complete(200, body)

    def release(self, claim: Claim) -> None:
        """Give the key back after a failure, so that a retry runs the request again."""
        with self.ports.unit_of_work() as uow:
            uow.idempotency.release(claim.record.key, claim.record.fingerprint)
            uow.commit()

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

    def release(self, claim: Claim) -> None:
        """Give the key back after a failure, so that a retry runs the request again."""
        with self.ports.unit_of_work() as uow:
            uow.idempotency.release(claim.record.key, claim.record.fingerprint)
            uow.commit()

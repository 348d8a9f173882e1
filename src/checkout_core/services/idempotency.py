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

_CLAIM_ATTEMPTS = 3


@frozen
class Claim:
    """The right to run the request behind a key, held until completed or released."""

    record: IdempotencyRecord


@frozen
class IdempotencyService:
    """Checks keys (the seed's ``CheckKey``), claims them, and stores the answers."""

    ports: CheckoutPorts
    settings: CheckoutSettings

    def begin(self, key: str, request: Mapping[str, object]) -> Claim | Replay:
        """Claim ``key`` for ``request``, or the stored answer when it already ran.

        The claim is committed at once, so every concurrent request with the
        key sees it. Raises :class:`~checkout_core.errors.IdempotencyKeyMismatch`
        for a key used with another request and
        :class:`~checkout_core.errors.IdempotencyKeyInProgress` while the first
        request still runs.
        """
        key = validate_key(key)
        request_print = fingerprint(request)
        for _ in range(_CLAIM_ATTEMPTS):
            now = self.ports.clock.now()
            record = IdempotencyRecord.begin(
                key,
                request_print,
                now,
                ttl=self.settings.idempotency_ttl,
                lease=self.settings.idempotency_lease,
            )
            with self.ports.unit_of_work() as uow:
                if uow.idempotency.claim(record, replacing=None):
                    uow.commit()
                    return Claim(record)
                existing = uow.idempotency.get(key)
                decision = decide(existing, request_print, now)
                if isinstance(decision, Replay):
                    return decision
                if uow.idempotency.claim(record, replacing=existing):
                    uow.commit()
                    return Claim(record)
        # Lost every race for a key that others keep taking over: it is busy.
        raise IdempotencyKeyInProgress

    def complete(self, uow: UnitOfWork, claim: Claim, status_code: int, body: str) -> None:
        """Store the answer under the key, in the caller's transaction."""
        uow.idempotency.complete(claim.record.complete(status_code, body))

    def release(self, claim: Claim) -> None:
        """Give the key back after a failure, so that a retry runs the request again."""
        with self.ports.unit_of_work() as uow:
            uow.idempotency.release(claim.record.key, claim.record.fingerprint)
            uow.commit()

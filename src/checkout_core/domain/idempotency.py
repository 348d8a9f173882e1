"""Idempotency records and the rules that decide what a repeated request gets.

A client sends an idempotency key with a request that must not take effect
twice (creating an order, starting a payment). The first request with a key
begins an in-progress :class:`IdempotencyRecord`; when it finishes, the
record keeps the response, and a retry with the same key and the same
request gets that response again instead of a second order. :func:`decide`
holds the rules; storing records, and making "begin" atomic (an insert that
fails on a duplicate key), is the adapters' job.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final, TypeAlias

from attrs import evolve, field, frozen

from checkout_core.domain.validators import aware_state, require_aware
from checkout_core.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    InvalidRequest,
)

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "MAX_KEY_LENGTH",
    "Decision",
    "IdempotencyRecord",
    "IdempotencyState",
    "Proceed",
    "Replay",
    "decide",
    "fingerprint",
    "validate_key",
]

DEFAULT_TTL: Final = timedelta(hours=24)
"""How long a key is remembered after its first request."""

DEFAULT_LEASE: Final = timedelta(seconds=60)
"""How long an in-progress record holds its key before another caller may take it over."""

MAX_KEY_LENGTH: Final = 255
"""The longest idempotency key accepted, in characters."""

# Printable ASCII without the space: "!" (0x21) to "~" (0x7E).
_KEY_FIRST: Final = 0x21
_KEY_LAST: Final = 0x7E


class IdempotencyState(enum.StrEnum):
    """Where the request that first used a key has got to."""

    IN_PROGRESS = "in_progress"
    """The request is still running; its response is not known yet."""
    COMPLETED = "completed"
    """The request finished and its response is stored for replay."""


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it may be used as an idempotency key.

    A key is 1 to 255 printable ASCII characters without whitespace, which
    keeps it safe in a header, a log line and a cache key alike.

    Raises:
        IdempotencyKeyInvalid: the key is empty, too long, or has a character
            outside printable ASCII or a whitespace character.
    """
    if not isinstance(key, str):
        raise IdempotencyKeyInvalid(f"a key is a string, not {type(key).__name__}")
    if not key:
        raise IdempotencyKeyInvalid("the key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(
            f"the key has {len(key)} characters; at most {MAX_KEY_LENGTH} are allowed"
        )
    for position, character in enumerate(key):
        if not _KEY_FIRST <= ord(character) <= _KEY_LAST:
            raise IdempotencyKeyInvalid(
                f"character {position} ({character!r}) is not printable ASCII without whitespace"
            )
    return key


def fingerprint(request: Mapping[str, object]) -> str:
    """The SHA-256 hex digest of the canonical JSON form of ``request``.

    The canonical form sorts keys at every level and has no whitespace
    between tokens, so two requests that differ only in key order hash the
    same. Text is hashed as UTF-8, not as ASCII escapes. Values may be
    mappings with string keys, lists or tuples, strings, integers, booleans
    and ``None``.

    Raises:
        InvalidRequest: the request holds a float (money is never a float,
            and a float's text form is not canonical), a mapping key that is
            not a string, or a value of any other type.
    """
    canonical = json.dumps(
        _canonical(request, "request"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    try:
        encoded = canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest("the request holds text that is not valid Unicode") from None
    return hashlib.sha256(encoded).hexdigest()


def _canonical(value: object, path: str) -> object:
    # bool is an int subclass, so True and 1 stay distinct only because json writes "true".
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        raise InvalidRequest(f"{path} is a float; send amounts as integers or strings")
    if isinstance(value, Mapping):
        canonical: dict[str, object] = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise InvalidRequest(f"{path} has a key that is not a string: {name!r}")
            canonical[name] = _canonical(item, f"{path}.{name}")
        return canonical
    if isinstance(value, list | tuple):
        return [_canonical(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise InvalidRequest(f"{path} is a {type(value).__name__}, which has no canonical JSON form")


def _positive(duration: timedelta, name: str) -> None:
    if duration <= timedelta(0):
        raise ValueError(f"{name} must be positive, not {duration}")


@frozen
class IdempotencyRecord:
    """What is remembered about the first request made with an idempotency key.

    An in-progress record holds its key until ``locked_until`` (its lease);
    a completed one holds ``status_code`` and ``response_body`` for replay
    until ``expires_at``. Make one with :meth:`begin` and finish it with
    :meth:`complete`.
    """

    key: str
    fingerprint: str
    state: IdempotencyState
    created_at: datetime = field(validator=aware_state)
    expires_at: datetime = field(validator=aware_state)
    locked_until: datetime = field(validator=aware_state)
    status_code: int | None = None
    response_body: str | None = None
    """The stored response as text (``""`` for a response without a body)."""

    def __attrs_post_init__(self) -> None:
        # A record read back from storage must not be half completed.
        has_response = self.status_code is not None and self.response_body is not None
        if self.state is IdempotencyState.COMPLETED and not has_response:
            raise ValueError("a completed record needs a status code and a response body")
        if self.state is IdempotencyState.IN_PROGRESS and (
            self.status_code is not None or self.response_body is not None
        ):
            raise ValueError("an in-progress record has no response yet")

    @classmethod
    def begin(
        cls,
        key: str,
        fingerprint: str,
        now: datetime,
        ttl: timedelta = DEFAULT_TTL,
        lease: timedelta = DEFAULT_LEASE,
    ) -> IdempotencyRecord:
        """An in-progress record for a request that starts at ``now``.

        The key is remembered for ``ttl`` and held against other callers for
        ``lease``.

        Raises:
            IdempotencyKeyInvalid: ``key`` is not a valid key.
            ValueError: ``now`` is naive, or ``ttl`` or ``lease`` is not positive.
        """
        require_aware(now, "now")
        _positive(ttl, "ttl")
        _positive(lease, "lease")
        return cls(
            key=validate_key(key),
            fingerprint=fingerprint,
            state=IdempotencyState.IN_PROGRESS,
            created_at=now,
            expires_at=now + ttl,
            locked_until=now + lease,
        )

    def complete(self, status_code: int, response_body: str) -> IdempotencyRecord:
        """This record, completed with the response to replay.

        Completing a record twice is a programming error, not a business
        outcome, so it raises :class:`ValueError` rather than a
        :class:`~checkout_core.errors.CheckoutError`: a second completion
        would silently replace the response a client may already have seen.

        Raises:
            ValueError: the record is already completed, or ``status_code``
                is not an HTTP status (100 to 599).
        """
        if self.state is IdempotencyState.COMPLETED:
            raise ValueError(f"the record for key {self.key!r} is already completed")
        if isinstance(status_code, bool) or not 100 <= status_code <= 599:
            raise ValueError(f"{status_code!r} is not an HTTP status code")
        return evolve(
            self,
            state=IdempotencyState.COMPLETED,
            status_code=status_code,
            response_body=response_body,
        )

    def is_expired(self, now: datetime) -> bool:
        """Whether the key has been forgotten at ``now`` and may be used afresh."""
        return now >= self.expires_at

    def is_abandoned(self, now: datetime) -> bool:
        """Whether this record is still in progress after its lease ran out at ``now``.

        Its owner may have died (a crash, a deploy) or only be slow; either
        way the key is no longer held for it.
        """
        return self.state is IdempotencyState.IN_PROGRESS and now >= self.locked_until


@frozen
class Proceed:
    """Run the request: the key is new, forgotten, or abandoned by its owner.

    The caller begins a new record (:meth:`IdempotencyRecord.begin`) and
    stores it in place of any old one. When an old record existed, the store
    must replace it only if it is unchanged, so that of two callers taking
    over the same key only one wins.
    """


@frozen
class Replay:
    """Answer with the stored response: the same request already completed."""

    record: IdempotencyRecord = field()

    @record.validator
    def _completed(self, _attribute: object, record: IdempotencyRecord) -> None:
        if record.state is not IdempotencyState.COMPLETED:
            raise ValueError("only a completed record can be replayed")

    @property
    def status_code(self) -> int:
        """The HTTP status of the stored response."""
        assert self.record.status_code is not None  # noqa: S101 - guaranteed by the validator
        return self.record.status_code

    @property
    def response_body(self) -> str:
        """The stored response body, as text."""
        assert self.record.response_body is not None  # noqa: S101 - guaranteed by the validator
        return self.record.response_body


Decision: TypeAlias = Proceed | Replay
"""What :func:`decide` tells a caller to do; callers ``match`` on it."""


def decide(existing: IdempotencyRecord | None, fingerprint: str, now: datetime) -> Decision:
    """Decide what a request with a key and ``fingerprint`` gets at ``now``.

    The rules, in order:

    1. no record for the key, or an expired one: :class:`Proceed`;
    2. a record of a different request: :class:`IdempotencyKeyMismatch`;
    3. a record still in progress within its lease: :class:`IdempotencyKeyInProgress`;
       past its lease: :class:`Proceed`, and the caller takes the key over;
    4. a completed record: :class:`Replay` of its response.

    The lease exists because an in-progress record whose owner died would
    otherwise block its key until it expires a day later, and the client
    retrying that very request could not complete it.

    Raises:
        IdempotencyKeyMismatch: the key was used with a different request.
        IdempotencyKeyInProgress: the first request with the key is still running.
        ValueError: ``now`` is naive.
    """
    require_aware(now, "now")
    if existing is None or existing.is_expired(now):
        return Proceed()
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyMismatch(f"key {existing.key!r} was first used with another request")
    if existing.state is IdempotencyState.IN_PROGRESS:
        if existing.is_abandoned(now):
            return Proceed()
        raise IdempotencyKeyInProgress(
            f"key {existing.key!r} is held until {existing.locked_until.isoformat()}"
        )
    return Replay(existing)

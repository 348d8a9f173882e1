"""The production message queue: Redis Streams, one stream of events read by consumer groups.

Keys, for the stream ``checkout:events`` and a group ``enrollment``:

* ``checkout:events``: every published event, one entry each, with the
  fields ``name`` and ``event`` (the event as JSON, written by the SQL
  adapter's converter, so an event reads back the same from either). Each
  consumer group is a Redis consumer group on it, created on first use
  from id ``0`` (``XGROUP CREATE ... MKSTREAM``): a group that starts late
  still gets every event the stream holds.
* ``checkout:events:due:{enrollment}``, a sorted set: copies of messages the
  group will retry, scored by the time (ms since the epoch, by the injected
  clock) they are due.
* ``checkout:events:retry:{enrollment}``, a stream only this group reads
  (a consumer group of the same name): the copies whose time came, and the
  dead letters replayed, each with an ``attempt`` field.
* ``checkout:events:dead:{enrollment}``, a stream of the group's dead
  letters: ``name``, ``event``, ``attempts``, ``error``, ``failed_at``, and
  ``message``, the id of the delivery that failed.

The group's own keys share the hash tag ``{<group>}`` and so one slot on
Redis Cluster: moving due copies to the retry stream, and replaying dead
letters, are each one Lua script over two of them. The main stream is on a
slot of its own; a step that touches both (acknowledging a message after
copying it to the due set or to the dead letters) writes the copy first and
acknowledges second, so a crash in between delivers the message again
rather than losing it.

Delivering (:meth:`RedisStreamQueue.receive`), first what is due again,
then what is new:

1. copies in the due set whose time has come move to the retry stream;
2. ``XAUTOCLAIM`` takes the entries of the retry stream, then of the main
   stream, that were delivered to a consumer of the group and not
   acknowledged for longer than ``visibility`` (Redis's own idle time, in
   real time): their consumer died or is stuck;
3. ``XREADGROUP ... >`` reads what the group never had: the retry stream's
   new copies, then new events of the main stream (blocking up to ``wait``
   for the latter when nothing else was found).

The ``attempt`` of a delivery is derived from Redis's delivery counter: an
entry read with ``>`` is delivered for the first time (1); an entry taken by
``XAUTOCLAIM`` has had its counter raised by the claim, and its count is
read with ``XPENDING``. For a copy in the retry stream, the count adds to
the attempt the copy started at (its ``attempt`` field): ``attempt +
deliveries - 1``.

:meth:`~RedisStreamQueue.retry_later` adds a copy starting at the next
attempt to the due set and acknowledges the delivery; the copy reaches only
this group, by its retry stream, once due. :meth:`~RedisStreamQueue.replay`
moves dead letters to the retry stream as attempt 1: re-adding them to the
main stream would deliver them again to every group. The delivery of a
copy has the id ``retry:<entry id>``; acknowledging it also deletes it (the
retry stream is the group's alone). Entries of the main stream are never
deleted by the queue: they belong to every group; trim the stream
(``XTRIM ... MINID``) once every group is past them.

``receive`` may block for ``wait``: give the queue a client whose socket
timeout is longer than the longest wait.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from attrs import Factory, define, field
from redis import Redis
from redis.commands.core import Script
from redis.exceptions import ResponseError

from checkout_adapters.sqlalchemy.serialization import dump_event, load_event
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.ports import Clock

__all__ = ["RedisStreamQueue"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
_RETRY_PREFIX: Final = "retry:"
_STREAM_ID: Final = re.compile(r"\d+-\d+")
_FIRST: Final = "0-0"
_CLAIM_CALLS: Final = 3
"""At most this many ``XAUTOCLAIM`` calls per stream and receive (each scans 10 per claim)."""

# KEYS: the due set, the retry stream. ARGV: now (ms), how many at most.
# Moves the copies due by now to the retry stream; returns how many.
_PROMOTE: Final = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
    local copy = cjson.decode(member)
    redis.call('XADD', KEYS[2], '*', 'name', copy['name'], 'event', copy['event'],
        'attempt', copy['attempt'])
    redis.call('ZREM', KEYS[1], member)
end
return #due
"""

# KEYS: the dead-letter stream, the retry stream. ARGV: the ids to replay, or none for all.
# Moves each dead letter to the retry stream as attempt 1; returns how many.
_REPLAY: Final = """
local letters
if #ARGV == 0 then
    letters = redis.call('XRANGE', KEYS[1], '-', '+')
else
    letters = {}
    for _, id in ipairs(ARGV) do
        local found = redis.call('XRANGE', KEYS[1], id, id)
        if #found > 0 then
            table.insert(letters, found[1])
        end
    end
end
for _, letter in ipairs(letters) do
    local fields = letter[2]
    local name, event
    for i = 1, #fields, 2 do
        if fields[i] == 'name' then
            name = fields[i + 1]
        elseif fields[i] == 'event' then
            event = fields[i + 1]
        end
    end
    redis.call('XADD', KEYS[2], '*', 'name', name, 'event', event, 'attempt', '1')
    redis.call('XDEL', KEYS[1], letter[1])
end
return #letters
"""


def _text(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


def _whole_millis(span: timedelta) -> int:
    return max(1, span // _MILLISECOND)


def _fields(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in raw.items()}


def _event(fields: Mapping[str, str]) -> DomainEvent:
    return load_event(fields["name"], json.loads(fields["event"]))


def _stream_order(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence)


def _entries(response: Any) -> list[tuple[str, dict[str, str]]]:  # noqa: ANN401 - XREADGROUP
    """The entries of the one stream an ``XREADGROUP`` read, in RESP2's shape or RESP3's."""
    if not response:
        return []
    streams = response.values() if isinstance(response, dict) else [row[1] for row in response]
    entries = []
    for stream in streams:
        for entry_id, raw in stream:
            if raw:
                entries.append((_text(entry_id), _fields(raw)))
    return entries


def _check_receive(limit: int, wait: timedelta, visibility: timedelta) -> None:
    if limit < 1:
        raise ValueError(f"receive takes at least one message, not {limit}")
    if wait < timedelta(0):
        raise ValueError(f"a wait is not negative, not {wait}")
    if visibility <= timedelta(0):
        raise ValueError(f"a visibility is positive, not {visibility}")


@define
class RedisStreamQueue:
    """A :class:`~checkout_core.ports.MessageQueue` on the Redis stream ``stream`` of ``client``.

    Retries are timed by ``clock``; the ``visibility`` of a delivery is
    measured by Redis (``XAUTOCLAIM``'s idle time).
    """

    client: Redis
    stream: str = field(default="checkout:events", kw_only=True)
    clock: Clock = field(kw_only=True)
    _promote: Script = field(
        default=Factory(lambda self: self.client.register_script(_PROMOTE), takes_self=True),
        init=False,
        repr=False,
    )
    _replay: Script = field(
        default=Factory(lambda self: self.client.register_script(_REPLAY), takes_self=True),
        init=False,
        repr=False,
    )
    _groups: set[str] = field(factory=set, init=False, repr=False)
    _claim_from: dict[tuple[str, str], str] = field(factory=dict, init=False, repr=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def publish(self, event: DomainEvent) -> None:
        """Append ``event`` to the stream (``XADD``): every group will get it."""
        self.client.xadd(
            self.stream,
            {
                "name": event.name,
                "event": json.dumps(dump_event(event), separators=(",", ":"), ensure_ascii=False),
            },
        )

    def receive(
        self, group: str, consumer: str, *, limit: int, wait: timedelta, visibility: timedelta
    ) -> list[Delivery]:
        """Up to ``limit`` deliveries: due copies and unacknowledged ones first, then new events."""
        _check_receive(limit, wait, visibility)
        self._ensure_group(group)
        try:
            return self._receive(group, consumer, limit, wait, visibility)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # The stream was deleted under the group (a flushed Redis): make both again.
            with self._mutex:
                self._groups.discard(group)
            self._ensure_group(group)
            return self._receive(group, consumer, limit, wait, visibility)

    def ack(self, group: str, delivery: Delivery) -> None:
        """``XACK`` the entry; a copy in the group's retry stream is deleted too."""
        message_id = delivery.message_id
        if message_id.startswith(_RETRY_PREFIX):
            entry_id = message_id.removeprefix(_RETRY_PREFIX)
            retry = self._retry_key(group)
            with self.client.pipeline(transaction=True) as pipe:
                pipe.xack(retry, group, entry_id)
                pipe.xdel(retry, entry_id)
                pipe.execute()
        else:
            self.client.xack(self.stream, group, message_id)

    def ack_many(self, group: str, deliveries: Sequence[Delivery]) -> None:
        """:meth:`ack` each of ``deliveries``: one ``XACK`` for the stream's entries."""
        fresh = [d.message_id for d in deliveries if not d.message_id.startswith(_RETRY_PREFIX)]
        copies = [
            d.message_id.removeprefix(_RETRY_PREFIX)
            for d in deliveries
            if d.message_id.startswith(_RETRY_PREFIX)
        ]
        if not copies:
            if fresh:
                self.client.xack(self.stream, group, *fresh)
            return
        retry = self._retry_key(group)
        with self.client.pipeline(transaction=True) as pipe:
            if fresh:
                pipe.xack(self.stream, group, *fresh)
            pipe.xack(retry, group, *copies)
            pipe.xdel(retry, *copies)
            pipe.execute()

    def retry_later(self, group: str, delivery: Delivery, delay: timedelta, error: str) -> None:
        """Schedule a copy at the next attempt, due after ``delay`` by the clock; ack this one.

        The copy waiting in the due set carries ``error``, for whoever looks.
        """
        if delay < timedelta(0):
            raise ValueError(f"a delay is not negative, not {delay}")
        copy = json.dumps(
            {
                "name": delivery.event.name,
                "event": json.dumps(
                    dump_event(delivery.event), separators=(",", ":"), ensure_ascii=False
                ),
                "attempt": str(delivery.attempt + 1),
                "error": error,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self.client.zadd(self._due_key(group), {copy: _millis(self.clock.now() + delay)})
        self.ack(group, delivery)

    def dead_letter(self, group: str, delivery: Delivery, error: str) -> None:
        """Add the message to the group's dead letters with ``error``; then ack it."""
        self.client.xadd(
            self._dead_key(group),
            {
                "name": delivery.event.name,
                "event": json.dumps(
                    dump_event(delivery.event), separators=(",", ":"), ensure_ascii=False
                ),
                "attempts": delivery.attempt,
                "error": error,
                "failed_at": self.clock.now().isoformat(),
                "message": delivery.message_id,
            },
        )
        self.ack(group, delivery)

    def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The group's dead letters, oldest first (``XRANGE`` of its dead-letter stream)."""
        letters = []
        for entry_id, raw in self.client.xrange(self._dead_key(group), count=limit) or []:
            if entry_id is None or not raw:
                continue
            fields = _fields(raw)
            letters.append(
                DeadLetter(
                    message_id=_text(entry_id),
                    event=_event(fields),
                    attempts=int(fields["attempts"]),
                    error=fields["error"],
                    failed_at=datetime.fromisoformat(fields["failed_at"]),
                )
            )
        return letters

    def replay(self, group: str, message_ids: Collection[str] | None = None) -> int:
        """Move dead letters to the group's retry stream as attempt 1; return how many.

        Only this group gets them again. Ids that name no dead letter of
        the group are passed over.
        """
        self._ensure_group(group)
        if message_ids is None:
            ids: list[str] = []
        else:
            ids = sorted(
                {each for each in message_ids if _STREAM_ID.fullmatch(each)}, key=_stream_order
            )
            if not ids:
                return 0
        replayed = self._replay(keys=[self._dead_key(group), self._retry_key(group)], args=ids)
        return int(replayed)

    def _receive(
        self, group: str, consumer: str, limit: int, wait: timedelta, visibility: timedelta
    ) -> list[Delivery]:
        retry = self._retry_key(group)
        idle = _whole_millis(visibility)
        self._promote(keys=[self._due_key(group), retry], args=[_millis(self.clock.now()), limit])
        deliveries = self._claim(retry, group, consumer, idle, limit)
        deliveries += self._read(retry, group, consumer, limit - len(deliveries))
        deliveries += self._claim(self.stream, group, consumer, idle, limit - len(deliveries))
        block = _whole_millis(wait) if not deliveries and wait > timedelta(0) else None
        deliveries += self._read(self.stream, group, consumer, limit - len(deliveries), block=block)
        return deliveries

    def _claim(self, key: str, group: str, consumer: str, idle: int, limit: int) -> list[Delivery]:
        """Take the group's entries of ``key`` idle longer than ``idle`` ms (``XAUTOCLAIM``)."""
        claimed: list[tuple[str, dict[str, str]]] = []
        if limit < 1:
            return []
        with self._mutex:
            start = self._claim_from.get((key, group), _FIRST)
        for _ in range(_CLAIM_CALLS):
            if len(claimed) >= limit:
                break
            reply = self.client.xautoclaim(
                key, group, consumer, idle, start_id=start, count=limit - len(claimed)
            )
            for entry_id, raw in reply[1]:
                if raw:
                    claimed.append((_text(entry_id), _fields(raw)))
            restarted = start == _FIRST
            start = _text(reply[0])
            if start == _FIRST and restarted:
                break  # the whole pending list was looked at
        with self._mutex:
            self._claim_from[key, group] = start
        if not claimed:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for entry_id, _ in claimed:
                pipe.xpending_range(key, group, min=entry_id, max=entry_id, count=1)
            pending = pipe.execute()
        deliveries = []
        for (entry_id, fields), found in zip(claimed, pending, strict=True):
            # Acknowledged meanwhile (by a consumer that was slow, not dead): claimed once more.
            deliveries_so_far = int(found[0]["times_delivered"]) if found else 2
            deliveries.append(self._delivery(key, entry_id, fields, deliveries_so_far))
        return deliveries

    def _read(
        self,
        key: str,
        group: str,
        consumer: str,
        limit: int,
        *,
        block: int | None = None,
    ) -> list[Delivery]:
        """Read the entries of ``key`` the group never had (``XREADGROUP ... >``)."""
        if limit < 1:
            return []
        response = self.client.xreadgroup(group, consumer, {key: ">"}, count=limit, block=block)
        return [self._delivery(key, entry_id, fields, 1) for entry_id, fields in _entries(response)]

    def _delivery(
        self, key: str, entry_id: str, fields: Mapping[str, str], deliveries: int
    ) -> Delivery:
        """The delivery of an entry of ``key`` delivered ``deliveries`` times so far."""
        if key != self.stream:  # a copy in a retry stream
            return Delivery(
                f"{_RETRY_PREFIX}{entry_id}",
                _event(fields),
                int(fields["attempt"]) + deliveries - 1,
            )
        return Delivery(entry_id, _event(fields), deliveries)

    def _ensure_group(self, group: str) -> None:
        if "{" in group or "}" in group or not group:
            raise ValueError(f"a group is named without braces, not {group!r}")
        with self._mutex:
            if group in self._groups:
                return
        for key in (self.stream, self._retry_key(group)):
            try:
                self.client.xgroup_create(key, group, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        with self._mutex:
            self._groups.add(group)

    def _due_key(self, group: str) -> str:
        return f"{self.stream}:due:{{{group}}}"

    def _retry_key(self, group: str) -> str:
        return f"{self.stream}:retry:{{{group}}}"

    def _dead_key(self, group: str) -> str:
        return f"{self.stream}:dead:{{{group}}}"

"""Razorpay's JSON entities (order, payment, refund), read into typed records.

The SDK hands back whatever JSON the API answered, untyped. Everything this
adapter reads of it goes through the readers here, which check each field's
type and raise :class:`MalformedEntity` when it is not what Razorpay
documents; the API client turns that into a
:class:`~checkout_core.domain.gateway.GatewayError`, the webhook reader into
an :class:`~checkout_core.errors.InvalidRequest`.

Razorpay writes an empty ``notes`` as ``[]`` rather than ``{}``, and times as
Unix seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeAlias

from attrs import frozen

from checkout_core.domain.money import Currency
from checkout_core.errors import UnknownCurrency

__all__ = [
    "JsonObject",
    "MalformedEntity",
    "RazorpayOrder",
    "RazorpayPayment",
    "RazorpayRefund",
    "currency",
    "integer",
    "json_object",
    "note",
    "optional_text",
    "text",
    "timestamp",
]

JsonObject: TypeAlias = Mapping[str, object]
"""A JSON object as ``json.loads`` gives it: values still unchecked."""

NOTE_PAYMENT_ID = "payment_id"
"""The note that carries the checkout's payment id, on orders and refunds alike."""


class MalformedEntity(ValueError):
    """A Razorpay answer or payload that is not shaped as Razorpay documents it."""


@frozen
class RazorpayOrder:
    """An order (``order_...``): what the buyer pays through, the session's reference."""

    id: str
    amount: int
    amount_paid: int
    currency: Currency
    status: str
    checkout_payment_id: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, value: object) -> RazorpayOrder:
        """Read an order entity; raises :class:`MalformedEntity`."""
        entity = json_object(value, "order")
        return cls(
            id=text(entity, "id"),
            amount=integer(entity, "amount"),
            amount_paid=integer(entity, "amount_paid", default=0),
            currency=currency(entity),
            status=text(entity, "status"),
            checkout_payment_id=note(entity, NOTE_PAYMENT_ID),
            created_at=timestamp(entity, "created_at"),
        )


@frozen
class RazorpayPayment:
    """A payment (``pay_...``): one attempt by the buyer to pay an order."""

    id: str
    order_id: str | None
    amount: int
    currency: Currency
    status: str
    captured: bool
    error_code: str | None
    error_description: str | None
    checkout_payment_id: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, value: object) -> RazorpayPayment:
        """Read a payment entity; raises :class:`MalformedEntity`."""
        entity = json_object(value, "payment")
        captured = entity.get("captured", False)
        if not isinstance(captured, bool):
            raise MalformedEntity(f"a payment's captured is a boolean, not {captured!r}")
        return cls(
            id=text(entity, "id"),
            order_id=optional_text(entity, "order_id"),
            amount=integer(entity, "amount"),
            currency=currency(entity),
            status=text(entity, "status"),
            captured=captured,
            error_code=optional_text(entity, "error_code"),
            error_description=optional_text(entity, "error_description"),
            checkout_payment_id=note(entity, NOTE_PAYMENT_ID),
            created_at=timestamp(entity, "created_at"),
        )

    @property
    def was_captured(self) -> bool:
        """Whether the money was taken (a refunded payment was captured first)."""
        return self.captured or self.status in {"captured", "refunded"}


@frozen
class RazorpayRefund:
    """A refund (``rfnd_...``) of some or all of a captured payment."""

    id: str
    payment_id: str
    amount: int
    currency: Currency
    status: str
    checkout_payment_id: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, value: object) -> RazorpayRefund:
        """Read a refund entity; raises :class:`MalformedEntity`."""
        entity = json_object(value, "refund")
        return cls(
            id=text(entity, "id"),
            payment_id=text(entity, "payment_id"),
            amount=integer(entity, "amount"),
            currency=currency(entity),
            status=text(entity, "status"),
            checkout_payment_id=note(entity, NOTE_PAYMENT_ID),
            created_at=timestamp(entity, "created_at"),
        )


def json_object(value: object, what: str) -> JsonObject:
    """``value`` as a JSON object whose keys are strings; raises :class:`MalformedEntity`."""
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise MalformedEntity(f"the {what} is not a JSON object")
    return value


def text(entity: JsonObject, name: str) -> str:
    """The non-empty string field ``name``; raises :class:`MalformedEntity`."""
    value = entity.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedEntity(f"{name} is a non-empty string, not {value!r}")
    return value


def optional_text(entity: JsonObject, name: str) -> str | None:
    """The string field ``name``, or ``None`` when it is absent, null or empty."""
    value = entity.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedEntity(f"{name} is a string, not {value!r}")
    return value


def integer(entity: JsonObject, name: str, *, default: int | None = None) -> int:
    """The integer field ``name`` (``default`` when absent); raises :class:`MalformedEntity`."""
    value = entity.get(name, default)
    # type() rather than isinstance(): JSON's true is no amount.
    if type(value) is not int:
        raise MalformedEntity(f"{name} is an integer, not {value!r}")
    return value


def timestamp(entity: JsonObject, name: str) -> datetime | None:
    """The Unix time in field ``name`` as an aware UTC datetime, or ``None`` when absent."""
    value = entity.get(name)
    if value is None:
        return None
    if type(value) is not int:
        raise MalformedEntity(f"{name} is a Unix time in seconds, not {value!r}")
    return datetime.fromtimestamp(value, UTC)


def currency(entity: JsonObject) -> Currency:
    """The entity's ``currency``; raises :class:`MalformedEntity` for an unknown one."""
    code = text(entity, "currency")
    try:
        return Currency.of(code)
    except UnknownCurrency as exc:
        raise MalformedEntity(f"currency {code!r} is not one the checkout knows") from exc


def note(entity: JsonObject, name: str) -> str | None:
    """The string note ``name``, or ``None`` (Razorpay writes empty notes as ``[]``)."""
    notes = entity.get("notes")
    if not isinstance(notes, Mapping):
        return None
    value = notes.get(name)
    return value if isinstance(value, str) and value else None

"""The checks the domain's values share: amounts and timezone-aware times.

Each rule is written once here, so a payment, an order and a coupon refuse a
bad amount or a naive time alike. The attrs validators take
``(instance, attribute, value)`` with ``attribute`` and ``value`` typed after
the field they guard, which is what mypy's attrs plugin checks them against.

An amount is an ``int`` of the minor unit and nothing else:
``type(value) is int`` refuses ``True`` and ``IntEnum`` members, which
``isinstance`` would let through.

Times come in two kinds, told apart by who made the mistake:

* a time a caller sends (on a payment, an order, an enrollment) raises
  :class:`~checkout_core.errors.InvalidRequest`, like any bad input;
* a time the host's own code hands over (a clock reading, an idempotency
  record or a circuit breaker read back from storage) raises
  :class:`ValueError`: a naive one there is a programming error, not a
  business outcome.
"""

from __future__ import annotations

from datetime import datetime

from attrs import Attribute

from checkout_core.errors import InvalidAmount, InvalidRequest

__all__ = [
    "aware",
    "aware_state",
    "is_amount",
    "is_positive_amount",
    "non_negative",
    "optional_aware_state",
    "optional_non_negative",
    "optional_positive",
    "require_aware",
]


def is_amount(value: object) -> bool:
    """Whether ``value`` is an amount: an ``int`` (no bool, no ``IntEnum``) of zero or more."""
    return type(value) is int and value >= 0


def is_positive_amount(value: object) -> bool:
    """Whether ``value`` is an amount above zero."""
    return type(value) is int and value > 0


def non_negative(_instance: object, attribute: Attribute[int], value: int) -> None:
    """Refuse a field's value that is not an amount of zero or more.

    Raises:
        InvalidAmount: ``value`` is not an ``int`` or is below zero.
    """
    if not is_amount(value):
        raise InvalidAmount(f"{attribute.name} is a non-negative integer, not {value!r}")


def optional_non_negative(
    _instance: object, attribute: Attribute[int | None], value: int | None
) -> None:
    """Refuse a field's value that is neither ``None`` nor an amount of zero or more.

    Raises:
        InvalidAmount: ``value`` is not ``None``, and not an ``int`` or below zero.
    """
    if value is not None and not is_amount(value):
        raise InvalidAmount(f"{attribute.name} is a non-negative integer or None, not {value!r}")


def optional_positive(
    _instance: object, attribute: Attribute[int | None], value: int | None
) -> None:
    """Refuse a field's value that is neither ``None`` nor an amount above zero.

    Raises:
        InvalidAmount: ``value`` is not ``None``, and not an ``int`` or not above zero.
    """
    if value is not None and not is_positive_amount(value):
        raise InvalidAmount(f"{attribute.name} is a positive integer or None, not {value!r}")


def _is_naive(moment: datetime) -> bool:
    return moment.tzinfo is None or moment.utcoffset() is None


def aware(_instance: object, attribute: Attribute[datetime], value: datetime) -> None:
    """Refuse a naive time a caller sent.

    Raises:
        InvalidRequest: ``value`` has no timezone, or one without an offset.
    """
    if _is_naive(value):
        raise InvalidRequest(f"{attribute.name} must be timezone-aware, not {value!r}")


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive time the host's code passed as ``name`` (a clock reading, stored state).

    Raises:
        ValueError: ``moment`` has no timezone, or one without an offset.
    """
    if _is_naive(moment):
        raise ValueError(f"{name} must be a timezone-aware datetime")


def aware_state(_instance: object, attribute: Attribute[datetime], value: datetime) -> None:
    """Refuse a naive time in a field of stored state, as :func:`require_aware` does.

    Raises:
        ValueError: ``value`` has no timezone, or one without an offset.
    """
    require_aware(value, attribute.name)


def optional_aware_state(
    _instance: object,
    attribute: Attribute[datetime | None],
    # object, not datetime | None: state read back from storage may hold anything,
    # and the type is checked here.
    value: object,
) -> None:
    """Refuse a field of stored state that is neither ``None`` nor a timezone-aware time.

    Raises:
        TypeError: ``value`` is neither ``None`` nor a datetime.
        ValueError: ``value`` is a naive datetime.
    """
    if value is not None:
        if not isinstance(value, datetime):
            raise TypeError(f"{attribute.name} must be a datetime or None")
        require_aware(value, attribute.name)

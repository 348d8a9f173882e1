"""Money in integer minor units, rates, and the one place where rounding happens.

An amount is always an ``int`` of the currency's minor unit (paise, cents,
fils); floats are refused wherever an amount or a rate comes in. Every
division that may leave a remainder goes through :func:`divide` with an
explicit :class:`Rounding`, and every split of an amount goes through
:func:`allocate`, so no minor unit is ever created or lost.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Final

from attrs import field, frozen

from checkout_core.errors import CurrencyMismatch, InvalidAmount, InvalidRate, UnknownCurrency

__all__ = ["Currency", "Money", "Rate", "Rounding", "allocate", "divide", "divide_each"]


class Rounding(enum.StrEnum):
    """How a quotient with a remainder becomes an integer."""

    HALF_UP = "half_up"
    """Halves away from zero: the commercial default."""
    HALF_EVEN = "half_even"
    """Halves to the even neighbour (banker's rounding)."""
    DOWN = "down"
    """Towards zero."""
    UP = "up"
    """Away from zero."""


def divide(  # noqa: PLR0911 - one return per rounding case reads clearest
    numerator: int, denominator: int, rounding: Rounding = Rounding.HALF_UP
) -> int:
    """Return ``numerator / denominator`` rounded to an integer as ``rounding`` says.

    ``denominator`` must be positive; ``numerator`` may have either sign.
    """
    if denominator <= 0:
        raise InvalidAmount(f"cannot divide by {denominator}")
    if rounding is Rounding.HALF_UP and numerator >= 0:
        # The common case in one step: floor(n/d + 1/2).
        return (2 * numerator + denominator) // (2 * denominator)
    quotient, remainder = divmod(numerator, denominator)
    if remainder == 0:
        return quotient
    # divmod floors, so quotient is the lower neighbour and quotient + 1 the upper.
    if rounding is Rounding.DOWN:
        return quotient if numerator > 0 else quotient + 1
    if rounding is Rounding.UP:
        return quotient + 1 if numerator > 0 else quotient
    twice = 2 * remainder
    if twice < denominator:
        return quotient
    if twice > denominator:
        return quotient + 1
    if rounding is Rounding.HALF_EVEN:
        return quotient if quotient % 2 == 0 else quotient + 1
    return quotient + 1 if numerator > 0 else quotient


def divide_each(
    numerators: Sequence[int],
    denominator: int,
    rounding: Rounding = Rounding.HALF_UP,
    *,
    scale: int = 1,
) -> list[int]:
    """``numerator * scale / denominator`` for each of ``numerators``, rounded as :func:`divide`.

    One pass over a list instead of one call per item: the engine prices
    every line of a cart this way.
    """
    if denominator <= 0:
        raise InvalidAmount(f"cannot divide by {denominator}")
    if rounding is Rounding.HALF_UP and scale >= 0 and (not numerators or min(numerators) >= 0):
        twice = 2 * denominator
        double_scale = 2 * scale
        return [(double_scale * numerator + denominator) // twice for numerator in numerators]
    return [divide(numerator * scale, denominator, rounding) for numerator in numerators]


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` over ``weights`` by the largest-remainder method.

    The shares add up to ``amount`` exactly and each is less than one minor
    unit away from its exact proportional value. Ties in the remainders go to
    the earliest weight, so the result is deterministic.
    """
    if not weights:
        raise InvalidAmount("cannot allocate over no weights")
    if min(weights) < 0:
        raise InvalidAmount("allocation weights must not be negative")
    total = sum(weights)
    if total == 0:
        if amount == 0:
            return [0] * len(weights)
        raise InvalidAmount("cannot allocate an amount over weights that are all zero")
    if len(weights) == 1:
        return [amount]
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    shares = [magnitude * weight // total for weight in weights]
    left = magnitude - sum(shares)
    if left:
        remainders = [magnitude * weight % total for weight in weights]
        # sorted() is stable and reverse=True keeps equal keys in their order,
        # so ties go to the earliest weight.
        for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
            shares[index] += 1
    if sign < 0:
        return [-share for share in shares]
    return shares


def _exact_int(value: int) -> int:
    # type() rather than isinstance(): True is an int to isinstance, and an
    # IntEnum member is not an amount either.
    if type(value) is not int:
        raise InvalidAmount(f"amounts are integers of the minor unit, not {type(value).__name__}")
    return value


@frozen
class Currency:
    """An ISO 4217 currency and the number of decimals of its minor unit."""

    code: str
    exponent: int

    @classmethod
    def of(cls, code: str) -> Currency:
        """The supported currency with this ISO 4217 code (case-insensitive)."""
        try:
            return _CURRENCIES[code.upper()]
        except (KeyError, AttributeError):
            raise UnknownCurrency(f"{code!r} is not a supported ISO 4217 currency") from None

    @property
    def minor_per_major(self) -> int:
        """How many minor units make one major unit (100 for INR, 1 for JPY)."""
        return int(10**self.exponent)

    def __str__(self) -> str:
        return self.code


_CURRENCIES: Final[dict[str, Currency]] = {
    code: Currency(code, exponent)
    for code, exponent in (
        ("AED", 2), ("AUD", 2), ("BHD", 3), ("BRL", 2), ("CAD", 2), ("CHF", 2),
        ("CLP", 0), ("CNY", 2), ("CZK", 2), ("DKK", 2), ("EUR", 2), ("GBP", 2),
        ("HKD", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2), ("ISK", 0),
        ("JOD", 3), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("LKR", 2), ("MXN", 2),
        ("MYR", 2), ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PHP", 2),
        ("PLN", 2), ("QAR", 2), ("SAR", 2), ("SEK", 2), ("SGD", 2), ("THB", 2),
        ("TND", 3), ("TRY", 2), ("TWD", 2), ("USD", 2), ("VND", 0), ("ZAR", 2),
    )
}  # fmt: skip


@frozen(order=False)
class Money:
    """An amount of one currency, held as an integer of its minor unit.

    Arithmetic between two amounts requires one currency and raises
    :class:`~checkout_core.errors.CurrencyMismatch` otherwise.
    """

    amount: int = field(converter=_exact_int)
    currency: Currency

    @classmethod
    def zero(cls, currency: Currency) -> Money:
        """No money of ``currency``."""
        return cls(0, currency)

    @classmethod
    def of_major(cls, value: str | int | Decimal, currency: Currency) -> Money:
        """Read an amount written in major units (``"14392"``, ``"0.5"``) exactly.

        A value with more decimals than the currency has is refused rather
        than rounded: a price is data, not the result of a computation.
        """
        if isinstance(value, float):
            raise InvalidAmount("floats are not accepted as amounts; pass a string or a Decimal")
        try:
            decimal = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise InvalidAmount(f"{value!r} is not an amount") from None
        if not decimal.is_finite():
            raise InvalidAmount(f"{value!r} is not an amount")
        minor = decimal.scaleb(currency.exponent)
        if minor != minor.to_integral_value():
            raise InvalidAmount(
                f"{value} has more decimals than {currency.code} allows ({currency.exponent})"
            )
        return cls(int(minor), currency)

    def to_major(self) -> Decimal:
        """The amount in major units, exactly (``Decimal("14392.00")``)."""
        return Decimal(self.amount).scaleb(-self.currency.exponent)

    def _same_currency(self, other: Money) -> None:
        if other.currency is not self.currency and other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency.code} and {other.currency.code}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * _exact_int(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def percent(self, rate: Rate, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """``rate`` of this amount, rounded to the minor unit as ``rounding`` says."""
        return Money(rate.of(self.amount, rounding), self.currency)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split this amount over ``weights``; see :func:`allocate`."""
        return [Money(share, self.currency) for share in allocate(self.amount, weights)]

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency.code}"


_PPM: Final = 1_000_000


@frozen
class Rate:
    """A proportion held exactly in parts per million (18% is 180,000 ppm).

    Four decimals of a percent (``8.875%``) are exact; anything finer is
    refused when the rate is read.
    """

    ppm: int = field(converter=_exact_int)

    def __attrs_post_init__(self) -> None:
        if self.ppm < 0:
            raise InvalidRate("a rate cannot be negative")

    @classmethod
    def percent(cls, value: str | int | Decimal) -> Rate:
        """Read a percentage written as ``18``, ``"18"`` or ``"8.875"``."""
        if isinstance(value, float):
            raise InvalidRate("floats are not accepted as rates; pass a string or a Decimal")
        try:
            decimal = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise InvalidRate(f"{value!r} is not a percentage") from None
        if not decimal.is_finite():
            raise InvalidRate(f"{value!r} is not a percentage")
        ppm = decimal.scaleb(4)
        if ppm != ppm.to_integral_value():
            raise InvalidRate(f"{value}% has more than four decimals")
        return cls(int(ppm))

    @property
    def as_percent(self) -> Decimal:
        """The rate as a percentage, without trailing zeros (``Decimal("18")``)."""
        value = Decimal(self.ppm).scaleb(-4)
        return (
            value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
        )

    @property
    def is_zero(self) -> bool:
        """Whether the rate takes nothing."""
        return self.ppm == 0

    def of(self, amount: int, rounding: Rounding = Rounding.HALF_UP) -> int:
        """This rate of ``amount`` minor units, rounded as ``rounding`` says."""
        return divide(amount * self.ppm, _PPM, rounding)

    def of_each(self, amounts: Sequence[int], rounding: Rounding = Rounding.HALF_UP) -> list[int]:
        """This rate of each of ``amounts``, rounded as ``rounding`` says."""
        return divide_each(amounts, _PPM, rounding, scale=self.ppm)

    @classmethod
    def of_ratio(cls, part: int, whole: int, rounding: Rounding = Rounding.DOWN) -> Rate:
        """The rate that ``part`` is of ``whole`` (zero when ``whole`` is), to the ppm."""
        if whole <= 0:
            return cls(0)
        return cls(divide(part * _PPM, whole, rounding))

    def __str__(self) -> str:
        whole, fraction = divmod(self.ppm, 10_000)
        return f"{whole}%" if not fraction else f"{self.as_percent}%"

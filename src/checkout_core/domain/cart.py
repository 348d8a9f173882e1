"""The cart: what a buyer chose, for how long, and under which sale and coupon.

A cart holds no price: prices come from the catalog every time the cart is
priced, so nothing a client sends can change what is charged. Its token is a
bearer secret made by the ``IdGenerator`` port.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from attrs import Factory, evolve, field, frozen

from checkout_core.domain.catalog import Offering, Period
from checkout_core.domain.discounts import normalize_code
from checkout_core.errors import (
    CartExpired,
    CartForbidden,
    CartNotActive,
    DuplicateLine,
    EmptyCart,
    InvalidAnalyticsData,
    InvalidRequest,
    MixedCurrencies,
    OfferingInactive,
    TooManyLines,
    UnknownOffering,
)

__all__ = [
    "DEFAULT_CART_TTL",
    "MAX_ANALYTICS_PAIRS",
    "MAX_LINES",
    "Cart",
    "CartLine",
    "CartStatus",
    "validate_analytics_data",
]

MAX_LINES: Final = 20
"""The most products one cart may hold."""
DEFAULT_CART_TTL: Final = timedelta(hours=24)
"""How long a cart lives unless the host configures otherwise."""
MAX_ANALYTICS_PAIRS: Final = 20
"""The most analytics key/value pairs a cart keeps."""
_MAX_ANALYTICS_VALUE: Final = 256
_ANALYTICS_KEY: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class CartStatus(enum.StrEnum):
    """Where a cart is in its life."""

    ACTIVE = "active"
    CONVERTED = "converted"
    EXPIRED = "expired"


@frozen
class CartLine:
    """One offering, bought for one period."""

    offering_id: str
    period: Period


def validate_analytics_data(
    pairs: Iterable[tuple[str, str]] | Mapping[str, str],
) -> tuple[tuple[str, str], ...]:
    """Check and normalise the analytics pairs a client sends with a cart.

    Keys are short identifiers and unique; values are printable text of at
    most 256 characters; at most 20 pairs. The order is kept.
    """
    items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
    if len(items) > MAX_ANALYTICS_PAIRS:
        raise InvalidAnalyticsData(f"at most {MAX_ANALYTICS_PAIRS} pairs, not {len(items)}")
    seen: set[str] = set()
    for key, value in items:
        if not isinstance(key, str) or not _ANALYTICS_KEY.fullmatch(key):
            raise InvalidAnalyticsData(
                f"a key is 1 to 64 letters, digits, '_', '.' or '-', not {key!r}"
            )
        if key in seen:
            raise InvalidAnalyticsData(f"the key {key!r} appears twice")
        seen.add(key)
        if (
            not isinstance(value, str)
            or len(value) > _MAX_ANALYTICS_VALUE
            or not value.isprintable()
        ):
            raise InvalidAnalyticsData(
                f"the value of {key!r} must be printable text of at most "
                f"{_MAX_ANALYTICS_VALUE} characters"
            )
    return tuple((key, value) for key, value in items)


def _lines(lines: Iterable[CartLine]) -> tuple[CartLine, ...]:
    return tuple(lines)


def _check_lines(lines: Sequence[CartLine], offerings: Mapping[str, Offering]) -> None:
    if not lines:
        raise EmptyCart
    if len(lines) > MAX_LINES:
        raise TooManyLines(f"at most {MAX_LINES} products, not {len(lines)}")
    currencies = set()
    seen: set[str] = set()
    for line in lines:
        if line.offering_id in seen:
            raise DuplicateLine(f"{line.offering_id} appears more than once")
        seen.add(line.offering_id)
        offering = offerings.get(line.offering_id)
        if offering is None:
            raise UnknownOffering(f"{line.offering_id} does not exist")
        if not offering.active:
            raise OfferingInactive(f"{line.offering_id} is not available")
        offering.plan_for(line.period)
        currencies.add(offering.currency)
    if len(currencies) > 1:
        codes = ", ".join(sorted(c.code for c in currencies))
        raise MixedCurrencies(f"the products are priced in {codes}")


@frozen
class Cart:
    """A buyer's cart, anonymous until the first authenticated user touches it."""

    token: str
    lines: tuple[CartLine, ...] = field(converter=_lines)
    created_at: datetime
    expires_at: datetime
    sale_slug: str | None = None
    analytics_data: tuple[tuple[str, str], ...] = ()
    owner_id: str | None = None
    coupon_code: str | None = None
    status: CartStatus = CartStatus.ACTIVE
    offering_ids: tuple[str, ...] = field(
        init=False,
        eq=False,
        repr=False,
        default=Factory(
            lambda self: tuple(line.offering_id for line in self.lines), takes_self=True
        ),
    )
    """The offerings in the cart, in its order (kept: every estimate reads it)."""

    @classmethod
    def open(  # noqa: PLR0913 - a cart is made from all of these at once
        cls,
        *,
        token: str,
        lines: Sequence[CartLine],
        offerings: Mapping[str, Offering],
        now: datetime,
        sale_slug: str | None = None,
        analytics_data: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        ttl: timedelta = DEFAULT_CART_TTL,
    ) -> Cart:
        """Open a cart for ``lines``, checked against the catalog's ``offerings``.

        Unknown or inactive offerings, periods an offering is not sold for,
        repeated offerings, mixed currencies and more than 20 lines are
        refused, each with its own error.
        """
        if not token:
            raise InvalidRequest("a cart needs a token")
        if ttl <= timedelta(0):
            raise InvalidRequest("a cart's lifetime must be positive")
        _check_lines(lines, offerings)
        return cls(
            token=token,
            lines=tuple(lines),
            created_at=now,
            expires_at=now + ttl,
            sale_slug=sale_slug or None,
            analytics_data=validate_analytics_data(analytics_data),
        )

    @property
    def analytics(self) -> dict[str, str]:
        """The analytics pairs as a mapping (``{"source": "google"}``)."""
        return dict(self.analytics_data)

    def is_expired(self, now: datetime) -> bool:
        """Whether the cart's lifetime is over at ``now``."""
        return self.status is CartStatus.EXPIRED or now >= self.expires_at

    def ensure_usable(self, now: datetime) -> None:
        """Refuse a cart that was already ordered or that has expired."""
        if self.status is CartStatus.CONVERTED:
            raise CartNotActive(f"cart {self.token[:8]}... was already ordered")
        if self.is_expired(now):
            raise CartExpired

    def check_access(self, user_id: str | None) -> None:
        """Refuse anyone but the owner of a bound cart, anonymous callers included."""
        if self.owner_id is not None and self.owner_id != user_id:
            raise CartForbidden

    def bind_to(self, user_id: str) -> Cart:
        """The cart owned by ``user_id``: the first authenticated user to touch it."""
        if not user_id:
            raise InvalidRequest("a cart is bound to a user id")
        self.check_access(user_id)
        if self.owner_id == user_id:
            return self
        return evolve(self, owner_id=user_id)

    def with_coupon(self, code: str) -> Cart:
        """The cart with ``code`` stored (normalised); its validity is checked when priced."""
        return evolve(self, coupon_code=normalize_code(code))

    def without_coupon(self) -> Cart:
        """The cart with no coupon."""
        return evolve(self, coupon_code=None)

    def convert(self) -> Cart:
        """The cart once an order was made from it."""
        if self.status is CartStatus.CONVERTED:
            return self
        if self.status is not CartStatus.ACTIVE:
            raise CartNotActive(f"a {self.status} cart cannot be ordered")
        return evolve(self, status=CartStatus.CONVERTED)

    def expire(self) -> Cart:
        """The cart marked expired; an ordered cart stays converted."""
        if self.status is CartStatus.ACTIVE:
            return evolve(self, status=CartStatus.EXPIRED)
        return self

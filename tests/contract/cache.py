"""The contract of ``ports.CartCache``: a copy of carts that forgets them on time.

An adapter's test module subclasses :class:`CartCacheContract` and provides
the fixture ``cart_cache(clock: FixedClock) -> CartCache``: an empty cache
that reads the time from ``clock``, which the tests move.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkout_adapters.memory import FixedClock
from checkout_core.domain.cart import CartStatus
from checkout_core.ports import CartCache
from tests.contract.unit_of_work import NOW, make_cart

__all__ = ["CartCacheContract"]

_TTL = timedelta(minutes=15)
_SECOND = timedelta(seconds=1)


class CartCacheContract:
    """What every ``CartCache`` adapter does, with time told by a fixed clock.

    Subclasses provide the fixture ``cart_cache(clock: FixedClock) -> CartCache``;
    ``clock`` is this contract's fixture, starting at ``NOW``.
    """

    @pytest.fixture
    def clock(self) -> FixedClock:
        """The time the cache reads; tests move it."""
        return FixedClock(NOW)

    @pytest.fixture
    def cart_cache(self, clock: FixedClock) -> CartCache:
        """An empty cache reading ``clock``; every subclass provides it."""
        raise NotImplementedError

    def test_a_cart_never_put_is_a_miss(self, cart_cache: CartCache) -> None:
        assert cart_cache.get("cart_1") is None

    def test_a_cart_put_is_read_back_as_it_was(self, cart_cache: CartCache) -> None:
        cart = make_cart()

        cart_cache.put(cart, _TTL)

        assert cart_cache.get("cart_1") == cart
        assert cart_cache.get("cart_2") is None

    def test_an_anonymous_cart_is_read_back_as_it_was(self, cart_cache: CartCache) -> None:
        cart = make_cart(owner_id=None, coupon_code=None)

        cart_cache.put(cart, _TTL)

        assert cart_cache.get("cart_1") == cart

    def test_putting_a_cart_again_replaces_it(self, cart_cache: CartCache) -> None:
        cart_cache.put(make_cart(), _TTL)
        converted = make_cart(status=CartStatus.CONVERTED)

        cart_cache.put(converted, _TTL)

        assert cart_cache.get("cart_1") == converted

    def test_an_invalidated_cart_is_a_miss(self, cart_cache: CartCache) -> None:
        cart_cache.put(make_cart(), _TTL)
        cart_cache.put(make_cart("cart_2"), _TTL)

        cart_cache.invalidate("cart_1")

        assert cart_cache.get("cart_1") is None
        assert cart_cache.get("cart_2") == make_cart("cart_2")

    def test_invalidating_a_cart_never_put_does_nothing(self, cart_cache: CartCache) -> None:
        cart_cache.invalidate("cart_1")

        assert cart_cache.get("cart_1") is None

    def test_a_cart_is_a_hit_until_its_time_is_up_and_a_miss_after(
        self, cart_cache: CartCache, clock: FixedClock
    ) -> None:
        cart_cache.put(make_cart(), _TTL)

        clock.advance(_TTL - _SECOND)
        assert cart_cache.get("cart_1") == make_cart()
        clock.advance(2 * _SECOND)
        assert cart_cache.get("cart_1") is None

    def test_each_cart_keeps_its_own_time(self, cart_cache: CartCache, clock: FixedClock) -> None:
        cart_cache.put(make_cart("cart_1"), _TTL)
        cart_cache.put(make_cart("cart_2"), 2 * _TTL)

        clock.advance(_TTL + _SECOND)

        assert cart_cache.get("cart_1") is None
        assert cart_cache.get("cart_2") == make_cart("cart_2")

    def test_putting_a_cart_again_starts_its_time_afresh(
        self, cart_cache: CartCache, clock: FixedClock
    ) -> None:
        cart_cache.put(make_cart(), _TTL)
        clock.advance(_TTL - _SECOND)

        cart_cache.put(make_cart(), _TTL)
        clock.advance(2 * _SECOND)

        assert cart_cache.get("cart_1") == make_cart()

    def test_an_expired_cart_put_again_is_a_hit(
        self, cart_cache: CartCache, clock: FixedClock
    ) -> None:
        cart_cache.put(make_cart(), _TTL)
        clock.advance(_TTL + _SECOND)
        assert cart_cache.get("cart_1") is None

        cart_cache.put(make_cart(), _TTL)

        assert cart_cache.get("cart_1") == make_cart()

from __future__ import annotations

from datetime import timedelta

from checkout_core.domain.cart import CartLine, CartStatus
from checkout_core.domain.catalog import Period
from checkout_core.errors import (
    CartExpired,
    CartForbidden,
    CartNotFound,
    PeriodNotAllowed,
    UnknownOffering,
    UnknownSale,
)
from tests.unit.services.world import World, ok, refused


def test_a_new_cart_is_stored_and_cached_with_its_sale_and_analytics(world: World) -> None:
    cart = world.seed_cart()
    assert world.cache.get(cart.token) == cart
    world.cache.invalidate(cart.token)
    stored = ok(world.checkout.carts.get_cart(cart.token))
    assert stored == cart
    assert stored.sale_slug == "summer2024"
    assert stored.analytics == {"source": "google", "campaign": "summer_sale"}
    assert world.cache.get(cart.token) == cart


def test_a_cart_for_an_unknown_sale_or_offering_or_period_is_refused(world: World) -> None:
    carts = world.checkout.carts
    line = CartLine("int_123", Period(3, "month"))
    assert isinstance(refused(carts.create_cart([line], sale_slug="winter1999")), UnknownSale)
    unknown = CartLine("int_999", Period(1, "month"))
    assert isinstance(refused(carts.create_cart([unknown])), UnknownOffering)
    too_long = CartLine("int_123", Period(12, "month"))
    assert isinstance(refused(carts.create_cart([too_long])), PeriodNotAllowed)


def test_reading_a_cart_that_does_not_exist_is_a_not_found(world: World) -> None:
    error = refused(world.checkout.carts.get_cart("no-such-cart"))
    assert (error.code, error.http_status) == (1101, 404)


def test_an_anonymous_caller_is_told_they_are_not_authenticated(world: World) -> None:
    cart = world.seed_cart()
    access = ok(world.checkout.auth.validate_cart_access(cart.token, None))
    assert (access.authenticated, access.user_id) == (False, None)


def test_the_first_signed_in_user_owns_the_cart_and_nobody_else_may_touch_it(world: World) -> None:
    cart = world.seed_cart()
    auth = world.checkout.auth
    access = ok(auth.validate_cart_access(cart.token, "user_a"))
    assert (access.authenticated, access.user_id) == (True, "user_a")
    assert ok(world.checkout.carts.get_cart(cart.token)).owner_id == "user_a"
    assert ok(auth.validate_cart_access(cart.token, "user_a")).user_id == "user_a"
    assert isinstance(refused(auth.validate_cart_access(cart.token, "user_b")), CartForbidden)
    assert isinstance(refused(auth.validate_cart_access(cart.token, None)), CartForbidden)
    for result in (
        world.checkout.pricing.calculate(cart.token, "user_b"),
        world.checkout.discounts.apply(cart.token, "SAVE20", "user_b"),
        world.checkout.discounts.remove(cart.token, "user_b"),
        world.checkout.orders.create_from_cart(cart.token, "key-b", "user_b"),
    ):
        assert isinstance(refused(result), CartForbidden)


def test_the_owner_binding_is_read_back_from_the_store_not_only_the_cache(world: World) -> None:
    cart = world.seed_cart()
    ok(world.checkout.auth.validate_cart_access(cart.token, "user_a"))
    world.cache.invalidate(cart.token)
    assert isinstance(
        refused(world.checkout.auth.validate_cart_access(cart.token, "user_b")), CartForbidden
    )


def test_an_expired_cart_cannot_be_bound(world: World) -> None:
    cart = world.seed_cart()
    world.clock.advance(timedelta(hours=25))
    assert isinstance(
        refused(world.checkout.auth.validate_cart_access(cart.token, "u")), CartExpired
    )


def test_a_missing_cart_is_not_found_for_every_service(world: World) -> None:
    checkout = world.checkout
    for result in (
        checkout.auth.validate_cart_access("nope", "u"),
        checkout.pricing.calculate("nope", "u"),
        checkout.discounts.apply("nope", "SAVE20", "u"),
        checkout.orders.create_from_cart("nope", "key-1", "u"),
    ):
        assert isinstance(refused(result), CartNotFound)


def test_cleanup_expires_stale_carts_and_deletes_those_past_retention(world: World) -> None:
    stale = world.seed_cart()
    world.clock.advance(timedelta(hours=23))
    fresh = world.seed_cart()
    world.clock.advance(timedelta(hours=2))
    cleanup = ok(world.checkout.carts.cleanup_expired(batch_size=1))
    assert (cleanup.expired, cleanup.deleted) == (1, 0)
    world.cache.invalidate(stale.token)
    assert ok(world.checkout.carts.get_cart(stale.token)).status is CartStatus.EXPIRED
    assert ok(world.checkout.carts.get_cart(fresh.token)).status is CartStatus.ACTIVE
    world.clock.advance(timedelta(days=30, hours=5))
    cleanup = ok(world.checkout.carts.cleanup_expired(batch_size=1))
    # The fresh cart expires now; only the stale one is past the 30 days of retention.
    assert (cleanup.expired, cleanup.deleted) == (1, 1)
    world.cache.invalidate(stale.token)
    world.cache.invalidate(fresh.token)
    assert isinstance(refused(world.checkout.carts.get_cart(stale.token)), CartNotFound)
    assert ok(world.checkout.carts.get_cart(fresh.token)).status is CartStatus.EXPIRED


def test_cleanup_tells_its_progress_after_each_batch(world: World) -> None:
    for _ in range(3):
        world.seed_cart()
    world.clock.advance(timedelta(hours=25))
    progress: list[int] = []

    cleanup = ok(world.checkout.carts.cleanup_expired(batch_size=2, on_progress=progress.append))

    assert (cleanup.expired, cleanup.deleted) == (3, 0)
    # Two batches expire carts; one finds none to delete.
    assert progress == [2, 1, 0]


def test_abandoned_carts_are_counted_by_sale_over_the_day_and_the_week(world: World) -> None:
    world.seed_cart()
    world.clock.advance(timedelta(days=3))
    world.seed_cart()
    world.seed_cart(sale=False)
    ordered = world.seed_cart()
    ok(world.checkout.orders.create_from_cart(ordered.token, "key-1", "user_a"))
    world.seed_cart()
    world.clock.advance(timedelta(hours=30))
    ok(world.checkout.carts.cleanup_expired())
    world.seed_cart()
    world.clock.advance(timedelta(hours=25))

    # At now: the first cart expired 4 days ago, three 1 day and 7 hours ago, the last one hour ago.
    stats = ok(world.checkout.carts.abandoned_statistics(world.clock.now()))

    assert (stats.at, stats.last_day, stats.last_week) == (world.clock.now(), 1, 5)
    assert [(sale.sale_slug, sale.last_day, sale.last_week) for sale in stats.by_sale] == [
        (None, 0, 1),
        ("summer2024", 1, 4),
    ]

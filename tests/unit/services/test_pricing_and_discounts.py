from __future__ import annotations

from datetime import timedelta

from attrs import evolve

from checkout_adapters.memory import InMemoryCatalog, InMemoryUnitOfWorkFactory
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate
from checkout_core.errors import (
    CartExpired,
    CartNotActive,
    CouponExhausted,
    CouponExpired,
    CouponInvalid,
    CouponNotApplicable,
)
from checkout_core.services import Checkout
from tests.unit.services.world import CATALOG, World, ok, refused


def test_the_estimate_reproduces_the_seeds_figures(world: World) -> None:
    cart = world.seed_cart()
    estimate = ok(world.checkout.pricing.calculate(cart.token, None))
    assert (estimate.base_price, estimate.discount_amount, estimate.discount_percentage) == (
        4_317_600,
        2_640_000,
        61,
    )
    assert (estimate.sub_total, estimate.tax_total, estimate.total) == (
        1_677_600,
        302_000,
        1_979_600,
    )


def test_an_estimate_by_a_signed_in_user_binds_the_cart(world: World) -> None:
    cart = world.seed_cart()
    ok(world.checkout.pricing.calculate(cart.token, "user_a"))
    world.cache.invalidate(cart.token)
    assert ok(world.checkout.carts.get_cart(cart.token)).owner_id == "user_a"


def test_an_expired_cart_is_not_priced(world: World) -> None:
    cart = world.seed_cart()
    world.clock.advance(timedelta(hours=24))
    error = refused(world.checkout.pricing.calculate(cart.token, None))
    assert isinstance(error, CartExpired)
    assert error.http_status == 410


def test_save20_applies_and_the_seeds_reduction_is_returned(world: World) -> None:
    cart = world.seed_cart()
    applied = ok(world.checkout.discounts.apply(cart.token, "save20", None))
    assert (applied.code, applied.reduction, applied.estimate.total) == (
        "SAVE20",
        395_900,
        1_583_700,
    )
    assert ok(world.checkout.pricing.calculate(cart.token, None)).total == 1_583_700
    world.cache.invalidate(cart.token)
    assert ok(world.checkout.carts.get_cart(cart.token)).coupon_code == "SAVE20"


def test_validating_a_coupon_stores_nothing(world: World) -> None:
    cart = world.seed_cart()
    assert (
        ok(world.checkout.discounts.validate_coupon(cart.token, "SAVE20", None)).reduction
        == 395_900
    )
    assert ok(world.checkout.pricing.calculate(cart.token, None)).total == 1_979_600


def test_removing_the_coupon_restores_the_total(world: World) -> None:
    cart = world.seed_cart()
    ok(world.checkout.discounts.apply(cart.token, "SAVE20", None))
    assert ok(world.checkout.discounts.remove(cart.token, None)).total == 1_979_600
    assert ok(world.checkout.pricing.calculate(cart.token, None)).coupon_code is None


def test_an_unknown_coupon_is_the_seeds_2004_and_changes_nothing(world: World) -> None:
    cart = world.seed_cart()
    for code in ("NOPE10", "not a code"):
        error = refused(world.checkout.discounts.apply(cart.token, code, None))
        assert isinstance(error, CouponInvalid)
        assert (error.code, error.message, error.http_status) == (2004, "Coupon is invalid.", 422)
    world.cache.invalidate(cart.token)
    assert ok(world.checkout.carts.get_cart(cart.token)).coupon_code is None


def test_each_refused_coupon_fails_with_its_own_code(world: World) -> None:
    world.add_coupon(
        Coupon(code="OLD", percent_off=Rate.percent(10), valid_until=world.clock.now())
    )
    world.add_coupon(Coupon(code="NOSALE", percent_off=Rate.percent(10), stacks_with_sale=False))
    world.add_coupon(Coupon(code="ONCE", percent_off=Rate.percent(10), usage_limit=1))
    cart = world.seed_cart()
    assert isinstance(
        refused(world.checkout.discounts.apply(cart.token, "OLD", None)), CouponExpired
    )
    refusal = refused(world.checkout.discounts.apply(cart.token, "NOSALE", None))
    assert isinstance(refusal, CouponNotApplicable)
    assert refusal.detail == "the coupon does not combine with the sale"
    ok(world.checkout.discounts.apply(cart.token, "ONCE", "user_a"))
    ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    second = world.seed_cart()
    assert isinstance(
        refused(world.checkout.discounts.apply(second.token, "ONCE", None)), CouponExhausted
    )


def test_a_coupon_cannot_be_put_on_an_ordered_cart(world: World) -> None:
    cart = world.seed_cart()
    ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert isinstance(
        refused(world.checkout.discounts.apply(cart.token, "SAVE20", "user_a")), CartNotActive
    )


def test_prices_are_read_from_the_catalog_every_time(world: World) -> None:
    cart = world.seed_cart()
    offering = CATALOG.offerings["int_123"]
    cheaper = evolve(offering, plans=[evolve(offering.plans[0], unit_price=1_000_000)])
    unit_of_work = InMemoryUnitOfWorkFactory(world.store, InMemoryCatalog([cheaper]))
    repriced = Checkout.build(
        evolve(world.checkout.ports, unit_of_work=unit_of_work), world.checkout.settings
    )
    estimate = ok(repriced.pricing.calculate(cart.token, None))
    assert estimate.base_price == 3_000_000
    assert estimate.discount_amount == 0  # the sale is gone from this catalog, and says so
    assert estimate.notes[0].reason == "the sale does not exist"

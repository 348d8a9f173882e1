from __future__ import annotations

from collections import Counter
from datetime import timedelta

from attrs import evolve

from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.errors import IdempotencyKeyInProgress, TooManyAttempts
from checkout_core.services import Checkout
from tests.unit.services.world import World, ok, refused


class CountingLimiter:
    """A fixed-window limiter for these tests: enough to see the services count attempts."""

    def __init__(self) -> None:
        self.hits: Counter[tuple[str, str]] = Counter()

    def hit(self, limit: RateLimit, key: str) -> RateDecision:
        self.hits[limit.name, key] += 1
        used = self.hits[limit.name, key]
        if used > limit.limit:
            return RateDecision(allowed=False, remaining=0, retry_after=timedelta(seconds=42))
        return RateDecision(allowed=True, remaining=limit.limit - used)


def limited(world: World) -> tuple[Checkout, CountingLimiter]:
    limiter = CountingLimiter()
    checkout = Checkout.build(
        evolve(world.checkout.ports, rate_limiter=limiter), world.checkout.settings
    )
    return checkout, limiter


def test_coupon_attempts_are_counted_per_cart_user_and_client(world: World) -> None:
    checkout, limiter = limited(world)
    cart = world.seed_cart()
    refused(checkout.discounts.apply(cart.token, "NOPE1", "user_a", client="203.0.113.7"))
    ok(checkout.discounts.validate_coupon(cart.token, "SAVE20", "user_a", client="203.0.113.7"))
    assert limiter.hits == {
        ("coupon-per-cart", cart.token): 2,
        ("coupon-per-user", "user_a"): 2,
        ("coupon-per-client", "203.0.113.7"): 2,
    }


def test_the_eleventh_attempt_on_a_cart_in_a_minute_is_refused_with_when_to_retry(
    world: World,
) -> None:
    checkout, _ = limited(world)
    cart = world.seed_cart()
    for attempt in range(10):
        refused(checkout.discounts.apply(cart.token, f"WRONG{attempt}", None))
    error = refused(checkout.discounts.apply(cart.token, "SAVE20", None))
    assert isinstance(error, TooManyAttempts)
    assert (error.code, error.http_status, error.retry_after_seconds) == (9002, 429, 42)


def test_order_creation_is_limited_per_user(world: World) -> None:
    checkout, limiter = limited(world)
    for index in range(10):
        cart = world.seed_cart()
        ok(checkout.orders.create_from_cart(cart.token, f"key-{index}", "user_a"))
    error = refused(checkout.orders.create_from_cart(world.seed_cart().token, "key-x", "user_a"))
    assert isinstance(error, TooManyAttempts)
    assert limiter.hits["orders-per-user", "user_a"] == 11
    assert len(world.store.orders) == 10


class DictIdempotencyCache:
    """An idempotency cache in a dict: enough to see the fast path taken and kept up."""

    def __init__(self) -> None:
        self.marks: dict[str, str] = {}
        self.done: dict[str, IdempotencyRecord] = {}

    def completed(self, key: str) -> IdempotencyRecord | None:
        return self.done.get(key)

    def claim(self, key: str, fingerprint: str, ttl: timedelta) -> bool:
        del ttl
        if key in self.marks or key in self.done:
            return False
        self.marks[key] = fingerprint
        return True

    def store(self, record: IdempotencyRecord) -> None:
        self.marks.pop(record.key, None)
        self.done[record.key] = record

    def release(self, key: str) -> None:
        self.marks.pop(key, None)


def test_a_replay_is_answered_from_the_idempotency_cache(world: World) -> None:
    cache = DictIdempotencyCache()
    checkout = Checkout.build(
        evolve(world.checkout.ports, idempotency_cache=cache), world.checkout.settings
    )
    cart = world.seed_cart()
    first = ok(checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert cache.done["key-1"].state == "completed"
    world.store.idempotency.clear()  # the replay must not need the database
    again = ok(checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert (again.replayed, again.receipt) == (True, first.receipt)


def test_a_key_in_progress_elsewhere_is_refused_without_the_database(world: World) -> None:
    cache = DictIdempotencyCache()
    cache.marks["key-1"] = "someone else's"
    checkout = Checkout.build(
        evolve(world.checkout.ports, idempotency_cache=cache), world.checkout.settings
    )
    cart = world.seed_cart()
    assert isinstance(
        refused(checkout.orders.create_from_cart(cart.token, "key-1", "user_a")),
        IdempotencyKeyInProgress,
    )
    assert world.store.orders == {}


def test_a_failed_request_drops_its_mark_so_a_retry_can_run(world: World) -> None:
    cache = DictIdempotencyCache()
    checkout = Checkout.build(
        evolve(world.checkout.ports, idempotency_cache=cache), world.checkout.settings
    )
    refused(checkout.orders.create_from_cart("no-such-cart", "key-1", "user_a"))
    assert cache.marks == {}

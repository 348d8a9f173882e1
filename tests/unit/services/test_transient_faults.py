from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import pytest
from attrs import evolve

from checkout_core.faults import TransientFault
from checkout_core.ports import UnitOfWork, UnitOfWorkFactory
from checkout_core.services import Checkout
from checkout_core.services._seam import ATTEMPTS, retried
from tests.unit.services.test_workers import ListQueue, paid, worker
from tests.unit.services.world import World, ok, refused


class FaultyCommits:
    """Units of work of ``inner`` whose next ``faults`` commits are lost with the connection."""

    def __init__(self, inner: UnitOfWorkFactory, faults: int) -> None:
        self.inner = inner
        self.faults = faults

    def __call__(self) -> UnitOfWork:
        return _FaultyUnitOfWork(self.inner(), self)


class _FaultyUnitOfWork:
    def __init__(self, inner: UnitOfWork, owner: FaultyCommits) -> None:
        self._inner = inner
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, traceback)

    def commit(self) -> None:
        if self._owner.faults:
            self._owner.faults -= 1
            self._inner.rollback()
            raise TransientFault("the connection was lost") from ConnectionResetError(104)
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()


def with_faulty_commits(world: World, faults: int) -> tuple[Checkout, FaultyCommits]:
    ports = world.checkout.ports
    faulty = FaultyCommits(ports.unit_of_work, faults)
    checkout = Checkout.build(evolve(ports, unit_of_work=faulty), world.checkout.settings)
    return checkout, faulty


def test_an_order_met_by_a_transient_fault_is_placed_by_the_next_try(world: World) -> None:
    checkout, faulty = with_faulty_commits(world, faults=1)
    cart = world.seed_cart()

    placed = ok(checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))

    assert faulty.faults == 0
    assert placed.receipt.status == "awaiting_payment"
    assert len(world.store.orders) == 1
    assert len(world.gateway.sessions) == 1


def test_a_transient_fault_that_outlasts_the_tries_propagates_and_keeps_nothing(
    world: World,
) -> None:
    checkout, faulty = with_faulty_commits(world, faults=ATTEMPTS)
    cart = world.seed_cart()

    with pytest.raises(TransientFault):
        checkout.orders.create_from_cart(cart.token, "key-1", "user_a")

    assert faulty.faults == 0
    assert world.store.orders == {}
    assert world.gateway.sessions == []
    # The next request with the same key runs afresh and is placed.
    assert ok(checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt.total > 0


def test_a_transient_fault_is_tried_the_set_number_of_times_in_all() -> None:
    calls: list[int] = []

    def failing() -> int:
        calls.append(1)
        raise TransientFault("down")

    with pytest.raises(TransientFault):
        retried(failing, what="a call that keeps failing")
    assert len(calls) == ATTEMPTS


def test_a_refusal_is_answered_at_once_and_not_tried_again(world: World) -> None:
    checkout, faulty = with_faulty_commits(world, faults=1)
    error = refused(checkout.orders.create_from_cart("no-such-cart", "key-1", "user_a"))
    assert error.code == 1101
    assert faulty.faults == 1  # nothing committed, nothing tried again


def test_a_handler_met_by_a_transient_fault_runs_again_without_spending_an_attempt(
    world: World,
) -> None:
    event = paid(world)
    checkout, faulty = with_faulty_commits(world, faults=1)
    queue = ListQueue(world.clock.now)
    queue.publish(event)

    worker(world, queue, checkout).run_once()

    assert faulty.faults == 0
    assert (queue.acked, queue.retried, queue.dead) == (["m0"], [], [])
    assert [n.template for n in world.notifications.sent] == ["confirmation"]
    assert len(world.store.enrollments) == 1

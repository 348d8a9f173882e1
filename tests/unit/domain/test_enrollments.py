from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from checkout_core.domain.catalog import Period, PeriodUnit
from checkout_core.domain.enrollments import ENROLLABLE_STATES, Enrollment, enrollments_for
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.errors import InvalidRequest
from tests.strategies import build_estimate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
IDS = ("enr_1", "enr_2", "enr_3")


def paid_order(subtotals: list[int] | None = None, user_id: str | None = "usr_1") -> Order:
    order = Order.place("ord_1", "cart_1", user_id, build_estimate(subtotals or [500, 700]), NOW)
    return order.await_payment(NOW).mark_paid(NOW)


def test_a_paid_order_enrolls_its_buyer_in_each_offering() -> None:
    enrollments = enrollments_for(paid_order(), IDS, LATER)

    assert enrollments == (
        Enrollment("enr_1", "usr_1", "off_0", Period(1, PeriodUnit.MONTH), "ord_1", LATER),
        Enrollment("enr_2", "usr_1", "off_1", Period(2, PeriodUnit.MONTH), "ord_1", LATER),
    )


def test_a_free_completed_order_enrolls_its_buyer() -> None:
    order = Order.place("ord_2", "cart_2", "usr_1", build_estimate([0]), NOW)

    (enrollment,) = enrollments_for(order, ["enr_9"], LATER)

    assert order.status is OrderStatus.COMPLETED
    assert enrollment.key == ("ord_2", "off_0")


def test_an_enrollment_is_keyed_by_order_and_offering() -> None:
    enrollments = enrollments_for(paid_order(), IDS, LATER)

    assert [e.key for e in enrollments] == [("ord_1", "off_0"), ("ord_1", "off_1")]


def test_a_repeated_offering_is_enrolled_once() -> None:
    order = paid_order([500])
    line = order.pricing.lines[0]
    pricing = attrs.evolve(order.pricing, lines=(line, line))

    enrollments = enrollments_for(attrs.evolve(order, pricing=pricing), IDS, LATER)

    assert [e.id for e in enrollments] == ["enr_1"]


def test_ids_left_over_are_not_used() -> None:
    assert len(enrollments_for(paid_order([1]), IDS, LATER)) == 1


def test_too_few_ids_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="more enrollment ids"):
        enrollments_for(paid_order(), ["enr_1"], LATER)


def test_repeated_ids_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="distinct"):
        enrollments_for(paid_order(), ["enr_1", "enr_1"], LATER)


@pytest.mark.parametrize("status", [s for s in OrderStatus if s not in ENROLLABLE_STATES])
def test_an_order_neither_paid_nor_completed_enrolls_no_one(status: OrderStatus) -> None:
    order = attrs.evolve(paid_order(), status=status)

    with pytest.raises(InvalidRequest, match="not paid or completed") as raised:
        enrollments_for(order, IDS, LATER)

    assert raised.value.code == 1001


def test_an_order_without_a_user_enrolls_no_one() -> None:
    with pytest.raises(InvalidRequest, match="no user"):
        enrollments_for(paid_order(user_id=None), IDS, LATER)


def test_an_enrollment_id_starts_with_enr() -> None:
    with pytest.raises(InvalidRequest, match="enr_"):
        enrollments_for(paid_order(), ["pay_1", "pay_2"], LATER)


def test_an_enrollment_refuses_a_naive_time() -> None:
    with pytest.raises(InvalidRequest, match="timezone-aware"):
        enrollments_for(paid_order(), IDS, datetime(2026, 3, 1))  # noqa: DTZ001 - under test

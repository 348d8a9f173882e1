from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_adapters.sqlalchemy import serialization
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Period, PricePlan, SalePercentage, SalePrice
from checkout_core.domain.events import (
    EVENT_TYPES,
    DomainEvent,
    NotificationRequested,
    OrderCancelled,
    OrderCompleted,
    OrderExpired,
    OrderPaid,
    OrderRefunded,
    PaymentFailed,
)
from checkout_core.domain.money import Rate, Rounding
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.pricing import DiscountKind, price_cart
from checkout_core.domain.tax import TaxPolicy
from tests.contract.unit_of_work import NOW, make_order, make_payment
from tests.integration.sql_support import estimate_with_every_note
from tests.strategies import PricingCase, pricing_cases


def _every_event() -> list[DomainEvent]:
    order, payment = make_order(), make_payment()
    paid = order.await_payment(NOW).mark_paid(NOW)
    captured = payment.apply(PaymentEvent.captured(payment.amount, NOW)).payment
    failed = payment.apply(PaymentEvent.failed(NOW, "card_declined", "Declined")).payment
    return [
        OrderPaid.of("evt_1", paid, captured, NOW),
        OrderCompleted.of("evt_2", order, NOW),
        PaymentFailed.of("evt_3", failed, NOW),
        OrderExpired.of("evt_4", order, NOW),
        OrderRefunded.of("evt_5", paid.record_refund(100, NOW), 100, NOW),
        NotificationRequested.of("evt_6", order, "welcome", NOW),
        OrderCancelled.of("evt_7", order, NOW),
    ]


def _through_json(value: object) -> object:
    # What the database gives back: the document parsed from its text.
    return json.loads(json.dumps(value))


def test_an_estimate_with_its_notes_reads_back_equal() -> None:
    estimate = estimate_with_every_note()
    assert {note.kind for note in estimate.notes} == {DiscountKind.SALE, DiscountKind.COUPON}

    stored = _through_json(serialization.dump_pricing(estimate))

    assert serialization.load_pricing(stored) == estimate


def test_a_refused_coupon_note_keeps_its_error_code() -> None:
    demo = demo_catalog()
    cart = Cart.open(
        token="cart_1",
        lines=[CartLine("int_123", Period(1, "month"))],
        offerings=demo.offerings,
        now=DEMO_NOW,
    ).with_coupon("NOPE10")
    estimate = price_cart(cart, demo.offerings, tax=TaxPolicy(), now=DEMO_NOW)

    loaded = serialization.load_pricing(_through_json(serialization.dump_pricing(estimate)))

    assert loaded == estimate
    assert loaded.coupon_refusal is not None
    assert loaded.coupon_refusal.error_code == 2004


def test_an_estimate_is_stored_with_currency_codes_rates_in_ppm_and_enum_values() -> None:
    stored = serialization.dump_pricing(estimate_with_every_note())

    assert stored["currency"] == "INR"
    assert stored["tax_rate"] == 180_000
    assert stored["tax_mode"] == "exclusive"
    assert stored["lines"][0]["period"] == {"value": 3, "unit": "month"}
    assert {note["kind"] for note in stored["notes"]} == {"sale", "coupon"}
    assert json.loads(json.dumps(stored)) == stored


@settings(max_examples=50)
@given(pricing_cases())
def test_every_estimate_the_engine_makes_reads_back_equal(case: PricingCase) -> None:
    estimate = price_cart(
        case.cart,
        case.offerings,
        tax=case.tax,
        now=case.now,
        sale=case.sale,
        coupon=case.coupon,
    )

    assert serialization.load_pricing(_through_json(serialization.dump_pricing(estimate))) == (
        estimate
    )


@settings(max_examples=30)
@given(pricing_cases())
def test_every_sale_and_its_tagged_rules_read_back_equal(case: PricingCase) -> None:
    assert case.sale is not None
    stored = _through_json(serialization.dump_rules(case.sale.rules))

    assert serialization.load_rules(stored) == case.sale.rules


def test_each_sale_rule_is_tagged_with_its_kind() -> None:
    rules = (
        SalePrice("int_123", "month", 559_200),
        SalePercentage("int_456", Rate.percent("8.875"), Rounding.DOWN),
    )

    stored = serialization.dump_rules(rules)

    assert stored == [
        {"kind": "price", "offering_id": "int_123", "unit": "month", "unit_price": 559_200},
        {"kind": "percentage", "offering_id": "int_456", "rate": 88_750, "rounding": "down"},
    ]
    assert serialization.load_rules(_through_json(stored)) == rules


def test_price_plans_and_cart_lines_read_back_equal() -> None:
    plans = (PricePlan("week", 25_00, 2, 12), PricePlan("month", 90_00, 1, 3))
    lines = (CartLine("int_123", Period(3, "month")), CartLine("int_456", Period(10, "day")))

    assert serialization.load_plans(_through_json(serialization.dump_plans(plans))) == plans
    assert serialization.load_lines(_through_json(serialization.dump_lines(lines))) == lines


def test_a_set_of_strings_is_stored_sorted_and_read_back_as_a_set() -> None:
    stored = serialization.dump_strings(frozenset({"rfnd_b", "rfnd_a"}))

    assert stored == ["rfnd_a", "rfnd_b"]
    assert serialization.load_strings(_through_json(stored)) == frozenset({"rfnd_a", "rfnd_b"})


@pytest.mark.parametrize("event", _every_event(), ids=lambda event: event.name)
def test_every_kind_of_event_reads_back_equal_from_its_name_and_payload(
    event: DomainEvent,
) -> None:
    stored = _through_json(serialization.dump_event(event))

    assert serialization.load_event(event.name, stored) == event


def test_every_kind_of_event_is_covered_by_the_round_trip() -> None:
    names = {event.name for event in _every_event()}

    assert names == set(EVENT_TYPES)


def test_an_event_time_keeps_its_instant_and_offset() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2026, 3, 1, 17, 30, tzinfo=india)
    event = OrderExpired.of("evt_1", make_order(), moment)

    stored = serialization.dump_event(event)
    loaded = serialization.load_event(event.name, _through_json(stored))

    assert stored["occurred_at"] == "2026-03-01T17:30:00+05:30"
    assert loaded.occurred_at == moment
    assert loaded.occurred_at.astimezone(UTC) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_an_event_of_an_unknown_name_cannot_be_read() -> None:
    with pytest.raises(KeyError):
        serialization.load_event("order.teleported", {})

"""How the values stored as JSON are written and read: one private ``cattrs`` converter.

What is stored as JSON: a cart's lines and analytics pairs, an order's
pricing (the :class:`~checkout_core.domain.pricing.Estimate` it was placed
at), an offering's plans, a sale's rules, a coupon's offerings, a payment's
refund ids and the domain events of the outbox. A currency is stored as its
code, a rate as parts per million, an enum as its value, a time as ISO 8601
text with its offset, a set as a sorted list (so equal values store alike).
A sale rule carries a ``kind`` tag naming which rule it is.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from cattrs import Converter
from cattrs.strategies import configure_tagged_union

from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import PricePlan, SalePercentage, SalePrice, SaleRule
from checkout_core.domain.events import EVENT_TYPES, DomainEvent
from checkout_core.domain.money import Currency, Rate
from checkout_core.domain.pricing import Estimate
from checkout_core.domain.validators import require_aware

__all__ = [
    "dump_event",
    "dump_lines",
    "dump_plans",
    "dump_pricing",
    "dump_rules",
    "dump_strings",
    "load_event",
    "load_lines",
    "load_plans",
    "load_pricing",
    "load_rules",
    "load_strings",
]


def _load_datetime(value: str, _: type[datetime]) -> datetime:
    moment = datetime.fromisoformat(value)
    require_aware(moment, "a stored time")
    return moment


def _make_converter() -> Converter:
    converter = Converter()
    # A StrEnum member is a str already, and str would win the dispatch over Enum;
    # its plain value keeps the stored JSON free of Python types.
    converter.register_unstructure_hook(enum.StrEnum, lambda member: member.value)
    converter.register_unstructure_hook(Currency, lambda currency: currency.code)
    converter.register_structure_hook(Currency, lambda code, _: Currency.of(code))
    converter.register_unstructure_hook(Rate, lambda rate: rate.ppm)
    converter.register_structure_hook(Rate, lambda ppm, _: Rate(ppm))
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _load_datetime)
    configure_tagged_union(
        SaleRule,
        converter,
        tag_generator={SalePrice: "price", SalePercentage: "percentage"}.__getitem__,
        tag_name="kind",
    )
    return converter


_converter: Final = _make_converter()


def dump_lines(lines: Sequence[CartLine]) -> list[dict[str, Any]]:
    """A cart's lines as JSON."""
    return _converter.unstructure(lines, list[CartLine])  # type: ignore[no-any-return]


def load_lines(data: Any) -> tuple[CartLine, ...]:  # noqa: ANN401 - decoded JSON
    """A cart's lines from JSON."""
    return _converter.structure(data, tuple[CartLine, ...])


def dump_plans(plans: Sequence[PricePlan]) -> list[dict[str, Any]]:
    """An offering's price plans as JSON."""
    return _converter.unstructure(plans, list[PricePlan])  # type: ignore[no-any-return]


def load_plans(data: Any) -> tuple[PricePlan, ...]:  # noqa: ANN401 - decoded JSON
    """An offering's price plans from JSON."""
    return _converter.structure(data, tuple[PricePlan, ...])


def dump_rules(rules: Sequence[SaleRule]) -> list[dict[str, Any]]:
    """A sale's rules as JSON, each tagged with its ``kind``."""
    return _converter.unstructure(rules, list[SaleRule])  # type: ignore[no-any-return]


def load_rules(data: Any) -> tuple[SaleRule, ...]:  # noqa: ANN401 - decoded JSON
    """A sale's rules from JSON."""
    return _converter.structure(data, tuple[SaleRule, ...])


def dump_pricing(estimate: Estimate) -> dict[str, Any]:
    """An order's pricing snapshot as JSON."""
    return _converter.unstructure(estimate, Estimate)  # type: ignore[no-any-return]


def load_pricing(data: Any) -> Estimate:  # noqa: ANN401 - decoded JSON
    """An order's pricing snapshot from JSON."""
    return _converter.structure(data, Estimate)


def dump_strings(values: frozenset[str]) -> list[str]:
    """A set of strings as a sorted JSON list."""
    return sorted(values)


def load_strings(data: Any) -> frozenset[str]:  # noqa: ANN401 - decoded JSON
    """A set of strings from a JSON list."""
    return _converter.structure(data, frozenset[str])


def dump_event(event: DomainEvent) -> dict[str, Any]:
    """A domain event's fields as JSON (its name is stored beside it)."""
    return _converter.unstructure(event, type(event))  # type: ignore[no-any-return]


def load_event(name: str, data: Any) -> DomainEvent:  # noqa: ANN401 - decoded JSON
    """The domain event called ``name`` from its JSON fields.

    Raises:
        KeyError: no event is called ``name``.
    """
    return _converter.structure(data, EVENT_TYPES[name])

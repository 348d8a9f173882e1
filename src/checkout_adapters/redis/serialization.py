"""How carts and idempotency records are written to Redis: one private ``cattrs`` converter.

Values are compact JSON. An enum is stored as its value and a time as ISO
8601 text with its offset, as the SQL adapter stores them, so a value read
back equals the one written. Reading refuses a naive time: every time the
core handles is timezone-aware.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Final

from cattrs import Converter

from checkout_core.domain.cart import Cart
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.validators import require_aware

__all__ = ["dump_cart", "dump_record", "load_cart", "load_record"]


def _load_datetime(value: str, _: type[datetime]) -> datetime:
    moment = datetime.fromisoformat(value)
    require_aware(moment, "a cached time")
    return moment


def _make_converter() -> Converter:
    converter = Converter()
    # A StrEnum member is a str already, and str would win the dispatch over Enum.
    converter.register_unstructure_hook(enum.StrEnum, lambda member: member.value)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _load_datetime)
    return converter


_converter: Final = _make_converter()


def _dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def dump_cart(cart: Cart) -> str:
    """A cart as JSON text."""
    return _dumps(_converter.unstructure(cart, Cart))


def load_cart(text: str | bytes) -> Cart:
    """A cart from the JSON text :func:`dump_cart` wrote."""
    return _converter.structure(json.loads(text), Cart)


def dump_record(record: IdempotencyRecord) -> str:
    """An idempotency record, every field of it, as JSON text."""
    return _dumps(_converter.unstructure(record, IdempotencyRecord))


def load_record(text: str | bytes) -> IdempotencyRecord:
    """An idempotency record from the JSON text :func:`dump_record` wrote."""
    return _converter.structure(json.loads(text), IdempotencyRecord)

"""Amounts in minor units written for people: ``50000`` INR is ``₹500.00``."""

from __future__ import annotations

from typing import Final

__all__ = ["format_amount"]

_SYMBOLS: Final = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
# ISO 4217 currencies without minor units, as the providers treat them.
_ZERO_DECIMAL: Final = frozenset({"BIF", "CLP", "JPY", "KRW", "PYG", "VND", "XAF", "XOF"})


def format_amount(amount: int, currency: str) -> str:
    """``amount`` minor units of ``currency`` (any case) with its symbol or code."""
    code = currency.upper()
    sign = "-" if amount < 0 else ""
    units = abs(amount)
    figure = str(units) if code in _ZERO_DECIMAL else f"{units // 100}.{units % 100:02d}"
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{figure}" if symbol else f"{sign}{figure} {code}"

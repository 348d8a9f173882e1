"""Stripe's form encoding, read back: ``a[b][0][c]=v`` pairs into nested dicts.

The stripe SDK sends every parameter as ``application/x-www-form-urlencoded``
pairs whose keys carry the nesting in brackets: ``metadata[order]=o_1``,
``line_items[0][price_data][currency]=inr``. :func:`decode_form` rebuilds
the nesting as dicts only; a list arrives as a dict keyed ``"0"``, ``"1"``...
and :func:`as_list` reads it as one where the API expects a list, since only
the API knows that ``metadata[0]`` is a key and ``line_items[0]`` an index.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["FormError", "as_list", "decode_form"]

_KEY = re.compile(r"(?P<head>[^\[\]]+)(?P<rest>(?:\[[^\[\]]*\])*)")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """A form whose keys cannot be read as Stripe writes them; ``param`` names the key."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def decode_form(text: str) -> dict[str, Any]:
    """The nested parameters of a form-encoded body or query string.

    Raises:
        FormError: a key is malformed, or one is given both as a value and as a hash.
    """
    params: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        found = _KEY.fullmatch(key)
        if found is None:
            raise FormError(f"Invalid parameter name: {key}", key)
        path = [found["head"], *_PART.findall(found["rest"])]
        node = params
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FormError(f"Invalid hash: {_name(path[: depth + 1])}", key)
            node = child
        if isinstance(node.get(path[-1]), dict):
            raise FormError(f"Invalid hash: {key}", key)
        node[path[-1]] = value
    return params


def as_list(value: object, param: str) -> list[Any]:
    """``value`` (a dict keyed ``"0"``, ``"1"``...) as the list it encodes.

    Raises:
        FormError: ``value`` is not an array as the SDK writes one.
    """
    if not isinstance(value, dict):
        raise FormError(f"Invalid array: {param}", param)
    indices = sorted(value, key=lambda index: int(index) if index.isdigit() else -1)
    if indices != [str(position) for position in range(len(value))]:
        raise FormError(f"Invalid array: {param}", param)
    return [value[index] for index in indices]


def _name(path: list[str]) -> str:
    return path[0] + "".join(f"[{part}]" for part in path[1:])

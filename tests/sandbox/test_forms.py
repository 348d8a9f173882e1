from __future__ import annotations

import pytest

from checkout_adapters.sandbox.forms import FormError, as_list, decode_form


def test_bracketed_keys_become_nested_dicts() -> None:
    form = (
        "mode=payment&line_items[0][price_data][currency]=inr"
        "&line_items[0][quantity]=2&line_items[1][quantity]=1&metadata[order]=o%201&note="
    )
    assert decode_form(form) == {
        "mode": "payment",
        "line_items": {
            "0": {"price_data": {"currency": "inr"}, "quantity": "2"},
            "1": {"quantity": "1"},
        },
        "metadata": {"order": "o 1"},
        "note": "",
    }


def test_an_array_is_read_as_a_list_in_index_order() -> None:
    assert as_list({"1": "b", "0": "a"}, "expand") == ["a", "b"]
    with pytest.raises(FormError, match="Invalid array"):
        as_list({"0": "a", "2": "c"}, "expand")
    with pytest.raises(FormError, match="Invalid array"):
        as_list("a", "expand")


def test_a_key_given_as_value_and_hash_is_refused() -> None:
    with pytest.raises(FormError, match="Invalid hash"):
        decode_form("metadata=x&metadata[a]=b")
    with pytest.raises(FormError, match="Invalid hash"):
        decode_form("metadata[a]=b&metadata=x")
    with pytest.raises(FormError, match="Invalid parameter name"):
        decode_form("[a]=b")

from __future__ import annotations

import re

import pytest

from checkout_core import errors
from checkout_core.errors import CheckoutError, CouponInvalid

ALL = [getattr(errors, name) for name in errors.__all__ if name != "ERRORS_BY_CODE"]
CONCRETE = [error for error in ALL if "code" in vars(error)]
TREE = errors.__doc__ or ""


def test_every_exported_error_descends_from_the_one_root() -> None:
    assert all(issubclass(error, CheckoutError) for error in ALL)


def test_every_concrete_error_has_a_code_of_its_own() -> None:
    codes = [error.code for error in CONCRETE]
    assert len(codes) == len(set(codes))


def test_every_concrete_error_can_be_found_by_its_code() -> None:
    leaves = [error for error in CONCRETE if error is not CheckoutError]
    assert {error.code: error for error in leaves} == errors.ERRORS_BY_CODE


@pytest.mark.parametrize("error", ALL, ids=lambda error: error.__name__)
def test_every_error_has_a_message_and_an_http_status(error: type[CheckoutError]) -> None:
    assert error.message.endswith(".")
    assert 400 <= error.http_status <= 599 or error is CheckoutError


@pytest.mark.parametrize("error", ALL, ids=lambda error: error.__name__)
def test_the_module_docstring_writes_out_every_error_with_its_code_and_status(
    error: type[CheckoutError],
) -> None:
    match = re.search(rf"── {error.__name__}\s+(\d+)?\s+(\d{{3}})\n", TREE)
    if error is CheckoutError:
        match = re.search(r"CheckoutError\s+(\d+)\s+(\d{3})\n", TREE)
    assert match is not None, f"{error.__name__} is missing from the tree"
    code, status = match.groups()
    if "code" in vars(error):
        assert int(code) == error.code
    assert int(status) == error.http_status


def test_the_seeds_invalid_coupon_keeps_its_code_message_and_status() -> None:
    assert (CouponInvalid.code, CouponInvalid.message, CouponInvalid.http_status) == (
        2004,
        "Coupon is invalid.",
        422,
    )


def test_an_error_shows_its_code_message_and_detail() -> None:
    error = CouponInvalid("SAVE99 is not a coupon")
    assert str(error) == "[2004] Coupon is invalid. SAVE99 is not a coupon"
    assert error.validation_messages == ("SAVE99 is not a coupon",)
    assert str(CouponInvalid()) == "[2004] Coupon is invalid."
    assert CouponInvalid().validation_messages == ("Coupon is invalid.",)


def test_errors_compare_by_kind_and_detail() -> None:
    assert CouponInvalid("x") == CouponInvalid("x")
    assert CouponInvalid("x") != CouponInvalid("y")
    assert CouponInvalid() != errors.CouponExpired()
    assert hash(CouponInvalid("x")) == hash(CouponInvalid("x"))
    assert repr(CouponInvalid("x")) == "CouponInvalid('x')"


def test_validation_messages_can_be_given() -> None:
    error = errors.InvalidRequest(validation_messages=["period is required", "token is required"])
    assert error.validation_messages == ("period is required", "token is required")

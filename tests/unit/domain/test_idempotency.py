from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import attrs
import pytest

from checkout_core.domain.idempotency import (
    DEFAULT_TTL,
    IdempotencyRecord,
    IdempotencyState,
    Proceed,
    Replay,
    decide,
    fingerprint,
    validate_key,
)
from checkout_core.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    InvalidRequest,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = "order-7f3c2a1e"
REQUEST_FINGERPRINT = fingerprint({"cart_token": "c-1", "coupon": "WELCOME10"})
OTHER_FINGERPRINT = fingerprint({"cart_token": "c-2", "coupon": None})


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def in_progress_record() -> IdempotencyRecord:
    return IdempotencyRecord.begin(KEY, REQUEST_FINGERPRINT, NOW)


def completed_record() -> IdempotencyRecord:
    return in_progress_record().complete(201, '{"order_id":"o-1"}')


# Which keys are valid


def test_a_key_of_printable_ascii_is_returned_unchanged() -> None:
    assert validate_key("order-7f3c:2a1e_!~") == "order-7f3c:2a1e_!~"


def test_a_key_of_one_character_is_accepted() -> None:
    assert validate_key("x") == "x"


def test_a_key_of_255_characters_is_accepted() -> None:
    assert validate_key("k" * 255) == "k" * 255


def test_an_empty_key_is_invalid() -> None:
    with pytest.raises(IdempotencyKeyInvalid, match="empty") as raised:
        validate_key("")
    assert raised.value.code == 5001


def test_a_key_of_256_characters_is_invalid() -> None:
    with pytest.raises(IdempotencyKeyInvalid, match="256 characters"):
        validate_key("k" * 256)


@pytest.mark.parametrize("key", ["order 1", "order\t1", "order\n1", "order ", "order\u00a01"])
def test_a_key_with_whitespace_is_invalid(key: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid, match="character 5"):
        validate_key(key)


@pytest.mark.parametrize("key", ["commande-é", "order-\x00", "order-\x7f", "order-😀"])
def test_a_key_with_a_character_outside_printable_ascii_is_invalid(key: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid, match="not printable ASCII"):
        validate_key(key)


def test_a_key_that_is_not_a_string_is_invalid() -> None:
    with pytest.raises(IdempotencyKeyInvalid, match="not int"):
        validate_key(12345)  # type: ignore[arg-type]


# How a request is fingerprinted


def test_the_fingerprint_is_the_sha256_of_the_canonical_json() -> None:
    request = {"quantity": 2, "cart": {"token": "c-1", "lines": [1, 2]}, "gift": False}

    assert fingerprint(request) == sha256_hex(
        '{"cart":{"lines":[1,2],"token":"c-1"},"gift":false,"quantity":2}'
    )


def test_the_fingerprint_does_not_depend_on_key_order() -> None:
    first = {"a": 1, "b": {"c": 2, "d": [3, {"e": 4, "f": 5}]}}
    second = {"b": {"d": [3, {"f": 5, "e": 4}], "c": 2}, "a": 1}

    assert fingerprint(first) == fingerprint(second)


def test_the_fingerprint_hashes_text_as_utf8_rather_than_escapes() -> None:
    assert fingerprint({"name": "Zoë"}) == sha256_hex('{"name":"Zoë"}')


def test_requests_that_differ_in_a_value_have_different_fingerprints() -> None:
    assert fingerprint({"amount": 100}) != fingerprint({"amount": 101})


def test_requests_that_differ_in_list_order_have_different_fingerprints() -> None:
    assert fingerprint({"lines": [1, 2]}) != fingerprint({"lines": [2, 1]})


def test_a_boolean_and_an_integer_have_different_fingerprints() -> None:
    assert fingerprint({"flag": True}) != fingerprint({"flag": 1})


def test_a_tuple_has_the_fingerprint_of_the_same_list() -> None:
    assert fingerprint({"lines": (1, 2)}) == fingerprint({"lines": [1, 2]})


def test_any_mapping_has_the_fingerprint_of_the_same_dict() -> None:
    assert fingerprint(MappingProxyType({"a": 1})) == fingerprint({"a": 1})


def test_a_null_value_is_part_of_the_fingerprint() -> None:
    assert fingerprint({"coupon": None}) == sha256_hex('{"coupon":null}')


def test_a_float_in_the_request_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"request\.amount is a float") as raised:
        fingerprint({"amount": 100.0})
    assert raised.value.code == 1001


def test_a_float_nested_in_a_list_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"request\.lines\[1\]\.price is a float"):
        fingerprint({"lines": [{"price": 1}, {"price": 2.5}]})


def test_a_mapping_key_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="key that is not a string"):
        fingerprint({"lines": {1: "one"}})


def test_a_value_without_a_canonical_json_form_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"request\.amount is a Decimal"):
        fingerprint({"amount": Decimal("1.00")})


def test_text_that_is_not_valid_unicode_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="not valid Unicode"):
        fingerprint({"name": "\ud800"})


# How a record begins, completes and expires


def test_beginning_makes_an_in_progress_record_that_expires_in_24_hours() -> None:
    record = IdempotencyRecord.begin(KEY, REQUEST_FINGERPRINT, NOW)

    assert record == IdempotencyRecord(
        key=KEY,
        fingerprint=REQUEST_FINGERPRINT,
        state=IdempotencyState.IN_PROGRESS,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        locked_until=NOW + timedelta(seconds=60),
        status_code=None,
        response_body=None,
    )


def test_beginning_with_a_ttl_and_a_lease_uses_them() -> None:
    record = IdempotencyRecord.begin(
        KEY, REQUEST_FINGERPRINT, NOW, ttl=timedelta(hours=1), lease=timedelta(seconds=5)
    )

    assert (record.expires_at, record.locked_until) == (
        NOW + timedelta(hours=1),
        NOW + timedelta(seconds=5),
    )


def test_beginning_with_an_invalid_key_is_refused() -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        IdempotencyRecord.begin("has space", REQUEST_FINGERPRINT, NOW)


def test_beginning_at_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        IdempotencyRecord.begin(KEY, REQUEST_FINGERPRINT, datetime(2026, 3, 1, 12, 0))  # noqa: DTZ001


@pytest.mark.parametrize("name", ["ttl", "lease"])
@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=-1)])
def test_beginning_with_a_duration_that_is_not_positive_is_refused(
    name: str, duration: timedelta
) -> None:
    with pytest.raises(ValueError, match=f"{name} must be positive"):
        IdempotencyRecord.begin(KEY, REQUEST_FINGERPRINT, NOW, **{name: duration})


def test_a_record_with_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="expires_at must be a timezone-aware datetime"):
        attrs.evolve(in_progress_record(), expires_at=datetime(2026, 3, 2))  # noqa: DTZ001


def test_completing_stores_the_response_and_leaves_the_original_in_progress() -> None:
    record = in_progress_record()

    completed = record.complete(201, '{"order_id":"o-1"}')

    assert (completed.state, completed.status_code, completed.response_body) == (
        IdempotencyState.COMPLETED,
        201,
        '{"order_id":"o-1"}',
    )
    assert (completed.key, completed.fingerprint, completed.expires_at) == (
        record.key,
        record.fingerprint,
        record.expires_at,
    )
    assert record.state is IdempotencyState.IN_PROGRESS


def test_completing_with_an_empty_body_is_allowed() -> None:
    assert in_progress_record().complete(204, "").response_body == ""


def test_completing_a_completed_record_is_refused() -> None:
    with pytest.raises(ValueError, match="already completed"):
        completed_record().complete(500, "{}")


@pytest.mark.parametrize("status", [99, 600, True])
def test_completing_with_something_that_is_not_an_http_status_is_refused(status: int) -> None:
    with pytest.raises(ValueError, match="is not an HTTP status code"):
        in_progress_record().complete(status, "{}")


def test_a_completed_record_without_a_response_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a status code and a response body"):
        attrs.evolve(in_progress_record(), state=IdempotencyState.COMPLETED, status_code=200)


def test_an_in_progress_record_with_a_response_is_refused() -> None:
    with pytest.raises(ValueError, match="has no response yet"):
        attrs.evolve(in_progress_record(), response_body="{}")


def test_a_record_is_not_expired_before_its_expiry() -> None:
    assert not in_progress_record().is_expired(
        NOW + timedelta(hours=24) - timedelta(microseconds=1)
    )


def test_a_record_is_expired_from_its_expiry_on() -> None:
    record = in_progress_record()

    assert record.is_expired(NOW + timedelta(hours=24))
    assert record.is_expired(NOW + timedelta(days=3))


def test_an_in_progress_record_is_abandoned_from_the_end_of_its_lease() -> None:
    record = in_progress_record()

    assert not record.is_abandoned(NOW + timedelta(seconds=59))
    assert record.is_abandoned(NOW + timedelta(seconds=60))


def test_a_completed_record_is_never_abandoned() -> None:
    assert not completed_record().is_abandoned(NOW + timedelta(hours=1))


# What a request with a key gets


def test_a_new_key_proceeds() -> None:
    assert decide(None, REQUEST_FINGERPRINT, NOW) == Proceed()


def test_a_completed_key_with_the_same_request_replays_the_stored_response() -> None:
    record = completed_record()

    decision = decide(record, REQUEST_FINGERPRINT, NOW + timedelta(minutes=5))

    assert decision == Replay(record)
    assert isinstance(decision, Replay)
    assert (decision.status_code, decision.response_body) == (201, '{"order_id":"o-1"}')


def test_a_key_used_with_a_different_request_is_a_mismatch() -> None:
    with pytest.raises(IdempotencyKeyMismatch, match=KEY) as raised:
        decide(completed_record(), OTHER_FINGERPRINT, NOW + timedelta(minutes=5))
    assert (raised.value.code, raised.value.http_status) == (5002, 422)


def test_a_key_still_in_progress_is_a_conflict() -> None:
    with pytest.raises(IdempotencyKeyInProgress, match="held until") as raised:
        decide(in_progress_record(), REQUEST_FINGERPRINT, NOW + timedelta(seconds=59))
    assert (raised.value.code, raised.value.http_status) == (5003, 409)


def test_a_key_in_progress_with_a_different_request_is_a_mismatch_rather_than_a_conflict() -> None:
    with pytest.raises(IdempotencyKeyMismatch):
        decide(in_progress_record(), OTHER_FINGERPRINT, NOW + timedelta(seconds=1))


def test_an_in_progress_key_past_its_lease_proceeds_so_the_caller_takes_it_over() -> None:
    assert decide(in_progress_record(), REQUEST_FINGERPRINT, NOW + timedelta(seconds=60)) == (
        Proceed()
    )


def test_an_abandoned_key_used_with_a_different_request_is_still_a_mismatch() -> None:
    with pytest.raises(IdempotencyKeyMismatch):
        decide(in_progress_record(), OTHER_FINGERPRINT, NOW + timedelta(minutes=5))


def test_an_expired_completed_key_proceeds_as_if_new() -> None:
    assert decide(completed_record(), REQUEST_FINGERPRINT, NOW + DEFAULT_TTL) == Proceed()


def test_an_expired_key_proceeds_even_with_a_different_request() -> None:
    assert decide(completed_record(), OTHER_FINGERPRINT, NOW + DEFAULT_TTL) == Proceed()


def test_deciding_at_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(None, REQUEST_FINGERPRINT, datetime(2026, 3, 1, 12, 0))  # noqa: DTZ001


def test_only_a_completed_record_can_be_replayed() -> None:
    with pytest.raises(ValueError, match="only a completed record can be replayed"):
        Replay(in_progress_record())

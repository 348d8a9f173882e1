from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from checkout_adapters.observability import (
    REDACTED,
    configure_logging,
    correlation_scope,
    redact_text,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJ1c3JfMSIsImVtYWlsIjoiYUBiLmNvIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Where the logs go; the root logger and structlog are put back as they were after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_stdlib_record_is_one_json_line(stream: io.StringIO) -> None:
    configure_logging(stream=stream)

    logging.getLogger("checkout_adapters.workers").info("enrolled %d buyers", 3)

    [line] = lines(stream)
    assert line["event"] == "enrolled 3 buyers"
    assert line["level"] == "info"
    assert line["logger"] == "checkout_adapters.workers"
    assert "correlation_id" not in line
    timestamp = datetime.fromisoformat(line["timestamp"])
    assert timestamp.utcoffset() == UTC.utcoffset(None)
    assert abs(datetime.now(UTC) - timestamp).total_seconds() < 60


def test_a_line_carries_the_correlation_id_of_the_request(stream: io.StringIO) -> None:
    configure_logging(stream=stream)

    with correlation_scope("req-7f3a"):
        logging.getLogger("checkout_core.services").warning("coupon refused")
        structlog.get_logger("host").info("order placed", order="ord_1")
    logging.getLogger("checkout_core.services").warning("outside a request")

    inside, from_structlog, outside = lines(stream)
    assert inside["correlation_id"] == "req-7f3a"
    assert from_structlog["correlation_id"] == "req-7f3a"
    assert from_structlog["order"] == "ord_1"
    assert from_structlog["logger"] == "host"
    assert "correlation_id" not in outside


def test_a_stdlib_message_is_masked_of_addresses_and_tokens(stream: io.StringIO) -> None:
    configure_logging(stream=stream)

    logging.getLogger("checkout_adapters.notifications").error(
        "mail to %s failed; session %s", "asha.rao+test@example.co.in", JWT
    )

    [line] = lines(stream)
    assert line["event"] == f"mail to {REDACTED} failed; session {REDACTED}"
    assert "example.co.in" not in json.dumps(line)
    assert "eyJ" not in json.dumps(line)


def test_fields_named_like_secrets_are_masked_at_any_depth(stream: io.StringIO) -> None:
    configure_logging(stream=stream)

    logging.getLogger("checkout_adapters.fastapi").info(
        "webhook", extra={"signature": "abc", "buyer_email": "b@example.com", "attempt": 2}
    )
    structlog.get_logger("host").info(
        "call",
        headers={"Authorization": "Bearer abc", "Cookie": "s=1", "Accept": "*/*"},
        api_key="k",
        password="hunter2",
        cart_token="3f2a-77",
        notes=["see b@example.com"],
        verified=True,
    )

    from_stdlib, from_structlog = lines(stream)
    assert from_stdlib["signature"] == REDACTED
    assert from_stdlib["buyer_email"] == REDACTED
    assert from_stdlib["attempt"] == 2
    assert from_structlog["headers"] == {
        "Authorization": REDACTED,
        "Cookie": REDACTED,
        "Accept": "*/*",
    }
    assert from_structlog["api_key"] == REDACTED
    assert from_structlog["password"] == REDACTED
    assert from_structlog["cart_token"] == REDACTED
    assert from_structlog["notes"] == [f"see {REDACTED}"]
    assert from_structlog["verified"] is True


def _send() -> None:
    raise RuntimeError("SMTP refused buyer@example.com")


def test_a_traceback_is_masked_too(stream: io.StringIO) -> None:
    configure_logging(stream=stream)

    try:
        _send()
    except RuntimeError:
        logging.getLogger("checkout_adapters.notifications").exception("send failed")

    [line] = lines(stream)
    assert "RuntimeError" in line["exception"]
    assert "buyer@example.com" not in line["exception"]


def test_configuring_twice_keeps_one_handler(stream: io.StringIO) -> None:
    configure_logging(stream=io.StringIO())
    configure_logging(stream=stream)
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if handler.get_name() == "checkout"]

    logging.getLogger("checkout").warning("once")

    assert len(ours) == 1
    assert [line["event"] for line in lines(stream)] == ["once"]


def test_the_level_is_the_threshold(stream: io.StringIO) -> None:
    configure_logging(stream=stream, level="warning")

    logging.getLogger("checkout").info("quiet")
    structlog.get_logger("host").info("quiet too")
    logging.getLogger("checkout").warning("loud")

    assert [line["event"] for line in lines(stream)] == ["loud"]


def test_console_lines_are_masked_as_well(stream: io.StringIO) -> None:
    configure_logging(json=False, stream=stream)

    logging.getLogger("checkout").info("reset link sent to a@example.com")

    text = stream.getvalue()
    assert "reset link sent to" in text
    assert "a@example.com" not in text
    assert REDACTED in text


@pytest.mark.parametrize(
    "secret",
    [
        "rzp_live_ILgsfZCZoFIKMb",
        "rzp_test_1DP5mmOlF5G5ag",
        "sk_live_51H8xYzAbCdEfGhIjKl",
        "whsec_a1b2c3d4e5f6g7h8",
        "5c50d7a6e3b0f2e0c4d1a9b8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8",
        JWT,
    ],
)
def test_key_like_secrets_in_text_are_masked(secret: str) -> None:
    assert redact_text(f"verifying with {secret} now") == f"verifying with {REDACTED} now"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer abc.def-123", f"Authorization: Bearer {REDACTED}"),
        ("got password=hunter2&user=1", f"got password={REDACTED}&user=1"),
        ('{"api_key": "k-123", "n": 1}', f'{{"api_key": "{REDACTED}", "n": 1}}'),
    ],
)
def test_secrets_written_into_text_are_masked(text: str, masked: str) -> None:
    assert redact_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "loaded checkout_adapters.sqlalchemy.engine from api.example.com",
        "order ord_3f9c2b7a1d0e4f5a6b7c8d9e0f1a2b3c paid",
        "retry 3 of 5 after 2.5 s",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text

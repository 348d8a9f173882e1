from __future__ import annotations

import json
import logging
import urllib.error
from datetime import UTC, datetime

import pytest

from checkout_adapters.memory.senders import RecordingAlertSink
from checkout_adapters.notifications import (
    AlertNotDelivered,
    FanOutAlertSink,
    LogAlertSink,
    WebhookAlertSink,
)
from checkout_core.domain.messages import Alert, AlertSeverity
from checkout_core.ports import AlertSink
from tests.notifications.servers import WebhookServer, free_port

ALERT = Alert(
    severity=AlertSeverity.CRITICAL,
    title="dead letter",
    detail="enrollment of ord_1 failed 5 times",
    occurred_at=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
)


def test_the_webhook_receives_the_alert_as_json(webhook_server: WebhookServer) -> None:
    sink: AlertSink = WebhookAlertSink(
        webhook_server.url, headers={"Authorization": "Bearer hook-secret"}
    )
    sink.send(ALERT)

    [request] = webhook_server.requests
    assert request.method == "POST"
    assert request.path == "/alerts"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer hook-secret"
    assert json.loads(request.body) == {
        "severity": "critical",
        "title": "dead letter",
        "detail": "enrollment of ord_1 failed 5 times",
        "occurred_at": "2025-03-01T12:30:00+00:00",
    }
    assert "hook-secret" not in repr(sink)


@pytest.mark.parametrize("status", [200, 202, 204])
def test_any_2xx_is_delivered(webhook_server: WebhookServer, status: int) -> None:
    webhook_server.answer(status)
    WebhookAlertSink(webhook_server.url).send(ALERT)
    assert len(webhook_server.requests) == 1


@pytest.mark.parametrize("status", [500, 503, 404, 401])
def test_an_error_status_raises(webhook_server: WebhookServer, status: int) -> None:
    webhook_server.answer(status)
    with pytest.raises(AlertNotDelivered, match=f"HTTP {status}") as refused:
        WebhookAlertSink(webhook_server.url).send(ALERT)
    assert refused.value.status == status
    assert refused.value.retryable
    assert isinstance(refused.value.__cause__, urllib.error.HTTPError)


def test_a_redirect_is_not_followed(webhook_server: WebhookServer) -> None:
    webhook_server.answer(302, location="/elsewhere")
    with pytest.raises(AlertNotDelivered) as refused:
        WebhookAlertSink(webhook_server.url).send(ALERT)
    assert refused.value.status == 302
    assert [request.method for request in webhook_server.requests] == ["POST"]


def test_an_unreachable_webhook_raises() -> None:
    sink = WebhookAlertSink(f"http://127.0.0.1:{free_port()}/alerts", timeout=2.0)
    with pytest.raises(AlertNotDelivered, match="did not reach") as failed:
        sink.send(ALERT)
    assert failed.value.status is None
    assert isinstance(failed.value.__cause__, urllib.error.URLError)


def test_a_webhook_that_never_answers_times_out(silent_port: int) -> None:
    sink = WebhookAlertSink(f"http://127.0.0.1:{silent_port}/alerts", timeout=0.3)
    with pytest.raises(AlertNotDelivered):
        sink.send(ALERT)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/x", "http://", "hooks"])
def test_only_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        WebhookAlertSink(url)


def test_the_fan_out_sends_to_every_sink() -> None:
    first, second = RecordingAlertSink(), RecordingAlertSink()
    sink: AlertSink = FanOutAlertSink(first, second)
    sink.send(ALERT)
    assert first.alerts == second.alerts == [ALERT]


def test_the_log_still_gets_the_alert_when_the_webhook_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="checkout.alerts")
    down = WebhookAlertSink(f"http://127.0.0.1:{free_port()}/alerts", timeout=2.0)
    after = RecordingAlertSink()
    fan_out = FanOutAlertSink(down, LogAlertSink(), after)

    with pytest.raises(AlertNotDelivered, match="1 of 3 alert sinks failed") as failed:
        fan_out.send(ALERT)

    assert [record.levelno for record in caplog.records] == [logging.CRITICAL]
    assert "dead letter" in caplog.text
    assert after.alerts == [ALERT]
    [failure] = failed.value.failures
    assert isinstance(failure, AlertNotDelivered)
    assert isinstance(failed.value.__cause__, ExceptionGroup)
    assert list(failed.value.__cause__.exceptions) == [failure]


def test_the_fan_out_collects_every_failure(webhook_server: WebhookServer) -> None:
    class Broken:
        def send(self, alert: Alert) -> None:
            raise RuntimeError(f"cannot send {alert.title}")

    webhook_server.answer(500)
    recorded = RecordingAlertSink()
    fan_out = FanOutAlertSink(Broken(), WebhookAlertSink(webhook_server.url), recorded)

    with pytest.raises(AlertNotDelivered, match="2 of 3") as failed:
        fan_out.send(ALERT)

    assert [type(failure) for failure in failed.value.failures] == [
        RuntimeError,
        AlertNotDelivered,
    ]
    assert recorded.alerts == [ALERT]
    assert len(webhook_server.requests) == 1


def test_a_fan_out_needs_a_sink() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FanOutAlertSink()

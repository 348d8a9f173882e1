"""Alert sinks: an HTTP webhook, and a fan-out that sends each alert to several sinks.

Sinks are pluggable: anything with ``send(alert)`` is an
:class:`~checkout_core.ports.AlertSink`. The usual arrangement is a
:class:`FanOutAlertSink` over the log sink and a webhook, so that an alert
is still logged when the webhook is down::

    FanOutAlertSink(LogAlertSink(), WebhookAlertSink("https://hooks.example.com/checkout"))
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Final

from attrs import field, frozen

from checkout_adapters.notifications.errors import AlertNotDelivered
from checkout_core.domain.messages import Alert
from checkout_core.ports import AlertSink

__all__ = ["FanOutAlertSink", "WebhookAlertSink", "alert_payload"]

_USER_AGENT: Final = "checkout-alerts"


def alert_payload(alert: Alert) -> dict[str, str]:
    """The JSON object a webhook receives for ``alert``."""
    return {
        "severity": str(alert.severity),
        "title": alert.title,
        "detail": alert.detail,
        "occurred_at": alert.occurred_at.isoformat(),
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: following one would turn the POST into a GET and lose the alert."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:  # noqa: ARG002
        return None


def _http_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"an alert webhook needs an http(s) URL, not {url!r}")
    return url


def _header_map(headers: Mapping[str, str] | None) -> dict[str, str]:
    return dict(headers or {})


@frozen
class WebhookAlertSink:
    """POSTs each alert as JSON to ``url``; anything but a 2xx answer is a failure.

    The body is ``{"severity", "title", "detail", "occurred_at"}`` (ISO 8601).
    ``headers`` are added to each request (an ``Authorization`` header, say);
    they are kept out of the sink's ``repr``. Redirects are not followed.
    """

    url: str = field(converter=_http_url)
    timeout: float = field(default=5.0, kw_only=True)
    headers: dict[str, str] = field(factory=dict, converter=_header_map, kw_only=True, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError(f"the webhook timeout must be positive, not {self.timeout}")

    def send(self, alert: Alert) -> None:
        """POST ``alert`` to the webhook.

        Raises:
            AlertNotDelivered: the webhook answered with a status that is not
                2xx (``status`` says which), or could not be reached; the
                ``urllib`` error is chained.
        """
        request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked when built
            self.url,
            data=json.dumps(alert_payload(alert)).encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": _USER_AGENT,
                **self.headers,
            },
            method="POST",
        )
        opener = urllib.request.build_opener(_NoRedirect)
        what = f"the alert {alert.title!r}"
        try:
            with opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            raise AlertNotDelivered(
                f"{what} was refused by the webhook with HTTP {exc.code}", status=exc.code
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise AlertNotDelivered(
                f"{what} did not reach the webhook ({type(exc).__name__})"
            ) from exc
        if not 200 <= status < 300:
            raise AlertNotDelivered(
                f"{what} was answered by the webhook with HTTP {status}", status=status
            )


class FanOutAlertSink:
    """Sends each alert to every one of ``sinks``, in order, whatever becomes of the others.

    When some fail, one :class:`AlertNotDelivered` is raised after all were
    tried, with an ``ExceptionGroup`` of the failures chained; ``failures``
    on it holds them too.
    """

    def __init__(self, *sinks: AlertSink) -> None:
        if not sinks:
            raise ValueError("a fan-out needs at least one alert sink")
        self.sinks: tuple[AlertSink, ...] = sinks

    def __repr__(self) -> str:
        return f"FanOutAlertSink({', '.join(map(repr, self.sinks))})"

    def send(self, alert: Alert) -> None:
        """Send ``alert`` to each sink.

        Raises:
            AlertNotDelivered: one or more sinks failed (the others still got the alert).
        """
        failures: list[Exception] = []
        for sink in self.sinks:
            try:
                sink.send(alert)
            except Exception as exc:  # noqa: BLE001 - a sink's failure must not starve the rest
                failures.append(exc)
        if failures:
            raise AlertNotDelivered(
                f"{len(failures)} of {len(self.sinks)} alert sinks failed "
                f"to send the alert {alert.title!r}",
                failures=tuple(failures),
            ) from ExceptionGroup("alert sinks failed", failures)

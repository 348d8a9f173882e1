"""Razorpay's HTTP API through the official SDK: typed, timed out, quiet, errors translated.

The ``razorpay`` SDK is untyped, sets no timeout, and prints to stdout when
a connection fails ("Connection failed.", "Request timed out.", "Request
error occurred: ..."). This module keeps all of that at arm's length:

- The SDK sends through a :class:`QuietSession` that puts this adapter's
  timeout on every request, and turns a failure of ``requests`` (refused,
  timed out, a body that is not JSON) into a
  :class:`~checkout_core.domain.gateway.GatewayError` *before* the SDK sees
  it. The SDK catches only ``requests``' exceptions, so its printing
  handlers never run. Redirecting ``sys.stdout`` around calls would not do:
  it swaps the stream for every thread of the host.
- Every other error the SDK raises is translated by :func:`gateway_error`
  (``raise ... from exc``): ``BadRequestError`` is final, ``ServerError``
  and Razorpay's ``GatewayError`` may succeed when tried again.
- Answers are read into the typed records of
  :mod:`checkout_adapters.razorpay.entities`; an answer of the wrong shape
  is a ``GatewayError`` that retrying will not cure.

No vendor exception and no ``Any`` leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import razorpay
import requests
from razorpay import errors as razorpay_errors

from checkout_adapters.razorpay.entities import (
    MalformedEntity,
    RazorpayOrder,
    RazorpayPayment,
    RazorpayRefund,
    json_object,
)
from checkout_core.domain.gateway import GatewayError

__all__ = ["RAZORPAY_PROVIDER", "QuietSession", "RazorpayApi", "gateway_error"]

RAZORPAY_PROVIDER: Final = "razorpay"
"""The provider name stored on payments made through Razorpay."""

REFUND_IDEMPOTENCY_HEADER: Final = "X-Refund-Idempotency"
"""The header that makes Razorpay's refund API idempotent (a key of 10 or more ``[\\w-]``)."""

_T = TypeVar("_T")

# Answers that mean "not now" rather than "never", whatever error code the
# body carries: Razorpay sends a rate limit (429) and a refund still being
# processed under the same idempotency key (409) as BAD_REQUEST_ERROR,
# which the SDK would raise as a final BadRequestError.
_RETRY_LATER: Final = frozenset({408, 409, 425, 429})


_RETRYABLE: Final[tuple[type[Exception], ...]] = (
    razorpay_errors.ServerError,
    razorpay_errors.GatewayError,
    requests.Timeout,
    requests.ConnectionError,
    # A 5xx from something in front of Razorpay, answering in HTML.
    requests.JSONDecodeError,
)


class QuietSession:
    """What the SDK takes for its ``requests.Session``: a timeout on every call, no prints.

    Wraps a real session. A ``requests`` failure becomes a
    :class:`~checkout_core.domain.gateway.GatewayError` here, which the SDK
    lets through untouched; an answer the SDK would choke on (a body that is
    not JSON, from a proxy or a load balancer) likewise.
    """

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self._session = session
        self._timeout = timeout

    # The SDK calls these by name, with requests' own keyword arguments.
    def get(self, url: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401, D102 - requests' keywords
        return self._send("GET", url, kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401, D102 - requests' keywords
        return self._send("POST", url, kwargs)

    def patch(self, url: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401, D102 - requests' keywords
        return self._send("PATCH", url, kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401, D102 - requests' keywords
        return self._send("PUT", url, kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401, D102 - requests' keywords
        return self._send("DELETE", url, kwargs)

    def close(self) -> None:
        """Close the wrapped session's connections."""
        self._session.close()

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        kwargs["timeout"] = self._timeout
        try:
            response = self._session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise gateway_error(exc, f"{method} {url}") from exc
        status = response.status_code
        if status == 204:  # No Content: nothing to decode
            return response
        try:
            response.json()
        except ValueError as exc:
            raise GatewayError(
                f"Razorpay answered {method} {url} with {status} and a body that is not JSON",
                retryable=status >= 500 or status in _RETRY_LATER,
                provider=RAZORPAY_PROVIDER,
            ) from exc
        if status in _RETRY_LATER:
            raise GatewayError(
                f"Razorpay answered {method} {url} with {status}: try again later",
                retryable=True,
                provider=RAZORPAY_PROVIDER,
            )
        return response


def gateway_error(exc: Exception, doing: str) -> GatewayError:
    """Translate an exception raised while ``doing`` a call into the library's error."""
    if isinstance(exc, GatewayError):
        return exc
    retryable = isinstance(exc, _RETRYABLE)
    kind = type(exc).__name__
    return GatewayError(
        f"Razorpay failed to {doing}: {kind}: {exc}",
        retryable=retryable,
        provider=RAZORPAY_PROVIDER,
    )


class RazorpayApi:
    """The calls the gateway makes, each typed and translated.

    Raises :class:`~checkout_core.domain.gateway.GatewayError` and nothing
    else from every method.
    """

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        *,
        base_url: str,
        timeout: float,
        session: requests.Session | None,
    ) -> None:
        self._owned_session = session is None
        self._session = QuietSession(session or requests.Session(), timeout)
        # The SDK appends "/v1/..." itself: its base URL is the host alone.
        self._client: Any = razorpay.Client(
            auth=(key_id, key_secret), base_url=base_url.rstrip("/"), session=self._session
        )

    def close(self) -> None:
        """Close the HTTP session, if this client made it."""
        if self._owned_session:
            self._session.close()

    def create_order(self, body: Mapping[str, object]) -> RazorpayOrder:
        """``POST /v1/orders``."""
        return self._call(
            "create an order", RazorpayOrder.from_json, self._client.order.create, body
        )

    def fetch_order(self, order_id: str) -> RazorpayOrder:
        """``GET /v1/orders/{id}``."""
        return self._call(
            f"fetch order {order_id}", RazorpayOrder.from_json, self._client.order.fetch, order_id
        )

    def order_payments(self, order_id: str) -> list[RazorpayPayment]:
        """``GET /v1/orders/{id}/payments``: every attempt to pay the order."""
        return self._call(
            f"list the payments of order {order_id}",
            _payments,
            self._client.order.payments,
            order_id,
        )

    def refund(
        self, payment_id: str, body: Mapping[str, object], *, idempotency_key: str
    ) -> RazorpayRefund:
        """``POST /v1/payments/{id}/refund`` under an idempotency key."""
        return self._call(
            f"refund payment {payment_id}",
            RazorpayRefund.from_json,
            self._client.payment.refund,
            payment_id,
            # The SDK mutates the dict it is given; hand it a copy.
            dict(body),
            headers={REFUND_IDEMPOTENCY_HEADER: idempotency_key},
        )

    def _call(
        self,
        doing: str,
        read: Callable[[object], _T],
        call: Callable[..., object],
        *args: object,
        **kwargs: object,
    ) -> _T:
        try:
            answer = call(*args, **kwargs)
        except GatewayError:
            raise
        except Exception as exc:  # the untyped SDK raises what it likes
            raise gateway_error(exc, doing) from exc
        try:
            return read(answer)
        except MalformedEntity as exc:
            raise GatewayError(
                f"Razorpay's answer to {doing} is malformed: {exc}",
                retryable=False,
                provider=RAZORPAY_PROVIDER,
            ) from exc


def _payments(value: object) -> list[RazorpayPayment]:
    items = json_object(value, "payments collection").get("items")
    if not isinstance(items, list):
        raise MalformedEntity("a collection's items is a list")
    return [RazorpayPayment.from_json(item) for item in items]

"""The hosted pay page: where a person, or a test over HTTP, pays or fails a payment.

``GET /pay/{provider}/{ref}`` shows the amount and two buttons; they POST to
``/pay/{provider}/{ref}/complete`` and ``/pay/{provider}/{ref}/fail``, which
answer JSON. After a Stripe payment the page follows the session's
``success_url``; a Razorpay page opened with ``?callback_url=...`` posts the
fields Razorpay Checkout posts there (``razorpay_payment_id``,
``razorpay_order_id``, ``razorpay_signature``, or ``error[...]``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qs

from attrs import frozen

from checkout_adapters.sandbox.amounts import format_amount
from checkout_adapters.sandbox.errors import NotPayable, UnknownReference
from checkout_adapters.sandbox.routing import (
    ApiRequest,
    ApiResponse,
    JsonObject,
    Route,
    json_response,
)

__all__ = ["PayPage", "PaySummary", "Payable"]


@frozen
class PaySummary:
    """What the pay page shows of an order or session."""

    provider: str
    ref: str
    amount: int
    currency: str
    title: str
    status: str
    payable: bool


class Payable(Protocol):
    """A provider's emulation as the pay page drives it."""

    def summary(self, ref: str) -> PaySummary:
        """What to show for ``ref``.

        Raises:
            UnknownReference: there is no such order or session.
        """
        ...

    def complete(self, ref: str) -> JsonObject:
        """Pay ``ref`` in full, raise the provider's events, and say what the browser gets.

        Raises:
            UnknownReference: there is no such order or session.
            NotPayable: it is paid already, or expired.
        """
        ...

    def fail(self, ref: str, *, code: str | None, reason: str | None) -> JsonObject:
        """Fail a payment attempt on ``ref`` and raise the provider's event.

        Raises:
            UnknownReference: there is no such order or session.
            NotPayable: it is paid already, or expired.
        """
        ...


@frozen
class PayPage:
    """The pay page's routes over the emulations, by provider name."""

    providers: Mapping[str, Payable]

    def routes(self) -> list[Route]:
        """``GET /pay/{provider}/{ref}`` and the two ``POST`` actions."""
        ref = r"/pay/(?P<provider>[a-z]+)/(?P<ref>[A-Za-z0-9_]+)"
        return [
            Route("GET", ref, self._show),
            Route("POST", ref + "/complete", self._complete),
            Route("POST", ref + "/fail", self._fail),
        ]

    def _show(self, request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        try:
            summary = self._provider(path["provider"]).summary(path["ref"])
        except UnknownReference as exc:
            return json_response(404, {"error": str(exc)})
        callback = parse_qs(request.query).get("callback_url", [None])[0]
        return ApiResponse(
            200, _render(summary, request.path, callback), content_type="text/html; charset=utf-8"
        )

    def _complete(self, _request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        try:
            return json_response(200, self._provider(path["provider"]).complete(path["ref"]))
        except UnknownReference as exc:
            return json_response(404, {"error": str(exc)})
        except NotPayable as exc:
            return json_response(409, {"error": str(exc)})

    def _fail(self, request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        options = _options(request.body)
        try:
            answer = self._provider(path["provider"]).fail(
                path["ref"], code=options.get("code"), reason=options.get("reason")
            )
        except UnknownReference as exc:
            return json_response(404, {"error": str(exc)})
        except NotPayable as exc:
            return json_response(409, {"error": str(exc)})
        return json_response(200, answer)

    def _provider(self, name: str) -> Payable:
        provider = self.providers.get(name)
        if provider is None:
            raise UnknownReference(f"the sandbox emulates no provider {name!r}")
        return provider


def _options(body: bytes) -> dict[str, str]:
    # A test may say how the payment fails: {"code": ..., "reason": ...}; a browser sends nothing.
    try:
        options = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    if not isinstance(options, dict):
        return {}
    return {key: value for key, value in options.items() if isinstance(value, str)}


def _script_value(value: object) -> str:
    # JSON inside <script>: "<" escaped, so no value can close the element.
    return json.dumps(value).replace("<", "\\u003c")


def _render(summary: PaySummary, path: str, callback_url: str | None) -> bytes:
    disabled = "" if summary.payable else " disabled"
    title = f"{summary.provider.capitalize()} sandbox"
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 30rem; margin: 4rem auto; padding: 0 1rem; }}
.amount {{ font-size: 2rem; margin: 0.5rem 0; }}
button {{ font-size: 1rem; padding: 0.5rem 1.5rem; margin-right: 0.5rem; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(summary.title)}</p>
<p class="amount">{html.escape(format_amount(summary.amount, summary.currency))}</p>
<p>Reference <code>{html.escape(summary.ref)}</code>, status
<strong id="status">{html.escape(summary.status)}</strong></p>
<button id="pay"{disabled}>Pay</button>
<button id="fail"{disabled}>Fail</button>
<pre id="result"></pre>
<script>
const page = {_script_value(path)};
const callbackUrl = {_script_value(callback_url)};
async function act(action) {{
  const response = await fetch(page + "/" + action, {{method: "POST"}});
  const answer = await response.json();
  document.getElementById("result").textContent = JSON.stringify(answer, null, 2);
  if (answer.status) document.getElementById("status").textContent = answer.status;
  if (answer.redirect_url) {{ window.location.assign(answer.redirect_url); return; }}
  if (callbackUrl && answer.callback_fields) {{
    const form = document.createElement("form");
    form.method = "POST";
    form.action = callbackUrl;
    for (const [name, value] of Object.entries(answer.callback_fields)) {{
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    }}
    document.body.appendChild(form);
    form.submit();
  }}
}}
document.getElementById("pay").onclick = () => act("complete");
document.getElementById("fail").onclick = () => act("fail");
</script>
</body>
</html>
"""
    return page.encode()

"""``python -m checkout_adapters.sandbox``: run a sandbox until interrupted.

Prints one JSON object, flushed at once, with the base URL, the
credentials and the webhook secrets, then serves until Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from types import FrameType

import click

from checkout_adapters.sandbox.server import Sandbox

__all__ = ["main"]


@click.command()
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option(
    "--webhook-url",
    default=None,
    help="Where webhooks go; {provider} in it becomes razorpay or stripe.",
)
def main(port: int, webhook_url: str | None) -> None:
    """Serve Razorpay's and Stripe's APIs, a pay page and signed webhooks on 127.0.0.1."""
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    with Sandbox(port=port, webhook_target=webhook_url) as sandbox:
        facts = {
            "base_url": sandbox.base_url,
            "razorpay": {
                "key_id": sandbox.razorpay_key_id,
                "key_secret": sandbox.razorpay_key_secret,
                "webhook_secret": sandbox.razorpay_webhook_secret,
                "checkout_url": f"{sandbox.base_url}/pay/razorpay/{{order_id}}",
            },
            "stripe": {
                "api_key": sandbox.stripe_api_key,
                "webhook_secret": sandbox.stripe_webhook_secret,
            },
            "webhook_target": webhook_url,
        }
        click.echo(json.dumps(facts, indent=2))
        # Ctrl-C ends the wait; leaving the block stops the sandbox.
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()


if __name__ == "__main__":
    main()

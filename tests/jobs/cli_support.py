"""What the tests of the operations commands share: an environment, a server, its data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final

from click.testing import CliRunner, Result
from sqlalchemy import make_url

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.cli import main
from checkout_adapters.demo import demo_catalog, seed_demo_catalog
from checkout_adapters.memory import FixedClock
from checkout_adapters.settings import ServerSettings
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Period
from tests.redis_support import reachable_redis

__all__ = [
    "REDIS_URL",
    "cli_environment",
    "dead_letter_everything",
    "invoke",
    "place_free_order",
    "redis_database",
    "server_for",
    "stale_carts",
]

REDIS_URL: Final = str(
    make_url(os.environ.get("CHECKOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")).set(
        database="14"
    )
)
"""A Redis database of the command tests' own (14), so that other suites' flushes miss it."""


def cli_environment(database_url: str, **variables: str) -> dict[str, str]:
    """Every ``CHECKOUT_*`` variable of this process unset, the database and ``variables`` set."""
    unset = {name: "" for name in os.environ if name.startswith("CHECKOUT_")}
    return {**unset, "CHECKOUT_DATABASE_URL": database_url, **variables}


def invoke(environment: Mapping[str, str], *arguments: str) -> Result:
    """Run ``checkout ARGUMENTS`` in-process under ``environment``."""
    return CliRunner().invoke(main, list(arguments), env=dict(environment))


@contextmanager
def server_for(environment: Mapping[str, str], *, at: datetime | None = None) -> Iterator[Served]:
    """The server the commands build from ``environment``, on a clock at ``at`` if given."""
    settings = ServerSettings.from_env({k: v for k, v in environment.items() if v})
    with served(settings, clock=FixedClock(at) if at else None) as server:
        yield server


def stale_carts(environment: Mapping[str, str], count: int) -> None:
    """``count`` carts of the demo's catalog, opened three days ago: their day ran out."""
    with server_for(environment, at=datetime.now(UTC) - timedelta(days=3)) as server:
        seed_demo_catalog(server.catalog, demo_catalog())
        for _ in range(count):
            server.checkout.carts.create_cart([CartLine("int_456", Period(1, "month"))]).unwrap()


def place_free_order(server: Served) -> str:
    """A free order by ``user_42``: its welcome email waits in the outbox; its token."""
    seed_demo_catalog(server.catalog, demo_catalog())
    checkout = server.checkout
    cart = checkout.carts.create_cart([CartLine("int_456", Period(1, "month"))]).unwrap()
    placed = checkout.orders.create_from_cart(cart.token, f"idem_{uuid.uuid4().hex}", "user_42")
    return placed.unwrap().receipt.order_token


def dead_letter_everything(server: Served) -> list[str]:
    """Publish what the outbox holds, take it as the enrollment group, dead-letter it all."""
    if server.relay is not None:
        server.relay.relay_once()
    queue = server.worker.queue
    deliveries = queue.receive(
        server.worker.group,
        "test",
        limit=100,
        wait=timedelta(seconds=1),
        visibility=timedelta(seconds=30),
    )
    for delivery in deliveries:
        queue.dead_letter(server.worker.group, delivery, "RuntimeError: the test gave up")
    return [delivery.message_id for delivery in deliveries]


@contextmanager
def redis_database() -> Iterator[str]:
    """The command tests' Redis database, emptied before and after; fails if unreachable."""
    client = reachable_redis(REDIS_URL)
    try:
        client.flushdb()
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()

"""Fixtures of the HTTP API's tests: the embedded checkout seeded with the demo's catalog."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checkout_adapters.bootstrap import Embedded
from tests.fastapi_adapter.support import RecordingMetrics, TestClient, app_client, seeded_world


@pytest.fixture
def world() -> Iterator[Embedded]:
    with seeded_world() as built:
        yield built


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def client(world: Embedded, metrics: RecordingMetrics) -> TestClient:
    return app_client(world.checkout, metrics)

"""Fixtures of the service tests: a checkout on in-memory adapters."""

from __future__ import annotations

import pytest

from tests.unit.services.world import World, build_world


@pytest.fixture
def world() -> World:
    return build_world()

"""Settings every test shares."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI machines are small and shared: a property may be slow without being wrong.
settings.register_profile(
    "ci", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

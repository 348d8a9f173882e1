"""The jobs' own settings, read from the environment like the server's."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Final

from attrs import frozen

from checkout_adapters.settings import ConfigurationError
from checkout_core.domain.redelivery import LOOKBACK, STALLED_AFTER

__all__ = ["DEFAULT_REDELIVERY_DELAY", "DEFAULT_REPORTS_DIR", "JobSettings"]

DEFAULT_REPORTS_DIR: Final = Path("reports")
"""Where the daily report's files go: ``reports`` in the working directory."""
DEFAULT_REDELIVERY_DELAY: Final = STALLED_AFTER
"""How long a paid order goes uncompleted before ``orders.redeliver`` publishes it again."""
_REDELIVERY_DELAY: Final = "CHECKOUT_REDELIVERY_DELAY"


@frozen
class JobSettings:
    """Where the daily report goes, and how long ``orders.redeliver`` leaves a paid order be.

    ``reports_dir`` is ``CHECKOUT_REPORTS_DIR``; ``redelivery_delay`` is
    ``CHECKOUT_REDELIVERY_DELAY``, in seconds (600 by default).
    """

    reports_dir: Path = DEFAULT_REPORTS_DIR
    redelivery_delay: timedelta = DEFAULT_REDELIVERY_DELAY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> JobSettings:
        """Read ``CHECKOUT_REPORTS_DIR`` and ``CHECKOUT_REDELIVERY_DELAY`` of ``environ``.

        Empty counts as unset; ``~`` in the directory expands.

        Raises:
            ConfigurationError: the delay is not a positive number of seconds.
        """
        directory = environ.get("CHECKOUT_REPORTS_DIR", "").strip()
        return cls(
            reports_dir=Path(directory).expanduser() if directory else DEFAULT_REPORTS_DIR,
            redelivery_delay=_redelivery_delay(environ.get(_REDELIVERY_DELAY, "").strip()),
        )


def _redelivery_delay(value: str) -> timedelta:
    if not value:
        return DEFAULT_REDELIVERY_DELAY
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    # An order is looked after for the lookback (a week): a longer delay would find none.
    longest = LOOKBACK.total_seconds()
    if not 0 < seconds < longest:
        raise ConfigurationError(
            f"{_REDELIVERY_DELAY} is {value!r}: it takes a number of seconds above 0 "
            f"and below {longest:.0f} (a week)"
        )
    return timedelta(seconds=seconds)

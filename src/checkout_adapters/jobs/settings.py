"""The jobs' own settings, read from the environment like the server's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from attrs import frozen

__all__ = ["DEFAULT_REPORTS_DIR", "JobSettings"]

DEFAULT_REPORTS_DIR: Final = Path("reports")
"""Where the daily report's files go: ``reports`` in the working directory."""


@frozen
class JobSettings:
    """Where the daily report's files are written (``CHECKOUT_REPORTS_DIR``)."""

    reports_dir: Path = DEFAULT_REPORTS_DIR

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> JobSettings:
        """Read ``CHECKOUT_REPORTS_DIR`` of ``environ``; empty counts as unset, ``~`` expands."""
        value = environ.get("CHECKOUT_REPORTS_DIR", "").strip()
        return cls(reports_dir=Path(value).expanduser() if value else DEFAULT_REPORTS_DIR)

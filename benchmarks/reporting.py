"""What every benchmark reports the same way: targets, the machine, and the results file."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

__all__ = ["Target", "machine", "print_targets", "target", "write_report"]


class Target(TypedDict):
    """One target, the figure measured against it, and whether it was met."""

    name: str
    target: str
    measured: float
    met: bool


def target(name: str, wanted: str, measured: float, *, met: bool) -> Target:
    """A target called ``name``, wanted as ``wanted`` (``">= 300"``), measured ``measured``."""
    return {"name": name, "target": wanted, "measured": measured, "met": met}


def print_targets(targets: Sequence[Target]) -> None:
    """Print each target as met or MISSED, with its figure."""
    for each in targets:
        print(
            f"  [{'met' if each['met'] else 'MISSED'}] {each['name']}: "
            f"{each['measured']} (target {each['target']})"
        )


def machine(*, quick: bool) -> dict[str, object]:
    """The command, the interpreter, the machine and the date of this run."""
    return {
        "command": shlex.join(["python", *sys.argv]),
        "quick": quick,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_report(path: Path, report: dict[str, object]) -> None:
    """Write ``report`` as JSON to ``path`` (under benchmarks/results/) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")

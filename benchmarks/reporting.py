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

__all__ = [
    "Percentiles",
    "Target",
    "machine",
    "percentiles",
    "print_targets",
    "target",
    "write_report",
]


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


class Percentiles(TypedDict):
    """A latency's distribution, in milliseconds."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def percentiles(seconds: Sequence[float]) -> Percentiles:
    """The p50, p95, p99 and max of ``seconds``, in milliseconds."""
    ordered = sorted(seconds)
    return {
        "p50_ms": round(_percentile(ordered, 0.50) * 1e3, 2),
        "p95_ms": round(_percentile(ordered, 0.95) * 1e3, 2),
        "p99_ms": round(_percentile(ordered, 0.99) * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
    }

"""The README's promises: two quick-start commands, the second run by CI, and code that runs."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block_after(heading: str, language: str) -> str:
    section = README.split(heading, 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no {language} block under {heading}"
    return match.group(1)


def test_the_quick_start_has_exactly_two_commands() -> None:
    lines = [line for line in _block_after("## Quick start", "sh").splitlines() if line.strip()]
    assert len(lines) == 2
    assert "nox -s demo" in lines[0]


def test_ci_runs_the_readmes_test_command_as_written() -> None:
    test_command = _block_after("## Quick start", "sh").splitlines()[1].split("#")[0].strip()
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci_script.splitlines()


def test_the_pricing_example_runs_and_its_figure_is_right() -> None:
    exec(compile(_block_after("## Pricing in a few lines", "python"), "README.md", "exec"), {})  # noqa: S102 - the README's own example


def test_a_plain_install_has_what_the_demo_runs_on() -> None:
    # The demo's embedded default uses SQLAlchemy, Alembic and the Razorpay SDK: they
    # must come with the package itself, not with an extra the first command omits.
    unconditional = {
        requirement.split(">")[0].split("[")[0].strip().lower()
        for requirement in metadata.requires("checkout") or []
        if "extra ==" not in requirement
    }
    assert {"sqlalchemy", "alembic", "razorpay", "requests", "click"} <= unconditional

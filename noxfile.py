"""Automation: ``nox`` runs lint, typing, the import contracts and the tests.

Every session installs what it needs from the package index into its own
virtual environment, from the PEP 735 dependency groups in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typing", "imports", "tests", "chaos", "docs"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
CHROMIUM = Path("/usr/bin/chromium")
CHAOS_IN_CI: Final = ("--buyers", "150", "--load-seconds", "40")
"""The chaos suite's scale on a CI run: two cores, and the rest of the suite to run too."""
"""Debian's Chromium, which the browser tests drive through Playwright."""


def _install(session: nox.Session, *groups: str, project: str | None = ".") -> None:
    requirements = [
        req for group in groups for req in nox.project.dependency_groups(PYPROJECT, group)
    ]
    session.install(*([project] if project else []), *requirements)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite (the SQL adapter's on SQLite and PostgreSQL too)."""
    _install(session, "tests", project=".[postgres,razorpay,stripe,redis,fastapi,reports]")
    _ensure_chromium(session)
    session.run("pytest", *session.posargs)


def _ensure_chromium(session: nox.Session) -> None:
    """Install Debian's Chromium for the browser tests, where it is missing and root may."""
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        session.warn(f"{CHROMIUM} is missing, so the browser tests fail: apt-get install chromium")
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-q", external=True, env=env)
    session.run("apt-get", "install", "-y", "-q", "chromium", external=True, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    _install(session, "lint", project=None)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """Type-check the package, the tests and the benchmarks with mypy --strict."""
    _install(
        session, "typing", "bench", project=".[postgres,razorpay,stripe,redis,fastapi,reports]"
    )
    session.run("mypy", *session.posargs)


@nox.session
def imports(session: nox.Session) -> None:
    """Check the architecture's import contracts (the core is pure; layers)."""
    _install(session, "imports")
    session.run("lint-imports")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks; each prints its figures and writes benchmarks/results/*.json.

    flow.py, webhooks.py, cache.py and fulfilment.py need a PostgreSQL server whose user may
    create databases: the one at CHECKOUT_BENCH_DATABASE_URL, by default the local server as
    ``postgres``.
    cache.py also needs Redis: the database at CHECKOUT_BENCH_REDIS_URL (by default
    database 14 of the local server), which it flushes at the start and at the end;
    fulfilment.py the one at CHECKOUT_BENCH_QUEUE_REDIS_URL (by default database 13), and
    api.py the one at CHECKOUT_BENCH_HTTP_REDIS_URL (by default database 12) and the load
    generator wrk (Debian's package ``wrk``).
    """
    _install(session, "bench", project=".[postgres,razorpay,stripe,redis,fastapi,reports]")
    session.run("python", "benchmarks/pricing.py", *session.posargs)
    session.run("python", "benchmarks/flow.py", *session.posargs)
    session.run("python", "benchmarks/webhooks.py", *session.posargs)
    session.run("python", "benchmarks/cache.py", *session.posargs)
    session.run("python", "benchmarks/fulfilment.py", *session.posargs)
    session.run("python", "benchmarks/api.py", *session.posargs)
    session.run("python", "benchmarks/jobs.py", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """Run the chaos suite: real processes, buyers and faults, then the books.

    It needs a PostgreSQL server whose user may create databases (at
    CHECKOUT_CHAOS_DATABASE_URL, by default the local server as ``postgres``)
    and redis-server installed. Its full run writes benchmarks/results/chaos.json;
    on CI (``CI`` set) it runs at a smaller scale and keeps its figures out of
    the repository. Arguments after ``--`` go to benchmarks/chaos.py.
    """
    _install(session, "tests", project=".[postgres,redis,fastapi]")
    arguments = list(session.posargs)
    if not arguments and os.environ.get("CI"):
        out = Path(session.create_tmp()) / "chaos.json"
        arguments = [*CHAOS_IN_CI, "--out", str(out)]
    session.run("python", "benchmarks/chaos.py", *arguments)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation with mkdocs; any warning fails the build."""
    _install(session, "docs", project=".[postgres,razorpay,stripe,redis,fastapi,reports]")
    # mkdocs-material's banner about mkdocs 2 is a notice, not a warning about these docs.
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Run the demo of the checkout flow on the embedded default."""
    _install(session)
    session.run("checkout", "demo")

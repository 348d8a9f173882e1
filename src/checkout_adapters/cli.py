"""The ``checkout`` command."""

from __future__ import annotations

import importlib
import os
import socket
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, Protocol

import click
from attrs import evolve
from sqlalchemy import make_url

from checkout_adapters.demo import run_demo
from checkout_adapters.jobs.commands import jobs, scheduler
from checkout_adapters.jobs.daily import write_daily_report
from checkout_adapters.jobs.operated import (
    logging_to_stderr,
    operated,
    read_job_settings,
    read_settings,
)
from checkout_adapters.settings import ConfigurationError, ServerSettings
from checkout_adapters.sqlalchemy import make_engine, upgrade

__all__ = ["main"]

EXAMPLE_APP: Final = "examples.fastapi_app"
"""The app ``checkout serve`` runs: the example marketplace, from a checkout of the repository."""
_ANY_ADDRESS: Final = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names them, binds nothing
_WORKER_WAIT: Final = timedelta(milliseconds=500)
"""How long a round of ``checkout worker`` waits for an event: the most a paid order waits."""
_WORKER_BATCH: Final = 32


class _AppFactory(Protocol):
    def __call__(self, settings: ServerSettings | None = None) -> object: ...


@click.group()
@click.version_option(package_name="checkout")
def main() -> None:
    """Run and operate an embedded checkout."""


@main.command()
def demo() -> None:
    """Walk the seed's checkout flow on the embedded default and print each step."""
    run_demo(click.echo)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines for a person, or one JSON object each (with correlation ids) for a collector.",
)
def serve(host: str, port: int, log_format: str) -> None:
    """Serve the example marketplace, with the checkout's HTTP API, under uvicorn.

    Configured by the CHECKOUT_* environment variables (docs/configuration.md).
    Without CHECKOUT_PUBLIC_URL, buyers are sent back to http://HOST:PORT.
    SIGTERM or Ctrl-C stops it after the requests at hand.
    """
    try:
        # uvicorn and the log setup come with the fastapi extra, which serving needs.
        import uvicorn  # noqa: PLC0415

        from checkout_adapters.observability import configure_logging  # noqa: PLC0415
    except ModuleNotFoundError:
        raise click.ClickException(
            "serving needs the fastapi extra: pip install 'checkout[fastapi]'"
        ) from None
    configure_logging(json=log_format == "json")
    try:
        settings = ServerSettings.from_env()
        if settings.public_url is None:
            shown = "127.0.0.1" if host in _ANY_ADDRESS else host
            settings = evolve(settings, public_url=f"http://{shown}:{port}")
        app = _example_app()(settings)
    except ConfigurationError as error:
        raise click.ClickException(f"configuration: {error}") from None
    # One worker: the enrollment worker and the sandbox live in the server's process.
    # The factory is imported by name, so its FastAPI app reaches uvicorn typed as an object.
    # log_config=None: uvicorn's loggers go through the handler configured above.
    uvicorn.run(app, host=host, port=port, workers=1, log_config=None)  # type: ignore[arg-type]


main.add_command(jobs)
main.add_command(scheduler)


@main.group()
def db() -> None:
    """The database's schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate CHECKOUT_DATABASE_URL to the newest schema (alembic upgrade head)."""
    settings = read_settings()
    upgrade(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    click.echo(f"{shown}: at the newest schema")


@main.command()
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text")
def worker(log_format: str) -> None:
    """Run the outbox relay, the enrollment worker and its retries, until SIGTERM or Ctrl-C.

    On Redis Streams when CHECKOUT_REDIS_URL is set (the relay moves the
    outbox there), else straight on the outbox table. A failing message is
    retried with backoff, then dead-lettered with an alert (`checkout dlq`).
    A signal stops it once the events at hand are handled.
    """
    logging_to_stderr(log_format)
    settings = read_settings()
    try:
        # The loop's module imports redis, an optional extra the worker needs.
        from checkout_adapters.workers import WorkerLoop  # noqa: PLC0415
    except ModuleNotFoundError:
        raise click.ClickException(
            "the worker needs the redis extra: pip install 'checkout[redis]'"
        ) from None
    with operated(settings) as server:
        consumer = f"worker-{socket.gethostname()}-{os.getpid()}"
        enrollment = evolve(server.worker, consumer=consumer)
        loop = WorkerLoop(server.relay, enrollment, limit=_WORKER_BATCH, wait=_WORKER_WAIT)
        queue = "Redis Streams" if server.relay is not None else "the outbox table"
        click.echo(f"worker {consumer} of {enrollment.group} on {queue}")
        handled = loop.run(threading.Event())
    click.echo(f"worker stopped after {handled} deliveries")


@main.group()
def dlq() -> None:
    """The enrollment worker's dead letters: messages that failed every attempt."""


@dlq.command("list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1))
def dlq_list(limit: int) -> None:
    """The dead letters, the first to fail first: id, event, attempts, when and why."""
    with operated(read_settings()) as server:
        letters = server.worker.dead_letters(limit=limit)
        group = server.worker.group
    if not letters:
        click.echo(f"no dead letters in {group}")
    for letter in letters:
        event = letter.event
        click.echo(
            f"{letter.message_id}  {event.name} {event.event_id}  {letter.attempts} attempts  "
            f"{letter.failed_at.isoformat()}  {letter.error}"
        )


@dlq.command("replay")
@click.argument("message_ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "every", is_flag=True, help="Replay every dead letter.")
def dlq_replay(message_ids: tuple[str, ...], every: bool) -> None:  # noqa: FBT001 - a flag
    """Deliver dead letters again, their attempts counted afresh: those named, or --all."""
    if every == bool(message_ids):
        raise click.UsageError(
            "name the dead letters to replay (ids from `checkout dlq list`), or give --all"
        )
    with operated(read_settings()) as server:
        replayed = server.worker.replay(None if every else list(message_ids))
    click.echo(f"{replayed} dead letters replayed")
    if message_ids and replayed < len(set(message_ids)):
        raise click.ClickException(
            f"{len(set(message_ids)) - replayed} of the ids named are no dead letters"
        )


@main.group()
def report() -> None:
    """The checkout's reports."""


@report.command("daily")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The report's last day (UTC).  [default: yesterday]",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the day's directory of files goes.  [default: CHECKOUT_REPORTS_DIR, or reports]",
)
@click.option("--chart/--no-chart", default=True, show_default=True, help="Draw chart.png too.")
def report_daily(day: datetime | None, out: Path | None, chart: bool) -> None:  # noqa: FBT001
    """Write the daily report of the 30 days ending with --date: JSON, CSV and a chart."""
    settings = read_settings()
    when: date = day.date() if day is not None else (datetime.now(UTC) - timedelta(days=1)).date()
    directory = out or read_job_settings().reports_dir
    engine = make_engine(settings.database_url)
    try:
        files = write_daily_report(engine, when, directory, chart=chart)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()
    for path in files:
        click.echo(str(path))


def _example_app() -> _AppFactory:
    """``create_app`` of the example, imported by name: it ships with the sources, not the wheel."""
    try:
        module = importlib.import_module(EXAMPLE_APP)
    except ModuleNotFoundError as missing:
        if missing.name is None or not EXAMPLE_APP.startswith(missing.name):
            raise
        raise click.ClickException(
            f"{EXAMPLE_APP} cannot be imported: run `checkout serve` from the root of the "
            "repository with PYTHONPATH=. (or `python -m checkout_adapters.cli serve` there)"
        ) from None
    factory: _AppFactory = module.create_app
    return factory


if __name__ == "__main__":
    main()

"""The ``checkout`` command."""

from __future__ import annotations

import importlib
from typing import Final, Protocol

import click
from attrs import evolve

from checkout_adapters.demo import run_demo
from checkout_adapters.settings import ConfigurationError, ServerSettings

__all__ = ["main"]

EXAMPLE_APP: Final = "examples.fastapi_app"
"""The app ``checkout serve`` runs: the example marketplace, from a checkout of the repository."""
_ANY_ADDRESS: Final = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names them, binds nothing


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

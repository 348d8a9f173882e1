"""What the operations commands share: the settings read, the checkout built, errors said once.

A command reads its settings with :func:`read_settings` (the jobs' own with
:func:`read_job_settings`) and builds the server's checkout with
:func:`operated`; a configuration error in any of them is one line naming
the variable, as ``checkout serve`` prints it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import click

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.jobs.settings import JobSettings
from checkout_adapters.settings import ConfigurationError, ServerSettings

__all__ = [
    "configuration_error",
    "logging_to_stderr",
    "operated",
    "read_job_settings",
    "read_settings",
]

_RETURN_PATH: Final = "/checkout/return"
"""Where the example app takes buyers back from the gateway; Stripe needs it named."""


def configuration_error(error: ConfigurationError) -> click.ClickException:
    """The one line a configuration error is told as."""
    return click.ClickException(f"configuration: {error}")


def read_settings() -> ServerSettings:
    """The server's settings from the environment; a bad one stops the command, named."""
    try:
        return ServerSettings.from_env()
    except ConfigurationError as error:
        raise configuration_error(error) from None


def read_job_settings() -> JobSettings:
    """The jobs' settings from the environment; a bad one stops the command, named."""
    try:
        return JobSettings.from_env()
    except ConfigurationError as error:
        raise configuration_error(error) from None


@contextmanager
def operated(settings: ServerSettings) -> Iterator[Served]:
    """The server's checkout for ``settings`` (migrated, worker not started), closed at the end."""
    return_url = None if settings.public_url is None else settings.public_url + _RETURN_PATH
    try:
        server = served(settings, return_url=return_url)
    except ConfigurationError as error:
        raise configuration_error(error) from None
    except ModuleNotFoundError as missing:
        raise click.ClickException(
            f"{missing.name} is not installed: pip install 'checkout[fastapi]' "
            "(and redis, postgres, stripe as configured)"
        ) from None
    with server:
        yield server


def logging_to_stderr(log_format: str) -> None:
    """Log lines to standard error: for a person (``text``) or one JSON object each."""
    try:
        # structlog comes with the fastapi extra, as prometheus-client does.
        from checkout_adapters.observability import configure_logging  # noqa: PLC0415
    except ModuleNotFoundError:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        return
    configure_logging(json=log_format == "json")

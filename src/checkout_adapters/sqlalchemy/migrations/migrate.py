"""Run the checkout's migrations from Python: what ``alembic upgrade head`` does from a shell.

``upgrade("sqlite:///checkout.db")`` brings a database to the newest schema,
creating it if it is empty; running it again does nothing. ``downgrade``
undoes revisions (``"base"`` drops every table).
"""

from __future__ import annotations

from typing import Final

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine, make_url

__all__ = ["SCRIPT_LOCATION", "alembic_config", "downgrade", "upgrade"]

SCRIPT_LOCATION: Final = "checkout_adapters.sqlalchemy:migrations"
"""Where Alembic finds the migrations: this package, installed or not."""


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration for the checkout's migrations on ``url``.

    Without ``url``, the migrations read ``CHECKOUT_DATABASE_URL``.
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        # The option is interpolated as in configparser: a "%" in a password must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _run(target: str | URL | Engine, revision: str, *, up: bool) -> None:
    step = command.upgrade if up else command.downgrade
    if not isinstance(target, Engine):
        step(alembic_config(target), revision)
        return
    config = alembic_config()
    with target.connect() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Migrate the database at ``target`` (a URL, or an engine to borrow) up to ``revision``."""
    _run(target, revision, up=True)


def downgrade(target: str | URL | Engine, revision: str) -> None:
    """Migrate the database at ``target`` down to ``revision`` (``"base"``: no tables)."""
    _run(target, revision, up=False)

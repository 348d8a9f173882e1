"""The ``checkout`` command."""

from __future__ import annotations

import click

from checkout_adapters.demo import run_demo

__all__ = ["main"]


@click.group()
@click.version_option(package_name="checkout")
def main() -> None:
    """Run and operate an embedded checkout."""


@main.command()
def demo() -> None:
    """Walk the seed's checkout flow on the embedded default and print each step."""
    run_demo(click.echo)

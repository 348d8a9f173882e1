"""Cheap checks of the documentation that need no site build (``nox -s docs`` builds it).

The navigation of ``mkdocs.yml`` and the pages under ``docs/`` agree, the
error table of the HTTP API page is the one ``checkout_core.errors`` defines,
and the configuration page names every ``CHECKOUT_*`` variable a settings
module reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
import yaml

from checkout_core.errors import ERRORS_BY_CODE

ROOT: Final = Path(__file__).resolve().parent.parent
DOCS: Final = ROOT / "docs"
MKDOCS: Final = ROOT / "mkdocs.yml"
ERROR_TABLE: Final = re.compile(r"<!-- errors:begin -->\n(.*?)<!-- errors:end -->", re.DOTALL)
ERROR_ROW: Final = re.compile(
    r"^\| (?P<code>\d+) \| `(?P<name>\w+)` \| `(?P<family>\w+)` \| (?P<status>\d+) \| "
    r"(?P<message>.+?) \|$"
)
VARIABLE: Final = re.compile(r"\bCHECKOUT_[A-Z0-9_]+\b")


def _nav_pages(entries: object) -> Iterator[str]:
    """Every page path in a ``nav`` tree of lists, ``{title: path}`` and ``{title: [...]}``."""
    if isinstance(entries, str):
        yield entries
    elif isinstance(entries, list):
        for entry in entries:
            yield from _nav_pages(entry)
    elif isinstance(entries, dict):
        for value in entries.values():
            yield from _nav_pages(value)


def _nav() -> list[str]:
    config = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))
    return [page for page in _nav_pages(config["nav"]) if "://" not in page]


def _error_rows() -> list[re.Match[str]]:
    page = (DOCS / "http-api.md").read_text(encoding="utf-8")
    table = ERROR_TABLE.search(page)
    assert table is not None, "docs/http-api.md has no <!-- errors:begin/end --> table"
    lines = table.group(1).strip().splitlines()[2:]  # past the header and its rule
    rows = [ERROR_ROW.match(line) for line in lines]
    unread = [line for line, row in zip(lines, rows, strict=True) if row is None]
    assert not unread, f"rows of the error table not in its format: {unread}"
    return [row for row in rows if row is not None]


def test_every_page_in_the_nav_exists() -> None:
    missing = [page for page in _nav() if not (DOCS / page).is_file()]

    assert not missing


def test_every_page_is_in_the_nav_once() -> None:
    nav = _nav()
    pages = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))

    assert sorted(nav) == pages


def test_the_error_table_lists_every_error_by_its_code() -> None:
    codes = [int(row["code"]) for row in _error_rows()]

    assert codes == sorted(ERRORS_BY_CODE)


@pytest.mark.parametrize("code", sorted(ERRORS_BY_CODE))
def test_each_error_row_says_what_the_error_is(code: int) -> None:
    row = next(row for row in _error_rows() if int(row["code"]) == code)
    error = ERRORS_BY_CODE[code]

    assert (row["name"], row["family"], int(row["status"]), row["message"]) == (
        error.__name__,
        error.__mro__[1].__name__,
        error.http_status,
        error.message,
    )


def _variables_read() -> set[str]:
    settings = sorted((ROOT / "src" / "checkout_adapters").rglob("settings.py"))
    return {name for path in settings for name in VARIABLE.findall(path.read_text("utf-8"))}


def test_the_settings_read_checkout_variables() -> None:
    # Guards the next test against finding nothing to check.
    assert "CHECKOUT_DATABASE_URL" in _variables_read()


def test_the_configuration_page_names_every_variable_read() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")

    missing = sorted(name for name in _variables_read() if name not in VARIABLE.findall(page))

    assert not missing

"""The emails the checkout sends, as ``string.Template`` files a host may replace.

A template called ``NAME`` is two files in a template directory:

- ``NAME.txt``: a first line ``Subject: ...``, a blank line, then the plain-text body;
- ``NAME.html``: the HTML alternative (optional in a host's own directory).

The package ships ``welcome`` (a free order) and ``confirmation`` (a paid
one) under ``checkout_adapters/notifications/templates``. A placeholder is
written ``$name`` or ``${name}`` (``$$`` for a dollar sign) and may be:

- ``order_token`` and ``recipient_name``;
- any key of the notification's context; amounts (``total``, ``subtotal``,
  ``discount``, ``tax``), which arrive as strings of minor units, are written
  in major units with the currency (``14,392.00 INR``), and the raw value
  stays available as ``total_minor`` and so on;
- ``offerings_text`` and ``offerings_html``: the titles in the context's
  ``offerings`` (one per line) as a list, or nothing when there are none.

Values are HTML-escaped in the HTML part. A placeholder the notification
cannot fill is a :class:`~checkout_adapters.notifications.errors.TemplateError`
when the email is rendered, never a blank in a sent email.
"""

from __future__ import annotations

import html
import os
import re
import string
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from attrs import field, frozen

from checkout_adapters.notifications.errors import TemplateError
from checkout_core.domain.messages import Notification
from checkout_core.domain.money import Currency, Money
from checkout_core.errors import UnknownCurrency

__all__ = [
    "AMOUNT_KEYS",
    "DEFAULT_RECIPIENT_NAME",
    "EmailTemplates",
    "RenderedEmail",
    "default_template_directory",
    "format_amount",
]

AMOUNT_KEYS: Final = frozenset({"total", "subtotal", "discount", "tax"})
"""The context keys that hold amounts in minor units, written in major units when rendered."""

DEFAULT_RECIPIENT_NAME: Final = "there"
"""The name a buyer is greeted by when the host knows none ("Hello there,")."""

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_MINOR: Final = re.compile(r"-?[0-9]+")
_SUBJECT: Final = "Subject:"


def default_template_directory() -> Traversable:
    """The directory of the templates the package ships."""
    return files("checkout_adapters.notifications").joinpath("templates")


def format_amount(minor: str, currency: str) -> str:
    """Write an amount given in minor units in major units with its currency.

    ``format_amount("1439200", "INR")`` is ``"14,392.00 INR"``.

    Raises:
        TemplateError: ``minor`` is not an integer or ``currency`` is not supported.
    """
    if not _MINOR.fullmatch(minor):
        raise TemplateError(f"{minor!r} is not an amount in minor units")
    try:
        code = Currency.of(currency)
    except UnknownCurrency as exc:
        raise TemplateError(f"{currency!r} is not a supported currency") from exc
    return f"{Money(int(minor), code).to_major():,f} {code.code}"


@frozen
class RenderedEmail:
    """An email ready to send: its subject, its plain text and its HTML alternative."""

    subject: str
    text: str
    html: str | None


def _directory(value: Traversable | str | os.PathLike[str] | None) -> Traversable:
    if value is None:
        return default_template_directory()
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    return value


def _substitute(source: str, values: Mapping[str, str], what: str) -> str:
    try:
        return string.Template(source).substitute(values)
    except KeyError as exc:
        raise TemplateError(f"{what} needs the placeholder {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise TemplateError(f"{what} is malformed: {exc}") from exc


@frozen
class EmailTemplates:
    """Renders notifications from the templates in ``directory``.

    ``directory`` defaults to the package's own templates; a host passes a
    path (or any ``Traversable``) holding its own ``NAME.txt`` and
    ``NAME.html`` files. Files are read at each render, so a fixed template
    is used without a restart.
    """

    directory: Traversable = field(default=None, converter=_directory)
    amount_keys: frozenset[str] = field(default=AMOUNT_KEYS, converter=frozenset)

    def render(
        self, notification: Notification, *, recipient_name: str = DEFAULT_RECIPIENT_NAME
    ) -> RenderedEmail:
        """Render ``notification``'s template for a buyer called ``recipient_name``.

        Raises:
            TemplateError: the template does not exist or is malformed, a
                placeholder has no value, or an amount cannot be read.
        """
        name = notification.template
        if not _NAME.fullmatch(name):
            raise TemplateError(f"{name!r} is not a template name")
        text_file = self.directory.joinpath(f"{name}.txt")
        if not text_file.is_file():
            raise TemplateError(f"there is no template {name!r}")
        subject_source, body_source = self._split(text_file.read_text(encoding="utf-8"), name)
        values = self.values(notification, recipient_name=recipient_name)
        subject = _substitute(subject_source, values, f"the subject of {name!r}")
        text = _substitute(body_source, values, f"the text of {name!r}")
        html_file = self.directory.joinpath(f"{name}.html")
        rendered_html = None
        if html_file.is_file():
            escaped = {key: html.escape(value) for key, value in values.items()}
            escaped["offerings_html"] = _offerings_html(values["offerings"])
            rendered_html = _substitute(
                html_file.read_text(encoding="utf-8"), escaped, f"the HTML of {name!r}"
            )
        # A header is one line, whatever a value held.
        return RenderedEmail(" ".join(subject.split()), text, rendered_html)

    def values(
        self, notification: Notification, *, recipient_name: str = DEFAULT_RECIPIENT_NAME
    ) -> dict[str, str]:
        """The placeholders ``notification`` fills, as plain text (see the module's docs)."""
        context = dict(notification.context)
        values = dict(context)
        for key in self.amount_keys & context.keys():
            currency = context.get("currency")
            if currency is None:
                raise TemplateError(f"the amount {key!r} comes without a currency")
            values[key] = format_amount(context[key], currency)
            values[f"{key}_minor"] = context[key]
        titles = _titles(context.get("offerings", ""))
        values["offerings"] = "\n".join(titles)
        values["offerings_text"] = (
            "\nWhat you get:\n" + "".join(f"- {title}\n" for title in titles) if titles else ""
        )
        values["order_token"] = notification.order_token
        values["recipient_name"] = recipient_name
        return values

    @staticmethod
    def _split(source: str, name: str) -> tuple[str, str]:
        head, _, body = source.replace("\r\n", "\n").partition("\n\n")
        if not head.startswith(_SUBJECT) or "\n" in head:
            raise TemplateError(
                f"the template {name!r} must begin with a 'Subject:' line and a blank line"
            )
        return head.removeprefix(_SUBJECT).strip(), body


def _titles(offerings: str) -> list[str]:
    return [title.strip() for title in offerings.splitlines() if title.strip()]


def _offerings_html(offerings: str) -> str:
    titles = _titles(offerings)
    if not titles:
        return ""
    items = "".join(f"<li>{html.escape(title)}</li>" for title in titles)
    return f"<p>What you get:</p>\n    <ul>{items}</ul>"

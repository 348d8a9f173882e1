"""Structured logs: one JSON object a line, with the request's correlation id, secrets masked.

The library's modules log through the standard library
(``logging.getLogger(__name__)``); a host may log through structlog. Both
end in one handler on the root logger whose
:class:`structlog.stdlib.ProcessorFormatter` renders every record alike:
``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event`` (the
message), ``correlation_id`` when a request is being served, and whatever
else the record carries.

Before a line is written, :func:`redact` masks what must never reach a log:
the values of keys named like secrets (``password``, ``token``,
``signature``, ``email``...), and e-mail addresses, bearer tokens, JWTs and
gateway keys found inside any text, the message and tracebacks included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Final, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from checkout_adapters.observability.context import CORRELATION_ID

__all__ = ["REDACTED", "add_correlation_id", "configure_logging", "redact", "redact_text"]

REDACTED: Final = "[REDACTED]"
"""What a masked value is replaced with."""

_HANDLER_NAME: Final = "checkout"

_SENSITIVE_KEY: Final = re.compile(
    r"secret|passw|token|authori[sz]ation|api[_-]?key|signature|cookie|e-?mail|credential",
    re.IGNORECASE,
)

# Keys the formatter writes itself; their values are never secrets, and a correlation id
# may well look like a long hex string.
_OWN_KEYS: Final = frozenset({"timestamp", "level", "logger", "correlation_id"})

_TEXT_PATTERNS: Final = (
    # "Authorization: Bearer <token>", and Basic credentials alike.
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # A JWT's header is a JSON object, so its base64url starts "eyJ"; asking for that
    # leaves dotted module paths and host names alone.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), REDACTED),
    # Razorpay and Stripe keys and webhook secrets, by their prefixes.
    (re.compile(r"\b(?:rzp|sk|rk|whsec)_[A-Za-z0-9_]{8,}"), REDACTED),
    # Signatures and digests: HMAC-SHA256 in hex is 64 characters.
    (re.compile(r"\b[0-9A-Fa-f]{32,}\b"), REDACTED),
    # "password=...", "api_key: ...", '"token": "..."' written into a message.
    (
        re.compile(
            r"""\b((?:secret|passw(?:or)?d|token|api[_-]?key|signature|cookie)\w*["']?\s*[=:]\s*["']?)"""
            r"""[^\s"',;&]+""",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
)


def redact_text(text: str) -> str:
    """``text`` with e-mail addresses, bearer tokens, JWTs and key-like secrets masked."""
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: object) -> object:
    # Nothing and a yes-or-no give no secret away, and say whether one was there.
    if value is not None and not isinstance(value, bool) and _SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(key, item) for item in value]
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask secrets in a log event: a structlog processor.

    The values of keys named like secrets (at any depth) are replaced
    whole; every other text is searched for secrets, as a message may quote
    an address, a header or a key.
    """
    return {
        key: value if key in _OWN_KEYS else _redact_value(key, value)
        for key, value in event_dict.items()
    }


def add_correlation_id(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Add the correlation id of the request being served, if any: a structlog processor."""
    correlation_id = CORRELATION_ID.get()
    if correlation_id is not None:
        event_dict.setdefault("correlation_id", correlation_id)
    return event_dict


def configure_logging(
    *, json: bool = True, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Send every log record, stdlib's and structlog's, to ``stream`` as one line each.

    With ``json`` a line is a JSON object; without, a line for a person at a
    terminal. ``level`` is the root logger's threshold. ``stream`` defaults
    to standard error. Calling again replaces the handler put in place
    before, and leaves the host's other handlers be.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_correlation_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Records from stdlib loggers: their `extra` fields join the event, to be masked too.
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks become text before masking, as exceptions quote what they failed on.
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
        existing.close()
    root.addHandler(handler)
    root.setLevel(level.upper())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

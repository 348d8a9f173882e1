"""The one seam where a broken business rule becomes a ``Failure``, and a passing fault a retry."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from returns.result import Failure, Result, Success

from checkout_core.errors import CheckoutError
from checkout_core.faults import TransientFault

__all__ = ["ATTEMPTS", "checked", "retried"]

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger(__name__)

ATTEMPTS: Final = 3
"""How many times a use case is run in all when a transient fault meets it."""


def retried(call: Callable[[], T], *, what: str, attempts: int = ATTEMPTS) -> T:
    """What ``call`` returns, run again at once when a :class:`TransientFault` stops it.

    ``call`` is run ``attempts`` times at most; the fault of the last one
    propagates. No pause is made between tries: the fault this is for (a
    connection lost) is mended by the next connection, and a database that
    is down stays down for longer than any pause a request could afford.
    ``what`` names the work in the log.
    """
    for attempt in range(1, attempts):
        try:
            return call()
        except TransientFault as fault:
            logger.warning(
                "%s met a transient fault (%s: %s); running it again (try %d of %d)",
                what, type(fault.__cause__ or fault).__name__, fault, attempt + 1, attempts,
            )  # fmt: skip
    return call()


def checked(method: Callable[P, T]) -> Callable[P, Result[T, CheckoutError]]:
    """Make ``method`` return ``Success(value)``, or ``Failure(error)`` on a CheckoutError.

    Inside, services and the domain raise their errors; callers receive
    values they ``match`` on. A :class:`TransientFault` runs the method
    again (:func:`retried`); any other exception is a fault of the world
    and propagates unchanged, as does a transient fault that outlasts the
    tries.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Result[T, CheckoutError]:
        try:
            return Success(retried(lambda: method(*args, **kwargs), what=method.__qualname__))
        except CheckoutError as error:
            return Failure(error)

    return wrapper

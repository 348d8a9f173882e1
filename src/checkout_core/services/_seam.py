"""The one seam where a broken business rule becomes a ``Failure``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from returns.result import Failure, Result, Success

from checkout_core.errors import CheckoutError

__all__ = ["checked"]

P = ParamSpec("P")
T = TypeVar("T")


def checked(method: Callable[P, T]) -> Callable[P, Result[T, CheckoutError]]:
    """Make ``method`` return ``Success(value)``, or ``Failure(error)`` on a CheckoutError.

    Inside, services and the domain raise their errors; callers receive
    values they ``match`` on. Any other exception is a fault of the world
    and propagates unchanged.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Result[T, CheckoutError]:
        try:
            return Success(method(*args, **kwargs))
        except CheckoutError as error:
            return Failure(error)

    return wrapper

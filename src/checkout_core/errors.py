"""Every error the library can answer with, under one root.

Each concrete error has a stable numeric ``code``, a fixed ``message`` and the
``http_status`` an HTTP adapter answers with. A raised error may add a
``detail`` (what exactly was wrong) and ``validation_messages`` (what a form
shows); neither ever changes the code or the message.

Expected business outcomes reach callers of the services as values
(``Failure(CouponExpired(...))``); inside the domain a broken rule raises one
of these, and the service layer turns it into a ``Failure`` at one seam.
Faults of the world (a database down, a gateway timing out) are not here:
they stay exceptions of their own.

The tree::

    CheckoutError                        1000  500
    ├── InvalidInput                            422
    │   ├── InvalidRequest               1001  422
    │   ├── UnknownCurrency              1002  422
    │   ├── CurrencyMismatch             1003  422
    │   ├── InvalidAmount                1004  422
    │   ├── InvalidRate                  1005  422
    │   ├── InvalidPeriod                1006  422
    │   └── InvalidAnalyticsData         1007  422
    ├── CartError                               422
    │   ├── CartNotFound                 1101  404
    │   ├── CartExpired                  1102  410
    │   ├── CartNotActive                1103  409
    │   ├── CartForbidden                1104  403
    │   ├── EmptyCart                    1105  422
    │   ├── TooManyLines                 1106  422
    │   ├── DuplicateLine                1107  422
    │   ├── UnknownOffering              1108  422
    │   ├── OfferingInactive             1109  422
    │   ├── PeriodNotAllowed             1110  422
    │   ├── MixedCurrencies              1111  422
    │   └── UnknownSale                  1112  422
    ├── CouponRejected                          422
    │   ├── CouponInvalid                2004  422
    │   ├── CouponExpired                2005  422
    │   ├── CouponNotYetValid            2006  422
    │   ├── CouponExhausted              2007  422
    │   ├── CouponUserLimitReached       2008  422
    │   ├── CouponMinimumNotMet          2009  422
    │   ├── CouponNotApplicable          2010  422
    │   └── CouponRequiresSignIn         2011  401
    ├── OrderError                              409
    │   ├── OrderNotFound                3001  404
    │   └── IllegalOrderTransition       3002  409
    ├── PaymentError                            409
    │   ├── PaymentNotFound              4001  404
    │   ├── IllegalPaymentTransition     4002  409
    │   ├── PaymentAmountMismatch        4003  409
    │   ├── RefundExceedsCaptured        4004  422
    │   ├── PaymentsUnavailable          4005  503
    │   └── WebhookRejected              4006  400
    ├── IdempotencyError                        422
    │   ├── IdempotencyKeyInvalid        5001  422
    │   ├── IdempotencyKeyMismatch       5002  422
    │   └── IdempotencyKeyInProgress     5003  409
    ├── HttpError                               400
    │   ├── UnknownRoute                 6001  404
    │   ├── MethodNotAllowed             6002  405
    │   ├── RequestTooLarge              6003  413
    │   ├── NotReady                     6004  503
    │   └── ServiceUnavailable           6005  503
    └── AccessError                             403
        ├── AuthenticationRequired       9001  401
        ├── TooManyAttempts              9002  429
        └── InvalidToken                 9003  401

Codes are never reused: a code that is retired stays retired.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "ERRORS_BY_CODE",
    "AccessError",
    "AuthenticationRequired",
    "CartError",
    "CartExpired",
    "CartForbidden",
    "CartNotActive",
    "CartNotFound",
    "CheckoutError",
    "CouponExhausted",
    "CouponExpired",
    "CouponInvalid",
    "CouponMinimumNotMet",
    "CouponNotApplicable",
    "CouponNotYetValid",
    "CouponRejected",
    "CouponRequiresSignIn",
    "CouponUserLimitReached",
    "CurrencyMismatch",
    "DuplicateLine",
    "EmptyCart",
    "HttpError",
    "IdempotencyError",
    "IdempotencyKeyInProgress",
    "IdempotencyKeyInvalid",
    "IdempotencyKeyMismatch",
    "IllegalOrderTransition",
    "IllegalPaymentTransition",
    "InvalidAmount",
    "InvalidAnalyticsData",
    "InvalidInput",
    "InvalidPeriod",
    "InvalidRate",
    "InvalidRequest",
    "InvalidToken",
    "MethodNotAllowed",
    "MixedCurrencies",
    "NotReady",
    "OfferingInactive",
    "OrderError",
    "OrderNotFound",
    "PaymentAmountMismatch",
    "PaymentError",
    "PaymentNotFound",
    "PaymentsUnavailable",
    "PeriodNotAllowed",
    "RefundExceedsCaptured",
    "RequestTooLarge",
    "ServiceUnavailable",
    "TooManyAttempts",
    "TooManyLines",
    "UnknownCurrency",
    "UnknownOffering",
    "UnknownRoute",
    "UnknownSale",
    "WebhookRejected",
]


class CheckoutError(Exception):
    """The root of every error the library answers with."""

    code: ClassVar[int] = 1000
    http_status: ClassVar[int] = 500
    message: ClassVar[str] = "Checkout failed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        validation_messages: Sequence[str] | None = None,
    ) -> None:
        self.detail = detail
        if validation_messages is None:
            validation_messages = (detail,) if detail else (self.message,)
        self.validation_messages: tuple[str, ...] = tuple(validation_messages)
        super().__init__(detail or self.message)

    def __str__(self) -> str:
        if self.detail:
            return f"[{self.code}] {self.message} {self.detail}"
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"

    def __eq__(self, other: object) -> bool:
        # Errors travel inside Result values, which tests compare.
        if not isinstance(other, CheckoutError):
            return NotImplemented
        return (type(self), self.detail, self.validation_messages) == (
            type(other),
            other.detail,
            other.validation_messages,
        )

    def __hash__(self) -> int:
        return hash((type(self), self.detail))


class InvalidInput(CheckoutError):
    """Input that is malformed whatever the state of the system."""

    http_status = 422
    message = "The request is invalid."


class InvalidRequest(InvalidInput):
    code = 1001
    message = "The request is invalid."


class UnknownCurrency(InvalidInput):
    code = 1002
    message = "The currency is not supported."


class CurrencyMismatch(InvalidInput):
    code = 1003
    message = "Amounts in different currencies cannot be combined."


class InvalidAmount(InvalidInput):
    code = 1004
    message = "The amount is invalid."


class InvalidRate(InvalidInput):
    code = 1005
    message = "The rate is invalid."


class InvalidPeriod(InvalidInput):
    code = 1006
    message = "The period is invalid."


class InvalidAnalyticsData(InvalidInput):
    code = 1007
    message = "The analytics data is invalid."


class CartError(CheckoutError):
    """A cart that cannot be made, read or used as asked."""

    http_status = 422
    message = "The cart cannot be used."


class CartNotFound(CartError):
    code = 1101
    http_status = 404
    message = "Cart not found."


class CartExpired(CartError):
    code = 1102
    http_status = 410
    message = "Cart has expired."


class CartNotActive(CartError):
    code = 1103
    http_status = 409
    message = "Cart is no longer active."


class CartForbidden(CartError):
    code = 1104
    http_status = 403
    message = "This cart belongs to another user."


class EmptyCart(CartError):
    code = 1105
    message = "A cart needs at least one product."


class TooManyLines(CartError):
    code = 1106
    message = "The cart has too many products."


class DuplicateLine(CartError):
    code = 1107
    message = "A product appears more than once in the cart."


class UnknownOffering(CartError):
    code = 1108
    message = "The product does not exist."


class OfferingInactive(CartError):
    code = 1109
    message = "The product is not available."


class PeriodNotAllowed(CartError):
    code = 1110
    message = "The period is not offered for this product."


class MixedCurrencies(CartError):
    code = 1111
    message = "All products in a cart must be priced in one currency."


class UnknownSale(CartError):
    code = 1112
    message = "The sale does not exist."


class CouponRejected(CheckoutError):
    """A coupon that cannot be applied to this cart, with the reason."""

    http_status = 422
    message = "Coupon cannot be applied."


class CouponInvalid(CouponRejected):
    code = 2004
    message = "Coupon is invalid."


class CouponExpired(CouponRejected):
    code = 2005
    message = "Coupon has expired."


class CouponNotYetValid(CouponRejected):
    code = 2006
    message = "Coupon is not valid yet."


class CouponExhausted(CouponRejected):
    code = 2007
    message = "Coupon has been used up."


class CouponUserLimitReached(CouponRejected):
    code = 2008
    message = "You have already used this coupon."


class CouponMinimumNotMet(CouponRejected):
    code = 2009
    message = "The cart does not reach the coupon's minimum amount."


class CouponNotApplicable(CouponRejected):
    code = 2010
    message = "Coupon does not apply to this cart."


class CouponRequiresSignIn(CouponRejected):
    code = 2011
    http_status = 401
    message = "Sign in to use this coupon."


class OrderError(CheckoutError):
    """An order that cannot be found or moved as asked."""

    http_status = 409
    message = "The order cannot be used."


class OrderNotFound(OrderError):
    code = 3001
    http_status = 404
    message = "Order not found."


class IllegalOrderTransition(OrderError):
    code = 3002
    message = "The order cannot move to that status."


class PaymentError(CheckoutError):
    """A payment that cannot be found, moved or refunded as asked."""

    http_status = 409
    message = "The payment cannot be used."


class PaymentNotFound(PaymentError):
    code = 4001
    http_status = 404
    message = "Payment not found."


class IllegalPaymentTransition(PaymentError):
    code = 4002
    message = "The payment cannot move to that status."


class PaymentAmountMismatch(PaymentError):
    code = 4003
    message = "The amount paid does not match the amount due."


class RefundExceedsCaptured(PaymentError):
    code = 4004
    http_status = 422
    message = "A refund cannot exceed the amount captured."


class PaymentsUnavailable(PaymentError):
    code = 4005
    http_status = 503
    message = "Payments are temporarily unavailable. Please try again shortly."


class WebhookRejected(PaymentError):
    code = 4006
    http_status = 400
    message = "The webhook could not be verified."


class IdempotencyError(CheckoutError):
    """An idempotency key used in a way that cannot be honoured."""

    http_status = 422
    message = "The idempotency key cannot be used."


class IdempotencyKeyInvalid(IdempotencyError):
    code = 5001
    message = "The idempotency key is invalid."


class IdempotencyKeyMismatch(IdempotencyError):
    code = 5002
    message = "The idempotency key was already used with a different request."


class IdempotencyKeyInProgress(IdempotencyError):
    code = 5003
    http_status = 409
    message = "A request with this idempotency key is still in progress."


class HttpError(CheckoutError):
    """A request the HTTP API answers itself, before any service sees it."""

    http_status = 400
    message = "The request cannot be served."


class UnknownRoute(HttpError):
    code = 6001
    http_status = 404
    message = "Nothing is served at this address."


class MethodNotAllowed(HttpError):
    code = 6002
    http_status = 405
    message = "The method is not allowed here."


class RequestTooLarge(HttpError):
    code = 6003
    http_status = 413
    message = "The request body is too large."


class NotReady(HttpError):
    code = 6004
    http_status = 503
    message = "The service is not ready."


class ServiceUnavailable(HttpError):
    code = 6005
    http_status = 503
    message = "The checkout is briefly unavailable. Please try again in a moment."

    def __init__(self, detail: str | None = None, *, retry_after_seconds: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class AccessError(CheckoutError):
    """A caller who may not do what they asked."""

    http_status = 403
    message = "Access denied."


class AuthenticationRequired(AccessError):
    code = 9001
    http_status = 401
    message = "Authentication is required."


class TooManyAttempts(AccessError):
    code = 9002
    http_status = 429
    message = "Too many attempts. Please wait a moment and try again."

    def __init__(self, detail: str | None = None, *, retry_after_seconds: int = 0) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class InvalidToken(AccessError):
    code = 9003
    http_status = 401
    message = "The bearer token is not valid."


def _concrete_errors(root: type[CheckoutError]) -> dict[int, type[CheckoutError]]:
    found: dict[int, type[CheckoutError]] = {}
    for error in root.__subclasses__():
        if "code" in vars(error):
            found[error.code] = error
        found.update(_concrete_errors(error))
    return found


ERRORS_BY_CODE: dict[int, type[CheckoutError]] = _concrete_errors(CheckoutError)
"""Every concrete error by its code, to rebuild an error that travelled as its code."""

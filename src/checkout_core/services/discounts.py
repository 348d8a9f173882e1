"""DiscountService: checking, applying and removing a cart's coupon."""

from __future__ import annotations

from attrs import frozen

from checkout_core.domain.cart import Cart
from checkout_core.domain.discounts import normalize_code
from checkout_core.domain.pricing import Estimate
from checkout_core.errors import CartNotFound, CouponInvalid
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.carts import CartService, authorize
from checkout_core.services.limits import enforce
from checkout_core.services.pricing import PricingInputs, PricingService, refusal_error
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings

__all__ = ["CouponApplied", "DiscountService"]


@frozen
class CouponApplied:
    """A coupon that applies: the new estimate, and how much lower its total is.

    ``reduction`` is measured against the same cart with no coupon, tax
    included (the seed's ``discount_amount`` of 3,959 rupees for SAVE20).
    """

    code: str
    estimate: Estimate
    reduction: int


@frozen
class DiscountService:
    """Coupons on carts. A refused coupon is a ``Failure`` with the refusal's own code."""

    ports: CheckoutPorts
    settings: CheckoutSettings
    carts: CartService
    pricing: PricingService

    @checked
    def validate_coupon(
        self, token: str, code: str, user_id: str | None, *, client: str | None = None
    ) -> CouponApplied:
        """What ``code`` would do to the cart, without storing it.

        Counts as a coupon attempt of the cart, the user and the ``client``
        address, like :meth:`apply`: trying codes is what the limits stop.
        """
        self._count_attempt(token, user_id, client)
        with self.ports.unit_of_work() as uow:
            cart = authorize(self.carts.load(token, uow), user_id)
            cart.ensure_usable(self.ports.clock.now())
            return self._try(cart, normalize_code(code), uow)

    @checked
    def apply(
        self, token: str, code: str, user_id: str | None, *, client: str | None = None
    ) -> CouponApplied:
        """Store ``code`` on the cart if it applies, and return the new totals.

        Attempts are limited per cart, per user and per ``client`` address
        (:class:`~checkout_core.errors.TooManyAttempts` once a limit is hit),
        when the host configured a rate limiter.
        """
        self._count_attempt(token, user_id, client)
        normalized = normalize_code(code)
        with self.ports.unit_of_work() as uow:
            cart = self._locked(token, user_id, uow)
            applied = self._try(cart, normalized, uow)
            updated = cart.with_coupon(normalized)
            uow.carts.update(updated)
            uow.commit()
        self.carts.remember(updated)
        return applied

    @checked
    def remove(self, token: str, user_id: str | None) -> Estimate:
        """Take the coupon off the cart and return the estimate without it."""
        with self.ports.unit_of_work() as uow:
            cart = self._locked(token, user_id, uow).without_coupon()
            estimate = self.pricing.price(cart, uow)
            uow.carts.update(cart)
            uow.commit()
        self.carts.remember(cart)
        return estimate

    def _count_attempt(self, token: str, user_id: str | None, client: str | None) -> None:
        settings = self.settings
        enforce(
            self.ports,
            (settings.coupon_attempts_per_cart, token),
            (settings.coupon_attempts_per_user, user_id),
            (settings.coupon_attempts_per_client, client),
        )

    def _locked(self, token: str, user_id: str | None, uow: UnitOfWork) -> Cart:
        cart = uow.carts.get(token, for_update=True)
        if cart is None:
            raise CartNotFound
        cart = authorize(cart, user_id)
        cart.ensure_usable(self.ports.clock.now())
        return cart

    def _try(self, cart: Cart, code: str, uow: UnitOfWork) -> CouponApplied:
        catalog = uow.catalog
        offerings = catalog.offerings(cart.offering_ids)
        sale = catalog.sale(cart.sale_slug) if cart.sale_slug else None
        found = uow.discounts.coupon(code, user_id=cart.owner_id)
        if found is None:
            raise CouponInvalid
        coupon, usage = found
        before = self.pricing.price_with(cart.without_coupon(), PricingInputs(offerings, sale))
        after = self.pricing.price_with(
            cart.with_coupon(code), PricingInputs(offerings, sale, coupon, usage)
        )
        refusal = after.coupon_refusal
        if refusal is not None:
            raise refusal_error(refusal)
        return CouponApplied(code=code, estimate=after, reduction=before.total - after.total)

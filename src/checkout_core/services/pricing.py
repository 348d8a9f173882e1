"""PricingService: estimates from the catalog, and the final pricing of an order."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from checkout_core.domain.cart import Cart
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.discounts import NO_USAGE, Coupon, CouponUsage
from checkout_core.domain.pricing import DiscountNote, Estimate, price_cart
from checkout_core.errors import ERRORS_BY_CODE, CartNotFound, CheckoutError
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.carts import CartService, authorize
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings

__all__ = ["PricingInputs", "PricingService", "refusal_error"]


def refusal_error(note: DiscountNote) -> CheckoutError:
    """The error a refused coupon's note stands for, with the note's reason as detail."""
    error = ERRORS_BY_CODE[note.error_code or 0]
    return error(None if note.reason == error.message else note.reason)


@frozen
class PricingInputs:
    """What the engine prices a cart from, as read from the catalog and the coupons."""

    offerings: Mapping[str, Offering]
    sale: Sale | None = None
    coupon: Coupon | None = None
    usage: CouponUsage = NO_USAGE


@frozen
class PricingService:
    """Prices carts: every price from the catalog at the moment of pricing."""

    ports: CheckoutPorts
    settings: CheckoutSettings
    carts: CartService

    @checked
    def calculate(self, token: str, user_id: str | None) -> Estimate:
        """The estimate of the cart ``token`` for ``user_id`` (the seed's ``CalculatePricing``).

        Refuses a cart of another user, an ordered cart and an expired one. A
        coupon stored on the cart that no longer applies is explained in the
        estimate's notes, not refused.
        """
        with self.ports.unit_of_work() as uow:
            cart = self.carts.load(token, uow)
            usable = authorize(cart, user_id)
            usable.ensure_usable(self.ports.clock.now())
            if usable is not cart:
                locked = uow.carts.get(token, for_update=True)
                if locked is None:
                    raise CartNotFound
                usable = authorize(locked, user_id)
                uow.carts.update(usable)
            estimate = self.price(usable, uow)
            uow.commit()
        if usable is not cart:
            self.carts.remember(usable)
        return estimate

    def price(self, cart: Cart, uow: UnitOfWork) -> Estimate:
        """Price ``cart`` now from the catalog and the coupon's current usage (``GetFinalPricing``).

        Never reuses an earlier estimate: an order is charged what the catalog
        says when it is placed.
        """
        return self.price_with(cart, self.inputs(cart, uow))

    def inputs(self, cart: Cart, uow: UnitOfWork) -> PricingInputs:
        """Read what pricing ``cart`` needs: offerings, sale, coupon and the coupon's use."""
        catalog = uow.catalog
        sale = catalog.sale(cart.sale_slug) if cart.sale_slug else None
        coupon, usage = None, NO_USAGE
        if cart.coupon_code is not None:
            found = uow.discounts.coupon(cart.coupon_code, user_id=cart.owner_id)
            if found is not None:
                coupon, usage = found
        return PricingInputs(catalog.offerings(cart.offering_ids), sale, coupon, usage)

    def price_with(self, cart: Cart, inputs: PricingInputs) -> Estimate:
        """Price ``cart`` now from inputs the caller already read, under the host's tax policy."""
        return price_cart(
            cart,
            inputs.offerings,
            tax=self.settings.tax,
            now=self.ports.clock.now(),
            sale=inputs.sale,
            coupon=inputs.coupon,
            coupon_usage=inputs.usage,
        )

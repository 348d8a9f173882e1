"""CartService and AuthService: making carts, reading them fast, and who may use them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from attrs import frozen

from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Offering
from checkout_core.errors import CartNotFound, UnknownSale
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings

__all__ = [
    "AbandonedCarts",
    "AuthService",
    "CartAccess",
    "CartCleanup",
    "CartService",
    "SaleAbandonment",
    "authorize",
]

_DAY: Final = timedelta(days=1)
_WEEK: Final = timedelta(days=7)


def authorize(cart: Cart, user_id: str | None) -> Cart:
    """The cart as ``user_id`` may use it, or :class:`~checkout_core.errors.CartForbidden`.

    An anonymous cart is bound to the first authenticated user who touches
    it; from then on nobody else, anonymous callers included, may use it.
    """
    cart.check_access(user_id)
    if user_id is not None and cart.owner_id is None:
        return cart.bind_to(user_id)
    return cart


@frozen
class CartAccess:
    """The answer to the seed's auth check: authenticated or not, and as whom."""

    authenticated: bool
    user_id: str | None


@frozen
class CartCleanup:
    """What a cleanup run did: carts marked expired, and carts deleted past retention."""

    expired: int
    deleted: int


@frozen
class SaleAbandonment:
    """Carts of one sale (``None``: of no sale) left without an order, by how recently."""

    sale_slug: str | None
    last_day: int
    last_week: int


@frozen
class AbandonedCarts:
    """Carts whose time ran out without an order, in the 24 hours and the 7 days before ``at``.

    Counted by the cart's expiry. Their value is not given: a cart stores
    offerings and periods, not prices, and pricing each one again is not
    worth a report.
    """

    at: datetime
    last_day: int
    last_week: int
    by_sale: tuple[SaleAbandonment, ...]
    """One entry per sale with abandoned carts in the week, the carts of no sale first."""


@frozen
class CartService:
    """Carts: creating them from the catalog, reading them through the cache, cleaning up."""

    ports: CheckoutPorts
    settings: CheckoutSettings

    @checked
    def create_cart(
        self,
        products: Sequence[CartLine],
        *,
        sale_slug: str | None = None,
        analytics_data: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    ) -> Cart:
        """Open a cart for ``products`` (offering and period each) under ``sale_slug``.

        Prices are not taken from the caller: they are read from the catalog
        whenever the cart is priced.
        """
        with self.ports.unit_of_work() as uow:
            if sale_slug and uow.catalog.sale(sale_slug) is None:
                raise UnknownSale(f"there is no sale {sale_slug!r}")
            cart = Cart.open(
                token=self.ports.ids.token(),
                lines=products,
                offerings=uow.catalog.offerings({line.offering_id for line in products}),
                now=self.ports.clock.now(),
                sale_slug=sale_slug,
                analytics_data=analytics_data,
                ttl=self.settings.cart_ttl,
            )
            uow.carts.add(cart)
            uow.commit()
        self.remember(cart)
        return cart

    @checked
    def get_cart(self, token: str) -> Cart:
        """The cart with ``token``, from the cache when it holds it (GetCartWithCache)."""
        return self.load(token)

    def load(self, token: str, uow: UnitOfWork | None = None) -> Cart:
        """The cart with ``token``, through the cache; raises :class:`CartNotFound`."""
        cache = self.ports.cart_cache
        if cache is not None:
            cached = cache.get(token)
            if cached is not None:
                return cached
        if uow is None:
            with self.ports.unit_of_work() as read:
                cart = read.carts.get(token)
        else:
            cart = uow.carts.get(token)
        if cart is None:
            raise CartNotFound
        self.remember(cart)
        return cart

    def remember(self, cart: Cart) -> None:
        """Put the committed state of ``cart`` in the cache, until the cart expires."""
        cache = self.ports.cart_cache
        if cache is None:
            return
        ttl = cart.expires_at - self.ports.clock.now()
        if ttl.total_seconds() > 0:
            cache.put(cart, ttl)
        else:
            cache.invalidate(cart.token)

    @checked
    def cleanup_expired(
        self, *, batch_size: int = 1000, on_progress: Callable[[int], None] | None = None
    ) -> CartCleanup:
        """Mark carts past their expiry as expired, and delete those past retention.

        Works in batches of ``batch_size``, each its own transaction, so memory
        stays bounded and other writers are never held up for long.
        ``on_progress`` is told how many carts each batch expired or deleted.
        """
        now = self.ports.clock.now()
        cutoff = now - self.settings.cart_retention
        expired = self._in_batches(
            lambda uow: uow.carts.expire_stale(now, batch_size), batch_size, on_progress
        )
        deleted = self._in_batches(
            lambda uow: uow.carts.delete_expired_before(cutoff, batch_size),
            batch_size,
            on_progress,
        )
        return CartCleanup(expired=expired, deleted=deleted)

    def _in_batches(
        self,
        batch: Callable[[UnitOfWork], int],
        batch_size: int,
        on_progress: Callable[[int], None] | None,
    ) -> int:
        """Run ``batch`` in transactions of its own until one does less than a full batch."""
        done = 0
        while True:
            with self.ports.unit_of_work() as uow:
                count = batch(uow)
                uow.commit()
            done += count
            if on_progress is not None:
                on_progress(count)
            if count < batch_size:
                return done

    @checked
    def abandoned_statistics(self, now: datetime) -> AbandonedCarts:
        """The carts left without an order in the day and the week before ``now``, by sale.

        Two aggregate queries, whatever the number of carts.
        """
        with self.ports.unit_of_work() as uow:
            day = uow.carts.count_abandoned(now - _DAY, now)
            week = uow.carts.count_abandoned(now - _WEEK, now)
        # None (no sale) sorts before every slug.
        slugs = sorted(week, key=lambda slug: (slug is not None, slug or ""))
        return AbandonedCarts(
            at=now,
            last_day=sum(day.values()),
            last_week=sum(week.values()),
            by_sale=tuple(SaleAbandonment(slug, day.get(slug, 0), week[slug]) for slug in slugs),
        )

    @checked
    def list_offerings(self) -> list[Offering]:
        """Every offering on sale now, for browsing (``GET /api/v1/internships``)."""
        with self.ports.unit_of_work() as uow:
            return list(uow.catalog.active_offerings())


@frozen
class AuthService:
    """Who may use a cart: the seed's auth check, binding a cart to its first user."""

    ports: CheckoutPorts
    carts: CartService

    @checked
    def validate_cart_access(self, token: str, user_id: str | None) -> CartAccess:
        """Check ``user_id`` (``None`` when anonymous) against the cart, binding it if unbound.

        Raises (as a ``Failure``) :class:`~checkout_core.errors.CartForbidden`
        when the cart belongs to someone else.
        """
        cart = self.carts.load(token)
        if user_id is None or cart.owner_id == user_id:
            cart.check_access(user_id)
            return CartAccess(authenticated=user_id is not None, user_id=user_id)
        with self.ports.unit_of_work() as uow:
            locked = uow.carts.get(token, for_update=True)
            if locked is None:
                raise CartNotFound
            bound = authorize(locked, user_id)
            if bound is not locked:
                locked.ensure_usable(self.ports.clock.now())
                uow.carts.update(bound)
                uow.commit()
        self.carts.remember(bound)
        return CartAccess(authenticated=True, user_id=user_id)

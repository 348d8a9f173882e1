"""The checkout page in a browser: the seed's paid and free flows, a coupon, a failed payment.

The completed paid order is photographed to ``tests/e2e/artifacts/checkout-completed.png``
(ignored by git); the test prints the path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from playwright.sync_api import Page, expect
from sqlalchemy import update

from checkout_adapters.sqlalchemy.tables import carts
from checkout_core.domain.orders import OrderStatus
from tests.e2e.conftest import Marketplace

SCREENSHOT: Final = Path(__file__).parent / "artifacts" / "checkout-completed.png"
ORDER_PAGE: Final = re.compile(r"/checkout/order/([0-9a-f-]+)$")
PAY_PAGE: Final = re.compile(r"/pay/razorpay/order_\w+")


def open_cart(page: Page, marketplace: Marketplace, internship: str, months: int) -> None:
    """From the home page to a new cart of ``internship`` for ``months``."""
    page.goto(marketplace.base_url + "/")
    page.get_by_role("link", name="Browse internships").click()
    page.locator(f"#period-{internship}").select_option(str(months))
    page.locator(f"#enroll-{internship}").click()
    expect(page).to_have_url(re.compile(r"/checkout/cart/[0-9a-f-]+$"))


def sign_in(page: Page, name: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-as")).to_have_text(
        f"Signed in as {name.lower().replace(' ', '_')}"
    )
    expect(page.locator("#place-order")).to_be_enabled()


def apply_coupon(page: Page, code: str) -> None:
    page.get_by_label("Coupon code").fill(code)
    page.get_by_role("button", name="Apply").click()


def enrollments_of(marketplace: Marketplace, order_token: str) -> list[str]:
    with marketplace.served.checkout.ports.unit_of_work() as uow:
        return [enrollment.id for enrollment in uow.enrollments.for_order(order_token)]


def order_token_of(page: Page) -> str:
    matched = ORDER_PAGE.search(page.url)
    assert matched is not None, page.url
    return matched.group(1)


def test_a_paid_order_is_paid_on_the_sandbox_and_completes_with_its_enrollment(
    page: Page, marketplace: Marketplace
) -> None:
    open_cart(page, marketplace, "int_123", 3)
    sign_in(page, "Asha Rao")
    # The seed's figures: Rs 16,776 on sale, 18% GST, the total in whole rupees.
    expect(page.locator("#estimate-subtotal")).to_have_text("₹16,776.00")
    expect(page.locator("#estimate-tax")).to_have_text("₹3,020.00")
    expect(page.locator("#estimate-total")).to_have_text("₹19,796.00")

    apply_coupon(page, "SAVE20")
    expect(page.locator("#coupon-message")).to_contain_text("New total: ₹15,837.00")
    expect(page.locator("#estimate-total")).to_have_text("₹15,837.00")

    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(PAY_PAGE)
    expect(page.locator("#status")).to_have_text("created")
    page.get_by_role("button", name="Pay").click()

    expect(page).to_have_url(ORDER_PAGE)
    expect(page.locator("#order-status")).to_have_text("completed")
    enrollment = page.locator("#enrollment-id")
    expect(enrollment).to_have_text(re.compile(r"^enr_\w+$"))
    expect(page.locator("#order-total")).to_have_text("Total ₹15,837.00")
    expect(page.get_by_role("button", name="Try paying again")).to_be_hidden()

    token = order_token_of(page)
    assert enrollments_of(marketplace, token) == [enrollment.inner_text()]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    print(f"screenshot of the completed order: {SCREENSHOT}")  # noqa: T201 - where to look


def test_a_free_order_completes_at_once_with_its_enrollment(
    page: Page, marketplace: Marketplace
) -> None:
    open_cart(page, marketplace, "int_456", 1)
    sign_in(page, "Ben")
    expect(page.locator("#estimate-total")).to_have_text("₹0.00")

    page.get_by_role("button", name="Place order").click()

    expect(page).to_have_url(ORDER_PAGE)
    expect(page.locator("#order-status")).to_have_text("completed")
    expect(page.locator("#enrollment-id")).to_have_text(re.compile(r"^enr_\w+$"))
    token = order_token_of(page)
    assert enrollments_of(marketplace, token) == [page.locator("#enrollment-id").inner_text()]


def test_an_invalid_coupon_is_explained_in_words(page: Page, marketplace: Marketplace) -> None:
    open_cart(page, marketplace, "int_123", 2)
    sign_in(page, "Chitra")
    expect(page.locator("#estimate-total")).not_to_have_text("…")
    total = page.locator("#estimate-total").inner_text()

    apply_coupon(page, "NOPE10")

    message = page.locator("#coupon-message")
    expect(message).to_have_text("Coupon is invalid.")
    expect(message).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#estimate-total")).to_have_text(total)


def test_a_failed_payment_is_shown_and_can_be_paid_again(
    page: Page, marketplace: Marketplace
) -> None:
    open_cart(page, marketplace, "int_123", 1)
    sign_in(page, "Dev")
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(PAY_PAGE)

    page.get_by_role("button", name="Fail").click()

    expect(page).to_have_url(ORDER_PAGE)
    expect(page.locator("#order-status")).to_have_text("payment failed")
    expect(page.locator("#order-message")).to_contain_text("Your payment failed")
    token = order_token_of(page)
    with marketplace.served.checkout.ports.unit_of_work() as uow:
        order = uow.orders.get(token)
    assert order is not None
    assert order.status is OrderStatus.PAYMENT_FAILED

    page.get_by_role("button", name="Try paying again").click()
    expect(page).to_have_url(PAY_PAGE)
    page.get_by_role("button", name="Pay").click()

    expect(page).to_have_url(ORDER_PAGE)
    expect(page.locator("#order-status")).to_have_text("completed")
    expect(page.locator("#order-message")).to_be_hidden()
    expect(page.get_by_role("button", name="Try paying again")).to_be_hidden()
    assert len(enrollments_of(marketplace, token)) == 1


def test_an_expired_cart_is_explained_in_words(page: Page, marketplace: Marketplace) -> None:
    open_cart(page, marketplace, "int_123", 1)
    sign_in(page, "Esha")
    token = page.url.rsplit("/", 1)[1]
    # A day passes: the cart's 24 hours are over, as the cart cache's copy says too.
    with marketplace.served.engine.begin() as connection:
        connection.execute(
            update(carts)
            .where(carts.c.token == token)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    cache = marketplace.served.checkout.ports.cart_cache
    assert cache is not None
    cache.invalidate(token)

    page.reload()

    message = page.locator("#cart-message")
    expect(message).to_contain_text("This cart has expired.")
    expect(page.get_by_role("link", name="Choose an internship")).to_be_visible()
    expect(page.get_by_role("button", name="Place order")).to_be_disabled()

from __future__ import annotations

import json

from attrs import asdict

from checkout_core.errors import AuthenticationRequired, OrderNotFound
from checkout_core.services.receipts import decode_receipt, encode_receipt
from tests.unit.services.world import World, ok, refused


def test_the_owner_reads_a_paid_order_as_it_stands_with_its_payment(world: World) -> None:
    cart = world.seed_cart()
    placed = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    assert placed.payment_status == "created"
    assert placed.provider_ref is not None
    ok(world.checkout.payments.mark_paid("fake", placed.provider_ref, placed.total))
    now = ok(world.checkout.orders.get_receipt(placed.order_token, "user_a"))
    assert (now.status, now.payment_status) == ("paid", "captured")
    assert (now.total, now.provider_ref, now.checkout_url) == (
        placed.total,
        placed.provider_ref,
        placed.checkout_url,
    )


def test_the_owner_reads_a_free_order_with_its_enrollments(world: World) -> None:
    cart = world.free_cart()
    placed = ok(world.checkout.orders.create_from_cart(cart.token, "key-f", "user_a")).receipt
    read = ok(world.checkout.orders.get_receipt(placed.order_token, "user_a"))
    assert read == placed
    assert (read.status, read.payment_status, len(read.enrollment_ids)) == ("completed", None, 1)


def test_another_user_is_told_the_order_does_not_exist(world: World) -> None:
    cart = world.free_cart()
    placed = ok(world.checkout.orders.create_from_cart(cart.token, "key-f", "user_a")).receipt
    theirs = refused(world.checkout.orders.get_receipt(placed.order_token, "user_b"))
    missing = refused(world.checkout.orders.get_receipt("no-such-order", "user_b"))
    assert theirs == missing == OrderNotFound()


def test_an_anonymous_caller_must_sign_in_to_read_an_order(world: World) -> None:
    cart = world.free_cart()
    placed = ok(world.checkout.orders.create_from_cart(cart.token, "key-f", "user_a")).receipt
    error = refused(world.checkout.orders.get_receipt(placed.order_token, None))
    assert isinstance(error, AuthenticationRequired)


def test_a_receipt_stored_before_payment_status_existed_still_decodes(world: World) -> None:
    cart = world.seed_cart()
    receipt = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    assert decode_receipt(encode_receipt(receipt)) == receipt
    older = asdict(receipt)
    del older["payment_status"]
    decoded = decode_receipt(json.dumps(older))
    assert decoded.payment_status is None
    assert asdict(decoded) | {"payment_status": "created"} == asdict(receipt)

from __future__ import annotations

import logging
import smtplib
import time
import traceback
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from checkout_adapters.notifications import (
    NotificationFailed,
    RecipientUnknown,
    SmtpNotificationSender,
    TemplateError,
    message_id,
)
from checkout_core.domain.messages import Notification
from checkout_core.ports import NotificationSender
from tests.notifications.servers import PASSWORD, USERNAME, MailServer, free_port

ADDRESS = "asha.rao@example.com"
SENDER = "Courses <orders@shop.example>"
TOKEN = "ord_7f3a9c"
ADDRESSES = {
    "u1": f"Asha Rao <{ADDRESS}>",
    "u2": "bare@example.com",
    "u3": "Aśha Rāo <asha@example.com>",
}

PAID = Notification(
    template="confirmation",
    user_id="u1",
    order_token=TOKEN,
    context={"total": "1439200", "currency": "INR"},
)
FREE = Notification(template="welcome", user_id="u2", order_token="ord_free1")


def address_of(user_id: str | None) -> str | None:
    return None if user_id is None else ADDRESSES.get(user_id)


def sender_for(host: str, port: int, **options: Any) -> SmtpNotificationSender:
    options.setdefault("timeout", 2.0)
    return SmtpNotificationSender(host, port, sender=SENDER, recipients=address_of, **options)


def test_it_is_a_notification_sender(smtp_server: MailServer) -> None:
    sender: NotificationSender = sender_for(smtp_server.host, smtp_server.port)
    sender.send(PAID)
    assert len(smtp_server.handler.messages) == 1


def test_the_confirmation_arrives_with_subject_text_and_html(smtp_server: MailServer) -> None:
    sender_for(smtp_server.host, smtp_server.port).send(PAID)

    [message] = smtp_server.handler.messages
    assert smtp_server.handler.envelopes == [("orders@shop.example", [ADDRESS])]
    assert message["Subject"] == f"Payment received for order {TOKEN}"
    assert message["From"] == SENDER
    assert message["To"] == f"Asha Rao <{ADDRESS}>"
    assert message["Message-ID"] == message_id("confirmation", TOKEN, "shop.example")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Hello Asha Rao," in text.get_content()
    assert "14,392.00 INR" in text.get_content()
    assert "<strong>14,392.00 INR</strong>" in html.get_content()


def test_the_welcome_greets_a_buyer_whose_name_is_unknown(smtp_server: MailServer) -> None:
    sender_for(smtp_server.host, smtp_server.port).send(FREE)

    [message] = smtp_server.handler.messages
    assert message["Subject"] == "Welcome: your order ord_free1 is ready"
    text = message.get_body(("plain",))
    assert text is not None
    assert text.get_content().startswith("Hello there,")


def test_a_name_with_accents_travels_in_seven_bits(smtp_server: MailServer) -> None:
    accented = Notification(template="welcome", user_id="u3", order_token=TOKEN)
    sender_for(smtp_server.host, smtp_server.port).send(accented)

    [raw] = smtp_server.handler.raw
    assert raw.isascii()
    [message] = smtp_server.handler.messages
    assert message["To"] == "Aśha Rāo <asha@example.com>"
    text = message.get_body(("plain",))
    assert text is not None
    assert text.get_content().startswith("Hello Aśha Rāo,")


def test_a_resend_carries_the_same_message_id(smtp_server: MailServer) -> None:
    sender = sender_for(smtp_server.host, smtp_server.port)
    sender.send(PAID)
    sender.send(PAID)
    sender.send(FREE)

    ids = [message["Message-ID"] for message in smtp_server.handler.messages]
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]
    assert TOKEN not in ids[0], "the order token is a bearer token: it is hashed"


def test_a_server_that_is_down_fails_quickly_and_retryably() -> None:
    sender = sender_for("127.0.0.1", free_port())

    started = time.monotonic()
    with pytest.raises(NotificationFailed, match="confirmation") as failed:
        sender.send(PAID)

    assert time.monotonic() - started < 2
    assert failed.value.retryable
    assert isinstance(failed.value.__cause__, ConnectionRefusedError)


def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    sender = sender_for("127.0.0.1", silent_port, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(NotificationFailed) as failed:
        sender.send(PAID)
    assert time.monotonic() - started < 2
    assert "timed out" in str(failed.value.__cause__)


@pytest.mark.parametrize("user_id", ["u404", None])
def test_a_buyer_without_an_address_cannot_be_sent_to(
    smtp_server: MailServer, user_id: str | None
) -> None:
    notification = Notification(template="welcome", user_id=user_id, order_token=TOKEN)
    with pytest.raises(RecipientUnknown, match=f"no email address .* order {TOKEN}") as refused:
        sender_for(smtp_server.host, smtp_server.port).send(notification)
    assert not refused.value.retryable
    assert smtp_server.handler.messages == []


def test_a_template_error_is_raised_before_any_connection() -> None:
    broken = Notification(template="welcome-back", user_id="u1", order_token=TOKEN)
    with pytest.raises(TemplateError):
        sender_for("127.0.0.1", free_port()).send(broken)


def test_a_refused_recipient_fails_without_the_address_in_the_error(
    smtp_server: MailServer,
) -> None:
    smtp_server.handler.refuse_recipients = True

    with pytest.raises(NotificationFailed) as failed:
        sender_for(smtp_server.host, smtp_server.port).send(PAID)

    assert isinstance(failed.value.__cause__, smtplib.SMTPRecipientsRefused)
    told = "".join(traceback.format_exception(failed.value))
    assert "Recipient address rejected" in told
    assert ADDRESS not in told


def test_the_address_never_reaches_the_logs(
    smtp_server: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="checkout")
    sender = sender_for(smtp_server.host, smtp_server.port)

    sender.send(PAID)
    smtp_server.handler.refuse_recipients = True
    try:
        sender.send(PAID)
    except NotificationFailed:
        # What a worker does with a failed delivery: log it, with its causes.
        logging.getLogger("checkout.workers").exception("notification failed")

    logged = [record for record in caplog.records if record.name.startswith("checkout")]
    assert any(TOKEN in record.getMessage() for record in logged)
    assert any(record.exc_text for record in logged)
    assert ADDRESS not in caplog.text
    assert all(ADDRESS not in (record.exc_text or "") for record in logged)


def test_it_logs_in_when_given_credentials(smtp_auth_server: MailServer) -> None:
    server = smtp_auth_server
    sender_for(server.host, server.port, username=USERNAME, password=PASSWORD).send(PAID)
    assert len(server.handler.messages) == 1

    with pytest.raises(NotificationFailed) as failed:
        sender_for(server.host, server.port, username=USERNAME, password="wrong").send(PAID)
    assert isinstance(failed.value.__cause__, smtplib.SMTPAuthenticationError)
    assert len(server.handler.messages) == 1


def test_starttls_against_a_server_without_it_fails(smtp_server: MailServer) -> None:
    sender = sender_for(smtp_server.host, smtp_server.port, starttls=True)
    with pytest.raises(NotificationFailed) as failed:
        sender.send(PAID)
    assert isinstance(failed.value.__cause__, smtplib.SMTPNotSupportedError)
    assert smtp_server.handler.messages == []


def test_the_password_stays_out_of_the_repr() -> None:
    sender = sender_for("127.0.0.1", 25, username=USERNAME, password=PASSWORD)
    assert PASSWORD not in repr(sender)


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"password": "x"}, {"sender": "not an address"}],
)
def test_a_wrong_configuration_is_refused(options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"sender": SENDER, "recipients": address_of, **options}
    with pytest.raises(ValueError, match=r"timeout|password|sender"):
        SmtpNotificationSender("127.0.0.1", 25, **arguments)

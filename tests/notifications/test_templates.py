from __future__ import annotations

from pathlib import Path

import pytest

from checkout_adapters.notifications import (
    EmailTemplates,
    TemplateError,
    default_template_directory,
    format_amount,
)
from checkout_core.domain.messages import Notification

TOKEN = "ord_7f3a9c"


def confirmation(**context: str) -> Notification:
    return Notification(
        template="confirmation",
        user_id="u1",
        order_token=TOKEN,
        context={"total": "1439200", "currency": "INR", **context},
    )


def welcome(**context: str) -> Notification:
    return Notification(template="welcome", user_id="u1", order_token=TOKEN, context=context)


def test_the_package_ships_both_emails_as_text_and_html() -> None:
    directory = default_template_directory()
    for name in ("welcome.txt", "welcome.html", "confirmation.txt", "confirmation.html"):
        assert directory.joinpath(name).is_file(), name


@pytest.mark.parametrize(
    ("minor", "currency", "written"),
    [
        ("1439200", "INR", "14,392.00 INR"),
        ("5", "USD", "0.05 USD"),
        ("0", "EUR", "0.00 EUR"),
        ("1500", "JPY", "1,500 JPY"),
        ("12345", "BHD", "12.345 BHD"),
        ("-250", "inr", "-2.50 INR"),
    ],
)
def test_amounts_are_written_in_major_units_with_the_currency(
    minor: str, currency: str, written: str
) -> None:
    assert format_amount(minor, currency) == written


@pytest.mark.parametrize(("minor", "currency"), [("14.50", "INR"), ("", "INR"), ("100", "XXX")])
def test_an_amount_that_cannot_be_read_is_refused(minor: str, currency: str) -> None:
    with pytest.raises(TemplateError):
        format_amount(minor, currency)


def test_the_confirmation_speaks_of_the_order_and_the_amount_paid() -> None:
    email = EmailTemplates().render(confirmation(), recipient_name="Asha")

    assert email.subject == f"Payment received for order {TOKEN}"
    assert "Hello Asha," in email.text
    assert f"payment of 14,392.00 INR for order {TOKEN}" in email.text
    assert "1439200" not in email.text
    assert email.html is not None
    assert "<strong>14,392.00 INR</strong>" in email.html
    assert f"<strong>{TOKEN}</strong>" in email.html


def test_the_welcome_needs_nothing_but_the_order() -> None:
    email = EmailTemplates().render(welcome())

    assert email.subject == f"Welcome: your order {TOKEN} is ready"
    assert email.text.startswith("Hello there,")
    assert "nothing to pay" in email.text
    assert email.html is not None
    assert "Hello there," in email.html
    assert "<ul>" not in email.html


def test_offering_titles_are_listed_when_given() -> None:
    email = EmailTemplates().render(welcome(offerings="Python 101\nData & SQL\n"))

    assert "- Python 101\n- Data & SQL\n" in email.text
    assert email.html is not None
    assert "<ul><li>Python 101</li><li>Data &amp; SQL</li></ul>" in email.html


def test_values_are_escaped_in_the_html_and_kept_on_one_line_in_the_subject() -> None:
    templates = EmailTemplates()
    email = templates.render(confirmation(), recipient_name="<b>Eve</b>")
    assert email.html is not None
    assert "&lt;b&gt;Eve&lt;/b&gt;" in email.html
    assert "Hello <b>Eve</b>," in email.text

    odd = Notification(template="welcome", user_id=None, order_token="a\nb")
    assert "\n" not in templates.render(odd).subject


def test_a_missing_placeholder_is_refused_when_rendering() -> None:
    paid = Notification(
        template="confirmation", user_id="u1", order_token=TOKEN, context={"currency": "INR"}
    )
    with pytest.raises(TemplateError, match="'total'") as refused:
        EmailTemplates().render(paid)
    assert isinstance(refused.value.__cause__, KeyError)


def test_an_amount_without_a_currency_is_refused() -> None:
    paid = Notification(
        template="confirmation", user_id="u1", order_token=TOKEN, context={"total": "100"}
    )
    with pytest.raises(TemplateError, match="without a currency"):
        EmailTemplates().render(paid)


@pytest.mark.parametrize("name", ["refund", "../welcome", "", "welcome.txt"])
def test_an_unknown_template_is_refused(name: str) -> None:
    with pytest.raises(TemplateError):
        EmailTemplates().render(Notification(template=name, user_id="u1", order_token=TOKEN))


def test_a_host_may_bring_its_own_templates(tmp_path: Path) -> None:
    (tmp_path / "welcome.txt").write_text(
        "Subject: Hi $recipient_name\n\nOrder $order_token, ref $ref, total $$0.\n",
        encoding="utf-8",
    )
    templates = EmailTemplates(tmp_path)

    email = templates.render(welcome(ref="X-1"), recipient_name="Asha")

    assert email.subject == "Hi Asha"
    assert email.text == f"Order {TOKEN}, ref X-1, total $0.\n"
    assert email.html is None, "the HTML part is optional in a host's own directory"
    with pytest.raises(TemplateError, match="'ref'"):
        templates.render(welcome())
    with pytest.raises(TemplateError, match="no template 'confirmation'"):
        templates.render(confirmation())


def test_a_template_without_a_subject_line_is_refused(tmp_path: Path) -> None:
    (tmp_path / "welcome.txt").write_text("Hello $recipient_name\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="Subject"):
        EmailTemplates(str(tmp_path)).render(welcome())


def test_a_malformed_placeholder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "welcome.txt").write_text("Subject: Hi\n\nPay $5 now\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="malformed"):
        EmailTemplates(tmp_path).render(welcome())

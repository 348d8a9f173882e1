from __future__ import annotations

from pathlib import Path

import pytest

from checkout_adapters.settings import (
    DEFAULT_DATABASE_URL,
    ConfigurationError,
    GatewayChoice,
    RazorpayKeys,
    ServerSettings,
    StripeKeys,
)

PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
RAZORPAY = {
    "CHECKOUT_GATEWAY": "razorpay",
    "CHECKOUT_RAZORPAY_KEY_ID": "rzp_live_abc",
    "CHECKOUT_RAZORPAY_KEY_SECRET": "razorpay-key-secret",
    "CHECKOUT_RAZORPAY_WEBHOOK_SECRET": "razorpay-webhook-secret",
}
STRIPE = {
    "CHECKOUT_GATEWAY": "stripe",
    "CHECKOUT_STRIPE_API_KEY": "sk_live_stripe-api-key",
    "CHECKOUT_STRIPE_WEBHOOK_SECRET": "whsec_stripe-webhook-secret",
}


def test_an_empty_environment_is_the_embedded_default() -> None:
    settings = ServerSettings.from_env({})
    assert settings == ServerSettings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///checkout.db"
    assert settings.redis_url is None
    assert settings.gateway is GatewayChoice.SANDBOX
    assert (settings.razorpay, settings.stripe) == (None, None)
    assert (settings.jwt_secret, settings.jwt_public_key) == (None, None)
    assert (settings.jwt_audience, settings.jwt_issuer) == (None, None)
    assert settings.cors_origins == ()
    assert settings.public_url is None


def test_empty_values_count_as_unset() -> None:
    blank = dict.fromkeys(
        ["CHECKOUT_DATABASE_URL", "CHECKOUT_REDIS_URL", "CHECKOUT_GATEWAY", "CHECKOUT_JWT_SECRET"],
        " ",
    )
    assert ServerSettings.from_env(blank) == ServerSettings()


def test_the_database_url() -> None:
    url = "postgresql+psycopg://checkout@db.internal/checkout"
    assert ServerSettings.from_env({"CHECKOUT_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    ("value", "says"),
    [("not a url", "not a database URL"), ("mysql://root@db/shop", "names mysql")],
)
def test_a_bad_database_url_is_named(value: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=f"CHECKOUT_DATABASE_URL.*{says}"):
        ServerSettings.from_env({"CHECKOUT_DATABASE_URL": value})


def test_the_redis_url() -> None:
    url = "redis://127.0.0.1:6379/2"
    assert ServerSettings.from_env({"CHECKOUT_REDIS_URL": url}).redis_url == url


def test_a_bad_redis_url_is_named() -> None:
    with pytest.raises(ConfigurationError, match="CHECKOUT_REDIS_URL is not a Redis URL"):
        ServerSettings.from_env({"CHECKOUT_REDIS_URL": "http://127.0.0.1:6379"})


@pytest.mark.parametrize("name", ["sandbox", "SANDBOX", "Sandbox"])
def test_the_gateway_name_is_read_in_any_case(name: str) -> None:
    assert ServerSettings.from_env({"CHECKOUT_GATEWAY": name}).gateway is GatewayChoice.SANDBOX


def test_an_unknown_gateway_is_named_with_the_choices() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"CHECKOUT_GATEWAY is 'paypal': it takes one of sandbox, razorpay, stripe",
    ):
        ServerSettings.from_env({"CHECKOUT_GATEWAY": "paypal"})


def test_the_razorpay_gateway_reads_its_three_keys() -> None:
    settings = ServerSettings.from_env(RAZORPAY)
    assert settings.gateway is GatewayChoice.RAZORPAY
    assert settings.razorpay == RazorpayKeys(
        "rzp_live_abc", "razorpay-key-secret", "razorpay-webhook-secret"
    )
    assert settings.stripe is None


@pytest.mark.parametrize(
    "missing",
    [
        "CHECKOUT_RAZORPAY_KEY_ID",
        "CHECKOUT_RAZORPAY_KEY_SECRET",
        "CHECKOUT_RAZORPAY_WEBHOOK_SECRET",
    ],
)
def test_the_razorpay_gateway_without_a_key_names_it(missing: str) -> None:
    environ = {name: value for name, value in RAZORPAY.items() if name != missing}
    with pytest.raises(
        ConfigurationError, match=f"{missing} is not set: .* when CHECKOUT_GATEWAY is razorpay"
    ):
        ServerSettings.from_env(environ)


def test_the_stripe_gateway_reads_its_two_keys() -> None:
    settings = ServerSettings.from_env(STRIPE)
    assert settings.gateway is GatewayChoice.STRIPE
    assert settings.stripe == StripeKeys("sk_live_stripe-api-key", "whsec_stripe-webhook-secret")
    assert settings.razorpay is None


@pytest.mark.parametrize("missing", ["CHECKOUT_STRIPE_API_KEY", "CHECKOUT_STRIPE_WEBHOOK_SECRET"])
def test_the_stripe_gateway_without_a_key_names_it(missing: str) -> None:
    environ = {name: value for name, value in STRIPE.items() if name != missing}
    with pytest.raises(ConfigurationError, match=f"{missing} is not set"):
        ServerSettings.from_env(environ)


def test_the_sandbox_ignores_provider_keys() -> None:
    environ = {**RAZORPAY, **STRIPE, "CHECKOUT_GATEWAY": "sandbox"}
    settings = ServerSettings.from_env(environ)
    assert (settings.razorpay, settings.stripe) == (None, None)


def test_the_jwt_secret_audience_and_issuer() -> None:
    settings = ServerSettings.from_env(
        {
            "CHECKOUT_JWT_SECRET": "hs256-secret-of-at-least-32-bytes",
            "CHECKOUT_JWT_AUDIENCE": "checkout",
            "CHECKOUT_JWT_ISSUER": "https://auth.example.com/",
        }
    )
    assert settings.jwt_secret == "hs256-secret-of-at-least-32-bytes"
    assert settings.jwt_public_key is None
    assert settings.jwt_audience == "checkout"
    assert settings.jwt_issuer == "https://auth.example.com/"


def test_a_short_jwt_secret_is_named() -> None:
    with pytest.raises(ConfigurationError, match="CHECKOUT_JWT_SECRET is too short"):
        ServerSettings.from_env({"CHECKOUT_JWT_SECRET": "s" * 31})


def test_the_jwt_public_key_as_pem_text() -> None:
    settings = ServerSettings.from_env({"CHECKOUT_JWT_PUBLIC_KEY": PEM})
    assert settings.jwt_public_key == PEM.strip()
    assert settings.jwt_secret is None


def test_the_jwt_public_key_from_a_file(tmp_path: Path) -> None:
    key = tmp_path / "jwt.pub"
    key.write_text(PEM, encoding="utf-8")
    assert ServerSettings.from_env({"CHECKOUT_JWT_PUBLIC_KEY": str(key)}).jwt_public_key == PEM


def test_a_jwt_public_key_file_that_is_missing_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(
        ConfigurationError, match="CHECKOUT_JWT_PUBLIC_KEY is neither PEM text nor a readable file"
    ):
        ServerSettings.from_env({"CHECKOUT_JWT_PUBLIC_KEY": str(missing)})


def test_a_jwt_public_key_file_without_a_key_is_named(tmp_path: Path) -> None:
    key = tmp_path / "jwt.pub"
    key.write_text("not a key", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"CHECKOUT_JWT_PUBLIC_KEY names .* no PEM key"):
        ServerSettings.from_env({"CHECKOUT_JWT_PUBLIC_KEY": str(key)})


def test_both_a_jwt_secret_and_a_public_key_are_refused() -> None:
    with pytest.raises(
        ConfigurationError, match="CHECKOUT_JWT_SECRET and CHECKOUT_JWT_PUBLIC_KEY are both set"
    ):
        ServerSettings.from_env({"CHECKOUT_JWT_SECRET": "s" * 32, "CHECKOUT_JWT_PUBLIC_KEY": PEM})


def test_the_cors_origins_are_a_comma_separated_list() -> None:
    settings = ServerSettings.from_env(
        {"CHECKOUT_CORS_ORIGINS": " https://shop.example.com/, http://localhost:3000 ,,"}
    )
    assert settings.cors_origins == ("https://shop.example.com", "http://localhost:3000")


def test_any_origin_is_refused_as_a_cors_origin() -> None:
    with pytest.raises(ConfigurationError, match=r"CHECKOUT_CORS_ORIGINS holds '\*'"):
        ServerSettings.from_env({"CHECKOUT_CORS_ORIGINS": "https://a.example.com, *"})


def test_a_cors_origin_that_is_not_an_address_is_named() -> None:
    with pytest.raises(
        ConfigurationError, match=r"CHECKOUT_CORS_ORIGINS holds 'shop\.example\.com'"
    ):
        ServerSettings.from_env({"CHECKOUT_CORS_ORIGINS": "https://a.example.com,shop.example.com"})


def test_the_public_url_loses_its_trailing_slash() -> None:
    settings = ServerSettings.from_env({"CHECKOUT_PUBLIC_URL": "https://shop.example.com/"})
    assert settings.public_url == "https://shop.example.com"


def test_a_public_url_that_is_not_an_address_is_named() -> None:
    with pytest.raises(ConfigurationError, match="CHECKOUT_PUBLIC_URL holds 'ftp://x'"):
        ServerSettings.from_env({"CHECKOUT_PUBLIC_URL": "ftp://x"})


def test_a_configuration_error_is_a_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)


def test_no_secret_appears_in_the_repr() -> None:
    settings = ServerSettings.from_env(
        {
            **RAZORPAY,
            "CHECKOUT_DATABASE_URL": "postgresql://checkout:db-password@db/checkout",
            "CHECKOUT_REDIS_URL": "redis://:redis-password@cache:6379/0",
            "CHECKOUT_JWT_SECRET": "jwt-secret-of-at-least-thirty-two-bytes",
        }
    )
    shown = repr(settings)
    for secret in (
        "razorpay-key-secret",
        "razorpay-webhook-secret",
        "db-password",
        "redis-password",
        "jwt-secret-of",
    ):
        assert secret not in shown
    assert "rzp_live_abc" in shown
    assert "db/checkout" in shown
    stripe = repr(ServerSettings.from_env(STRIPE))
    assert "stripe-api-key" not in stripe
    assert "stripe-webhook-secret" not in stripe

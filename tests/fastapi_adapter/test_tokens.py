"""Bearer tokens: only a JWT signed as configured, in date, for us, naming a user, gets in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from checkout_adapters.bootstrap import Embedded
from checkout_adapters.fastapi import Identity, JwtVerifier
from checkout_core.errors import InvalidToken
from tests.fastapi_adapter.support import (
    AUDIENCE,
    ISSUER,
    SECRET,
    RecordingMetrics,
    TestClient,
    app_client,
    claims_for,
    new_cart,
    token_for,
    verifier,
)

PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = PRIVATE_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed_hs256(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token made by hand: pyjwt itself refuses to sign with a PEM key."""
    signing_input = (
        f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}."
        f"{_b64(json.dumps(claims).encode())}"
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_a_valid_hs256_token_names_its_subject() -> None:
    identity = verifier().verify(token_for("user_42", email="asha@example.com"))
    assert identity == Identity("user_42")
    assert identity.claims["email"] == "asha@example.com"


def test_a_valid_rs256_token_names_its_subject() -> None:
    rs = JwtVerifier.rs256(PUBLIC_PEM, audience=AUDIENCE, issuer=ISSUER)
    token = jwt.encode(claims_for("user_7"), PRIVATE_KEY, algorithm="RS256")
    assert rs.verify(token).user_id == "user_7"


NOW = int(time.time())
FORGERIES = {
    "alg none": jwt.encode(claims_for("user_42"), "", algorithm="none"),
    "wrong key": jwt.encode(claims_for("user_42"), "another-secret-" + SECRET, algorithm="HS256"),
    "expired": token_for("user_42", exp=NOW - 120),
    "not yet valid": token_for("user_42", nbf=NOW + 600),
    "wrong audience": token_for("user_42", aud="billing"),
    "wrong issuer": token_for("user_42", iss="https://evil.example.com"),
    "empty subject": token_for("user_42", sub=""),
    "not a jwt": "not-a-jwt",
}


@pytest.mark.parametrize("token", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_or_unfit_hs256_token_is_invalid(token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(token)


@pytest.mark.parametrize("missing", ["sub", "exp", "aud", "iss"])
def test_a_token_missing_a_required_claim_is_invalid(missing: str) -> None:
    claims = claims_for("user_42")
    del claims[missing]
    with pytest.raises(InvalidToken):
        verifier().verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_an_hs256_token_signed_with_the_rsa_public_key_is_refused() -> None:
    rs = JwtVerifier.rs256(PUBLIC_PEM, audience=AUDIENCE, issuer=ISSUER)
    confused = hand_signed_hs256(claims_for("user_42"), PUBLIC_PEM)
    with pytest.raises(InvalidToken):
        rs.verify(confused)


def test_an_rs256_token_is_refused_by_an_hs256_verifier() -> None:
    token = jwt.encode(claims_for("user_42"), PRIVATE_KEY, algorithm="RS256")
    with pytest.raises(InvalidToken):
        verifier().verify(token)


def test_a_short_hmac_secret_or_a_non_rsa_key_is_refused_when_building() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        JwtVerifier.hs256("short", audience=None, issuer=None)
    with pytest.raises(ValueError, match="PEM"):
        JwtVerifier.rs256(b"not a key", audience=None, issuer=None)


def test_a_forged_token_over_http_is_a_401_that_says_how_to_authenticate(
    client: TestClient, metrics: RecordingMetrics
) -> None:
    token = new_cart(client)
    response = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "k1"},
        headers={"Authorization": f"Bearer {FORGERIES['alg none']}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 9003
    assert response.json()["error"]["message"] == "The bearer token is not valid."
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert metrics.errors == [("auth", 9003)]


def test_no_token_where_one_is_needed_is_authentication_required(client: TestClient) -> None:
    token = new_cart(client)
    response = client.post("/api/v1/order", json={"cart_token": token, "idempotency_key": "k1"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 9001
    assert response.headers["www-authenticate"] == "Bearer"


def test_credentials_that_are_not_a_bearer_token_are_not_taken_as_anonymous(
    client: TestClient,
) -> None:
    token = new_cart(client)
    response = client.post(
        f"/api/v1/cart/{token}/auth/check", headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 9003


def test_without_a_verifier_every_token_is_refused(world: Embedded) -> None:
    anonymous_only = app_client(world.checkout, identity=None)
    token = new_cart(anonymous_only)
    refused = anonymous_only.post(
        f"/api/v1/cart/{token}/auth/check", headers={"Authorization": f"Bearer {token_for('u')}"}
    )
    assert refused.status_code == 401
    anonymous = anonymous_only.post(f"/api/v1/cart/{token}/auth/check")
    assert anonymous.json()["data"] == {"authenticated": False}

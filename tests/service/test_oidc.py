"""OIDC against a real OpenID Provider (the `oidc-provider` fixture of tests/support/oidc.py):
the portal's authorization-code flow with PKCE ends in a session of the principal whose
oidcSubjects holds the `sub`; the API takes the provider's JWT access tokens for the configured
audience and refuses tampered, foreign-audience, expired and unknown-subject tokens."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("tests.support.oidc", reason="the OIDC provider fixture (tests/support/oidc.py) is not here yet")

BASE = "http://127.0.0.1:8080"
CALLBACK = f"{BASE}/auth/oidc/callback"


@pytest.fixture
def provider(oidc_provider):
    return oidc_provider(redirect_uris=[CALLBACK], audience="govcloud-api")


@pytest.fixture
def oidc_client(make_client, provider):
    from govcloud.service.config import OidcSettings

    return make_client(oidc=OidcSettings(provider.issuer, provider.client_id, provider.client_secret, "govcloud-api"))


def portal_sign_in(client, provider, subject: str):
    r = client.get("/auth/oidc/login", follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [CALLBACK]   # RFC 7636
    assert "code_verifier" not in url
    back = provider.sign_in(url, subject)
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def test_the_portal_signs_in_through_the_provider(oidc_client, provider) -> None:
    page = oidc_client.get("/signin")
    assert 'id="oidc-signin"' in page.text
    r = portal_sign_in(oidc_client, provider, "hachioji-takahashi")
    assert r.status_code == 303 and r.headers["location"] == "/portal", r.text
    page = oidc_client.get("/portal")
    assert 'data-principal="hachioji-takahashi"' in page.text
    assert provider.client_secret not in page.text


def test_a_callback_is_used_once_needs_its_state_and_this_browser(oidc_client, provider) -> None:
    r = oidc_client.get("/auth/oidc/login", follow_redirects=False)
    back = urlsplit(provider.sign_in(r.headers["location"], "yamada-taro"))
    assert oidc_client.get(f"{back.path}?{back.query}", follow_redirects=False).status_code == 303
    replay = oidc_client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert replay.status_code == 401 and "already used" in replay.text      # state consumed
    forged = oidc_client.get(f"{back.path}?code=x&state=made-up", follow_redirects=False)
    assert forged.status_code == 401 and "Traceback" not in forged.text
    # login CSRF: a callback carrying someone else's code and state, started in their browser
    r = oidc_client.get("/auth/oidc/login", follow_redirects=False)
    theirs = urlsplit(provider.sign_in(r.headers["location"], "asuka-sato"))
    oidc_client.cookies.clear()
    r = oidc_client.get(f"{theirs.path}?{theirs.query}", follow_redirects=False)
    assert r.status_code == 401 and "not started in this browser" in r.text


def test_an_unknown_subject_gets_no_session(oidc_client, provider) -> None:
    r = portal_sign_in(oidc_client, provider, "someone-else")
    assert r.status_code == 403 and "oidcSubjects" in r.text
    assert oidc_client.get("/portal", follow_redirects=False).headers["location"] == "/signin"


def test_the_api_takes_the_providers_access_tokens(oidc_client, provider) -> None:
    tokens = provider.login("asuka-sato")
    r = oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "asuka-sato" and r.json()["authentication"] == "oidc"
    # the ID token is for the portal (aud = client id), not for the API
    assert oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['id_token']}"}).status_code == 401
    head, body, sig = tokens["access_token"].split(".")
    tampered = f"{head}.{body[:-4]}AAAA.{sig}"
    assert oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    stranger = provider.login("someone-else")["access_token"]
    assert oidc_client.get("/api/v1/me", headers={"Authorization": f"Bearer {stranger}"}).status_code == 401


def test_another_audience_or_an_expired_token_is_refused(make_client, oidc_provider) -> None:
    from govcloud.service.config import OidcSettings

    # Six seconds: long enough to be used once on a loaded machine (one second flaked in CI under
    # load), short enough to wait out.
    other = oidc_provider(redirect_uris=[CALLBACK], audience="another-api", access_token_ttl=6)
    client = make_client(oidc=OidcSettings(other.issuer, other.client_id, other.client_secret, "govcloud-api"))
    token = other.login("asuka-sato")["access_token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    client2 = make_client(oidc=OidcSettings(other.issuer, other.client_id, other.client_secret, "another-api", leeway=0))
    fresh = other.login("asuka-sato")["access_token"]
    assert client2.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    claims = json.loads(base64.urlsafe_b64decode(fresh.split(".")[1] + "=="))
    time.sleep(max(0.0, claims["exp"] - time.time()) + 1.5)       # past its lifetime
    assert client2.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_only_typed_access_tokens_reach_the_api(make_client, oidc_provider) -> None:
    """RFC 9068 §4: the typ header must say at+jwt. The provider's access tokens do; a service
    configured to take only JWT-typed tokens refuses them, and an API audience equal to the
    portal's client id (which would let ID tokens through) is refused at start."""
    from govcloud.service.config import OidcSettings

    other = oidc_provider(redirect_uris=[CALLBACK], audience="typed-api")
    token = other.login("asuka-sato")["access_token"]
    typed = make_client(oidc=OidcSettings(other.issuer, other.client_id, other.client_secret, "typed-api"))
    assert typed.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    untyped = make_client(oidc=OidcSettings(other.issuer, other.client_id, other.client_secret, "typed-api",
                                            access_token_types=("JWT",)))
    # (the response does not say which check failed: no oracle; only the typ differs here)
    assert untyped.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with pytest.raises(ValueError, match="must differ"):
        OidcSettings(other.issuer, other.client_id, other.client_secret, other.client_id)

"""The OIDC fixture runs the real oidc-provider: discovery, sign-in through its pages, and tokens that
verify against its published keys (and fail when tampered with or meant for another audience)."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError, InvalidKeyIdError
from joserfc.jwk import KeySet

from tests.support.net import free_port
from tests.support.oidc import OidcProvider, pkce_pair


def verify(token: str, provider: OidcProvider, audience: str) -> dict:
    """What a relying party or resource server does: signature by the issuer's JWKS, then claims."""
    keys = KeySet.import_key_set(provider.jwks())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer},
                          aud={"essential": True, "value": audience},
                          sub={"essential": True}, exp={"essential": True}).validate(decoded.claims)
    return {"header": decoded.header, **decoded.claims}


@pytest.fixture(scope="module")
def provider(oidc_provider_shared) -> OidcProvider:
    """One provider for this module (the session-scoped factory); the service's callback port is
    chosen before the provider starts, as a service test does."""
    service_port = free_port()
    return oidc_provider_shared(redirect_uris=[f"http://127.0.0.1:{service_port}/auth/callback"],
                                audience="govcloud-api")


def test_discovery_describes_a_code_flow_provider_with_pkce(provider: OidcProvider):
    d = provider.discovery
    assert provider.issuer.startswith("http://127.0.0.1:")
    assert d["issuer"] == provider.issuer
    assert d["jwks_uri"] == provider.jwks_uri == f"{provider.issuer}/jwks"
    assert "code" in d["response_types_supported"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "email", "profile"} <= set(d["scopes_supported"])
    assert {"sub", "email", "name"} <= set(d["claims_supported"])
    keys = provider.jwks()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"] and all("d" not in k for k in keys)  # public halves only


def test_login_yields_verifiable_id_token_and_jwt_access_token(provider: OidcProvider):
    tokens = provider.login("vendor-alice")
    assert tokens["token_type"] == "Bearer" and 0 < tokens["expires_in"] <= 3600
    id_token = verify(tokens["id_token"], provider, audience=provider.client_id)
    assert (id_token["sub"], id_token["email"], id_token["name"]) == (
        "vendor-alice", "vendor-alice@example.test", "vendor-alice")
    access = verify(tokens["access_token"], provider, audience="govcloud-api")
    assert access["header"]["typ"] == "at+jwt"  # RFC 9068 JWT access token
    assert access["sub"] == "vendor-alice" and access["client_id"] == provider.client_id
    assert access["email"] == "vendor-alice@example.test"


def test_tampered_token_fails_verification(provider: OidcProvider):
    token = provider.login("vendor-bob")["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "platform-admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        verify(f"{header}.{forged}.{signature}", provider, audience="govcloud-api")


def test_token_for_another_audience_or_issuer_fails(provider: OidcProvider, oidc_provider):
    tokens = provider.login("muni-carol")
    with pytest.raises(InvalidClaimError):
        verify(tokens["access_token"], provider, audience="some-other-api")
    with pytest.raises(InvalidClaimError):
        verify(tokens["id_token"], provider, audience="govcloud-api")  # an ID token is not for the API
    other = oidc_provider(audience="govcloud-api")  # another provider: other keys
    with pytest.raises(InvalidKeyIdError):
        verify(tokens["access_token"], other, audience="govcloud-api")


def test_sign_in_completes_a_flow_the_service_started(provider: OidcProvider):
    """The service builds the authorization URL (its own state and PKCE); the test signs in there and
    gets the callback URL to hand back to the service, which exchanges the code itself."""
    redirect_uri = provider.redirect_uris[0]
    verifier, challenge = pkce_pair()
    url = provider.authorization_endpoint + "?" + urlencode({
        "client_id": provider.client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "openid email profile", "state": "service-state", "nonce": "service-nonce",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    callback = provider.sign_in(url, "platform-dave")
    assert callback.startswith(redirect_uri + "?")
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == ["service-state"] and query["iss"] == [provider.issuer]
    someone_elses_verifier = pkce_pair()[0]
    wrong = provider.exchange_code(query["code"][0], someone_elses_verifier, redirect_uri)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_service_exchanges_the_code_from_sign_in(provider: OidcProvider):
    verifier, challenge = pkce_pair()
    url = provider.authorization_endpoint + "?" + urlencode({
        "client_id": provider.client_id, "response_type": "code", "redirect_uri": provider.redirect_uris[0],
        "scope": "openid email", "state": "st", "nonce": "n-123",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    code = parse_qs(urlsplit(provider.sign_in(url, "security-frank")).query)["code"][0]
    tokens = provider.exchange_code(code, verifier).raise_for_status().json()
    id_token = verify(tokens["id_token"], provider, audience=provider.client_id)
    assert id_token["nonce"] == "n-123" and id_token["sub"] == "security-frank"


def test_code_flow_without_pkce_is_refused(provider: OidcProvider):
    url = provider.authorization_endpoint + "?" + urlencode({
        "client_id": provider.client_id, "response_type": "code", "redirect_uri": provider.redirect_uris[0],
        "scope": "openid", "state": "s"})
    response = httpx.get(url, follow_redirects=False)
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and "PKCE" in query["error_description"][0]


def test_a_code_is_single_use(provider: OidcProvider):
    auth = provider.authorize("vendor-erin")
    assert provider.exchange_code(auth.code, auth.code_verifier).status_code == 200
    replay = provider.exchange_code(auth.code, auth.code_verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_token_lifetimes_and_account_claims_come_from_the_fixture(oidc_provider):
    provider = oidc_provider(audience="https://api.govcloud.example/", access_token_ttl=60,
                             token_endpoint_auth_method="client_secret_post",
                             accounts={"alice": {"name": "Alice Example", "email": "alice@city.example"}})
    assert provider.resource == "https://api.govcloud.example/"  # an absolute URI is its own indicator
    tokens = provider.login("alice")
    access = verify(tokens["access_token"], provider, audience="https://api.govcloud.example/")
    assert tokens["expires_in"] == 60 and access["exp"] - access["iat"] == 60
    id_token = verify(tokens["id_token"], provider, audience=provider.client_id)
    assert (id_token["name"], id_token["email"]) == ("Alice Example", "alice@city.example")

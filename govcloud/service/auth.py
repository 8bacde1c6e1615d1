"""Who is calling: personal access tokens, portal sessions and OIDC.

- **Personal access tokens** (the embedded default): ``gcp_`` + 256 random bits, issued by a
  platform principal with ``govcloud serve token create``, shown once, stored as a SHA-256 hash,
  expiring and revocable. The API takes them as ``Authorization: Bearer`` (RFC 6750 §2.1).
- **Sessions** (the portal): a random id in an HttpOnly, SameSite=Lax cookie (``Secure`` unless
  switched off for http://127.0.0.1 development), stored hashed, with a session-bound CSRF token
  (OWASP CSRF Prevention Cheat Sheet, "synchronizer token pattern").
- **OIDC** (production): the authorization-code flow with PKCE for the portal (RFC 6749 §4.1,
  RFC 7636 with S256, OpenID Connect Core §3.1), and bearer JWT access tokens for the API
  verified against the issuer's JWKS: signature, ``iss``, ``aud``, ``exp`` (RFC 9068 §4). The
  ``sub`` claim is a principal's through ``oidcSubjects`` of the recorded Principals document.

Who a principal is, and what role and scope it holds, always comes from the Principals document
*recorded in the history* (the version approvals are checked against), never from the file as
edited, nor from the token or the identity provider.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from govcloud.diagnostics import DiagnosticError
from govcloud.service import db
from govcloud.service.config import OidcSettings
from govcloud.service.errors import ServiceError, unauthenticated
from govcloud.app import onboarding
from govcloud.tenants.models import Principal
from govcloud.tenants.principals import Directory
from govcloud.workspace import Workspace

TOKEN_PREFIX = "gcp_"
MAX_TOKEN_DAYS = 366


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    principal: Principal
    authentication: str                 # token | oidc
    session: db.WebSession | None = None

    @property
    def id(self) -> str:
        return self.principal.id

    @property
    def role(self) -> str:
        return self.principal.role


# --- the recorded principals ---------------------------------------------------------------------------


class Directories:
    """The Principals document in force (the last ``principals.recorded`` entry), re-read when
    the history file changes (another process, or the CLI, may append)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._current: Directory | None = None

    def current(self) -> Directory | None:
        path = self.ws.history_file
        try:
            st = path.stat()
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            return None
        with self._lock:
            if key != self._key:
                try:
                    self._current = onboarding.current_principals(self.ws)
                except DiagnosticError:
                    raise ServiceError(503, "workspace_broken", "the workspace history does not verify; "
                                                                "run govcloud history verify") from None
                self._key = key
            return self._current

    def require(self) -> Directory:
        current = self.current()
        if current is None:
            raise ServiceError(503, "no_principals", "no Principals document is recorded in the history")
        return current

    def principal(self, pid: str) -> Principal | None:
        current = self.current()
        return current.by_id.get(pid) if current else None


# --- personal access tokens --------------------------------------------------------------------------------


def create_token(Session: sessionmaker, *, principal: str, name: str, created_by: str, days: int,
                 now: dt.datetime | None = None) -> tuple[str, db.ApiToken]:
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValueError(f"a token expires within 1 to {MAX_TOKEN_DAYS} days")
    secret = new_secret(TOKEN_PREFIX)
    now = now or db.utcnow()
    row = db.ApiToken(token_hash=digest(secret), hint=secret[:8], principal=principal, name=name,
                      created_by=created_by, created_at=now, expires_at=now + dt.timedelta(days=days))
    with Session.begin() as s:
        s.add(row)
    return secret, row


def list_tokens(Session: sessionmaker) -> list[db.ApiToken]:
    with Session() as s:
        return list(s.scalars(select(db.ApiToken).order_by(db.ApiToken.id)))


def revoke_token(Session: sessionmaker, token_id: int) -> db.ApiToken | None:
    """Revoke a token and every portal session opened with it."""
    with Session.begin() as s:
        row = s.get(db.ApiToken, token_id)
        if row is not None and row.revoked_at is None:
            now = db.utcnow()
            row.revoked_at = now
            for session in s.scalars(select(db.WebSession).where(db.WebSession.token_id == token_id,
                                                                 db.WebSession.revoked_at.is_(None))):
                session.revoked_at = now
        return row


@dataclass(frozen=True)
class ValidToken:
    id: int
    principal: str
    expires_at: dt.datetime


def valid_token(Session: sessionmaker, secret: str) -> ValidToken | None:
    """A known, unexpired, unrevoked token, or None. Looked up by hash: the secret itself is
    never compared or stored."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    now = db.utcnow()
    with Session.begin() as s:
        row = s.scalar(select(db.ApiToken).where(db.ApiToken.token_hash == digest(secret)))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            row.last_used_at = now   # coarse, so that reads do not all write
        return ValidToken(row.id, row.principal, row.expires_at)


def token_principal(Session: sessionmaker, secret: str) -> str | None:
    """The principal id of a valid token, or None."""
    token = valid_token(Session, secret)
    return token.principal if token else None


# --- sessions ----------------------------------------------------------------------------------------------


def open_session(Session: sessionmaker, principal: str, authentication: str, hours: float,
                 token: ValidToken | None = None) -> tuple[str, db.WebSession]:
    """A portal session; opened with an access token, it ends no later than the token and is
    revoked with it."""
    secret = new_secret()
    now = db.utcnow()
    expires = now + dt.timedelta(hours=hours)
    if token is not None:
        expires = min(expires, token.expires_at)
    row = db.WebSession(session_hash=digest(secret), principal=principal, authentication=authentication,
                        csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=expires,
                        token_id=token.id if token else None)
    with Session.begin() as s:
        # Expired sessions are kept a day (an audit trail of who was signed in), then dropped.
        s.execute(delete(db.WebSession).where(db.WebSession.expires_at < now - dt.timedelta(days=1)))
        s.add(row)
    return secret, row


def session_for(Session: sessionmaker, secret: str | None) -> db.WebSession | None:
    if not secret or len(secret) > 100:
        return None
    now = db.utcnow()
    with Session() as s:
        row = s.scalar(select(db.WebSession).where(db.WebSession.session_hash == digest(secret)))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.token_id is not None:
            # Belt and braces beside revoke_token: the token itself must still be valid.
            token = s.get(db.ApiToken, row.token_id)
            if token is None or token.revoked_at is not None or token.expires_at <= now:
                return None
    return row


def close_session(Session: sessionmaker, secret: str | None) -> None:
    if not secret:
        return
    with Session.begin() as s:
        row = s.scalar(select(db.WebSession).where(db.WebSession.session_hash == digest(secret)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = db.utcnow()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


# --- OIDC --------------------------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 §4.1-4.2: a high-entropy verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


class OidcClient:
    """The relying party: discovery, JWKS, the code flow and JWT verification."""

    ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
    LOGIN_TTL = dt.timedelta(minutes=10)

    def __init__(self, settings: OidcSettings, Session: sessionmaker):
        import httpx

        self.settings = settings
        self.Session = Session
        self.http = httpx.Client(timeout=10.0, follow_redirects=False)
        self._discovery: dict | None = None
        self._jwks = None
        self._jwks_fetched = 0.0
        self._lock = threading.Lock()

    def discovery(self) -> dict:
        if self._discovery is None:
            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                doc = self.http.get(url).raise_for_status().json()
            except Exception as exc:  # noqa: BLE001 - any failure: the provider is unavailable
                raise ServiceError(502, "oidc_unavailable", f"the OIDC provider did not answer ({type(exc).__name__})") from None
            if doc.get("issuer") != self.settings.issuer:
                # OpenID Connect Discovery 1.0 §4.3: the issuer must be exactly the configured one.
                raise ServiceError(502, "oidc_misconfigured", "the provider's discovery document names another issuer")
            self._discovery = doc
        return self._discovery

    def _keyset(self, refresh: bool = False):
        from joserfc.jwk import KeySet

        with self._lock:
            # Refetch on an unknown key id (rotation), but at most every 30 s, so a flood of tokens
            # with made-up key ids cannot make us hammer the provider.
            if self._jwks is None or (refresh and time.monotonic() - self._jwks_fetched > 30):
                try:
                    data = self.http.get(self.discovery()["jwks_uri"]).raise_for_status().json()
                    self._jwks = KeySet.import_key_set(data)
                except ServiceError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise ServiceError(502, "oidc_unavailable", f"cannot read the provider's keys ({type(exc).__name__})") from None
                self._jwks_fetched = time.monotonic()
            return self._jwks

    def verify(self, token: str, *, audience: str, nonce: str | None = None) -> dict:
        """The claims of a JWT signed by a key of the issuer's JWKS, for this audience, unexpired;
        a 401 otherwise (without saying which check failed beyond a word: no oracle)."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        if len(token) > 16 * 1024:
            raise unauthenticated("token too large")
        for attempt in (False, True):
            try:
                decoded = jwt.decode(token, self._keyset(refresh=attempt), algorithms=self.ALGORITHMS)
                break
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                if attempt or "key" not in str(exc).lower():
                    raise unauthenticated("the bearer token does not verify") from None
        if nonce is None:                           # an API access token, not an ID token
            typ = str(decoded.header.get("typ", "")).lower()
            if typ not in {t.lower() for t in self.settings.access_token_types}:
                raise unauthenticated("the bearer token is not an access token (typ)")
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(leeway=self.settings.leeway, iss={"essential": True, "value": self.settings.issuer},
                                         aud={"essential": True, "value": audience},
                                         exp={"essential": True}, sub={"essential": True})
        try:
            registry.validate(claims)
        except (JoseError, ValueError, TypeError):
            raise unauthenticated("the bearer token is expired or not for this service") from None
        if nonce is not None:                       # an ID token (OpenID Connect Core §3.1.3.7)
            if not same(claims.get("nonce"), nonce):
                raise unauthenticated("the ID token's nonce does not match this sign-in")
            aud = claims.get("aud")
            if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.settings.client_id:
                raise unauthenticated("the ID token was issued to another party (azp)")
        return claims

    def start(self, redirect_uri: str) -> tuple[str, str]:
        """(the authorization request URL, its state). State, nonce and PKCE verifier are kept
        server-side (state hashed), so any process of the service can finish the sign-in, once;
        the caller also binds the state to the browser in a cookie (RFC 6749 §10.12)."""
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        with self.Session.begin() as s:
            s.execute(delete(db.OidcLogin).where(db.OidcLogin.created_at < db.utcnow() - self.LOGIN_TTL))
            s.add(db.OidcLogin(state_hash=digest(state), nonce=nonce, code_verifier=verifier))
        query = urlencode({"response_type": "code", "client_id": self.settings.client_id,
                           "redirect_uri": redirect_uri, "scope": self.settings.scope, "state": state,
                           "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"})
        return f"{self.discovery()['authorization_endpoint']}?{query}", state

    def finish(self, *, code: str, state: str, redirect_uri: str, iss: str | None = None) -> dict:
        """Exchange the code (RFC 6749 §4.1.3, with the PKCE verifier, client authenticated by
        HTTP Basic, §2.3.1) and verify the ID token; returns its claims."""
        if iss is not None and iss != self.settings.issuer:
            raise unauthenticated("the authorization response comes from another issuer (RFC 9207)")
        with self.Session.begin() as s:
            row = s.scalar(select(db.OidcLogin).where(db.OidcLogin.state_hash == digest(state)))
            if row is None or row.created_at + self.LOGIN_TTL < db.utcnow():
                raise unauthenticated("this sign-in expired or was already used; start again")
            nonce, verifier = row.nonce, row.code_verifier
            s.delete(row)                       # one use (RFC 6749 §10.12: state binds the response)
        try:
            resp = self.http.post(self.discovery()["token_endpoint"],
                                  data={"grant_type": "authorization_code", "code": code,
                                        "redirect_uri": redirect_uri, "code_verifier": verifier},
                                  auth=(self.settings.client_id, self.settings.client_secret))
        except Exception as exc:  # noqa: BLE001
            raise ServiceError(502, "oidc_unavailable", f"the token endpoint did not answer ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise unauthenticated("the provider refused the authorization code")
        id_token = resp.json().get("id_token")
        if not isinstance(id_token, str):
            raise unauthenticated("the provider returned no ID token")
        return self.verify(id_token, audience=self.settings.client_id, nonce=nonce)

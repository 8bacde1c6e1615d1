"""The service's settings: one frozen object built by ``govcloud serve`` (options and environment)
or by tests, never read from globals afterwards."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.workspace import Workspace

DEFAULT_BODY_LIMIT = 256 * 1024


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``burst`` requests at once, refilled at ``per_second``."""

    burst: float
    per_second: float


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    audience: str | None = None          # the API's `aud`; None: bearer JWTs are refused
    scope: str = "openid email profile"
    leeway: int = 30                     # seconds of clock skew tolerated on exp/iat/nbf
    # RFC 9068 §4: a resource server "MUST verify that the typ header value is at+jwt or
    # application/at+jwt and reject tokens carrying any other type value". Some providers issue
    # access tokens typed JWT; they can be allowed explicitly (--oidc-access-token-type JWT).
    access_token_types: tuple[str, ...] = ("at+jwt", "application/at+jwt")

    def __post_init__(self) -> None:
        if self.audience is not None and self.audience == self.client_id:
            # The portal's ID tokens carry aud = client id: an API audience equal to it would let an
            # ID token pass as an API access token.
            raise ValueError("the API audience (--oidc-audience) must differ from the portal's client id")
        if not self.issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            # OpenID Connect Discovery 1.0 §3 and RFC 6749 §3.1: the issuer is an https URL;
            # plain http only for a provider on this machine (development and tests).
            raise ValueError(f"the OIDC issuer must be an https:// URL (got {self.issuer})")


@dataclass(frozen=True)
class ServiceConfig:
    workspace: Workspace
    database_url: str
    service_key: Path
    service_key_id: str | None = None   # None: the id under which the key is declared
    oidc: OidcSettings | None = None
    public_url: str | None = None       # e.g. https://onboarding.example.jp (behind a proxy)
    secure_cookies: bool = True
    session_hours: float = 8.0
    body_limit: int = DEFAULT_BODY_LIMIT
    signin_rate: RateLimit = RateLimit(burst=10, per_second=0.2)
    api_rate: RateLimit = RateLimit(burst=120, per_second=20)
    trust_proxy_headers: bool = False   # X-Forwarded-For from a reverse proxy we run behind
    # How long a transition's claim on a submission (approve, reject, apply) may be held before
    # another process may settle it (docs/service-approvals.md): far longer than a write takes
    # (the workspace lock alone waits up to 60 s), so only a claim whose process died is settled.
    claim_lease_seconds: float = 600.0

    @staticmethod
    def default_database_url(ws: Workspace) -> str:
        return os.environ.get("GOVCLOUD_DATABASE_URL") or f"sqlite:///{ws.state_dir / 'service.db'}"

    @staticmethod
    def default_service_key(ws: Workspace) -> Path:
        return ws.state_dir / "service_ed25519"


def redact_url(url: str) -> str:
    """A database URL fit for a log line or a message: the password replaced."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported by whoever uses it
        return "<database url>"

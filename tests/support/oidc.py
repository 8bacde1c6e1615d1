"""A real OpenID Provider for tests: the certified `oidc-provider` npm package (tests/oidc/provider.mjs)
run with the machine's `node`, on a free port on 127.0.0.1. Nothing is mocked and no token is made by
hand: every token comes from the provider's own endpoints after its own login and consent pages.

Contract (pytest plugin, registered in tests/conftest.py):

``oidc_provider`` (function scope) and ``oidc_provider_shared`` (session scope; one per xdist
worker) are factories with the same signature::

    provider = oidc_provider(redirect_uris=["http://127.0.0.1:8123/auth/callback"],
                             audience="govcloud-api")

Each call starts one provider process (0.9–1.4 s here) with one confidential client, waits until its
discovery document answers, and returns an :class:`OidcProvider`; all of them are stopped when the
fixture's scope ends. Keyword arguments, all optional:

- ``redirect_uris``: the client's registered redirect URIs (default: one unused loopback URI);
  pick the service's port first with ``tests.support.net.free_port()`` to register its callback.
- ``audience``: the ``aud`` of access tokens (``govcloud-api``). Its RFC 8707 resource indicator,
  ``.resource``, is the audience itself when that is an absolute URI, else
  ``urn:govcloud:resource:<audience>``; a code flow without a ``resource`` parameter is bound to it.
- ``api_scopes``: scopes of that API (default ``("api",)``); a code flow that asks for none of them
  still yields a JWT access token for the audience, with an empty ``scope``.
- ``client_id`` / ``client_secret``: default random; ``token_endpoint_auth_method``:
  ``client_secret_basic`` (default) or ``client_secret_post``.
- ``post_logout_redirect_uris``: for RP-initiated logout (``discovery["end_session_endpoint"]``).
- ``accounts``: ``{sub: {"name": ..., "email": ...}}`` overrides; any other login name is an account
  whose ``sub`` is that name, ``email`` ``<sub>@example.test`` and ``name`` the name itself.
- ``access_token_ttl`` / ``id_token_ttl``: seconds (default 3600); 1 makes expired tokens quickly.

:class:`OidcProvider` gives ``issuer`` (``http://127.0.0.1:PORT``), ``client_id``,
``client_secret``, ``audience``, ``resource``, ``redirect_uris``, ``jwks_uri``, ``token_endpoint``,
``authorization_endpoint``, ``discovery`` (the parsed ``/.well-known/openid-configuration``),
``jwks()`` (the published key set), ``log()`` (the provider's output so far) and:

- ``login(subject, redirect_uri=None, scope="openid email profile")`` drives the whole
  authorization-code flow with PKCE (S256) over HTTP with httpx: authorization request, the dev
  login form (login = ``subject``), the consent form, the redirect to ``redirect_uri`` (not
  followed: nothing needs to listen there), the code exchange at the token endpoint with the
  client's secret. Returns the token response: ``id_token``, ``access_token`` (a JWT, ``aud`` =
  audience, ``sub``, ``email``, ``name``, ``client_id``; ``scope`` when API scopes were granted),
  ``expires_in``,
  ``token_type``, ``scope``.
- ``sign_in(authorization_url, subject)`` completes the provider's side of a flow that the
  service under test started (its own state, nonce and PKCE): give it the URL the service
  redirected to; it signs in, consents and returns the URL the provider redirects back to
  (``redirect_uri?code=...&state=...&iss=...``), which the test then requests from the service.
- ``authorize(...)`` and ``exchange_code(...)``: the two halves of ``login`` for tests that need the
  code itself (replay, wrong verifier, ...).

The access token is for the API (its ``aud``), not for the provider's userinfo endpoint: the ID
token carries ``sub``, ``email`` and ``name``. The sign-in pages are oidc-provider's development
interactions: a browser fills ``input[name=login]`` (any name: it becomes the ``sub``) and
``input[name=password]`` (anything) and clicks ``button[type=submit]``, then clicks the consent
page's ``button[type=submit]``; they load nothing from outside the machine (provider.mjs drops
their web-font import), so a browser test can insist on no console errors. Each provider is
stopped at teardown, and also exits by itself if the test process dies (its stdin closes).

If Node.js or tests/oidc/node_modules is missing the fixture fails, saying that ``make test``
installs them (npm ci in tests/oidc).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest

try:  # the `test` extra installs it; without it only the tests that ask for a provider fail
    import httpx
except ImportError:  # pragma: no cover
    httpx = None

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
PROGRAM = OIDC_DIR / "provider.mjs"
START_TIMEOUT = 20.0
DEFAULT_SCOPE = "openid email profile"


class OidcProviderError(RuntimeError):
    """The provider did not start, or a flow did not go as the provider's pages should make it go."""


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


class _FormParser(HTMLParser):
    """Collects the POST forms of a page: action and the initial values of their named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._current = {"action": a.get("action") or "", "fields": {}}
            self.forms.append(self._current)
        elif tag in ("input", "button") and self._current is not None and a.get("name"):
            self._current["fields"].setdefault(a["name"], a.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


@dataclass
class Authorization:
    """What the provider sent back to the redirect URI, and the PKCE verifier that goes with it."""

    redirect_url: str
    code: str
    state: str
    code_verifier: str
    redirect_uri: str


@dataclass
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str
    audience: str
    resource: str
    redirect_uris: list[str]
    discovery: dict
    token_endpoint_auth_method: str
    process: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False)

    @property
    def jwks_uri(self) -> str:
        return self.discovery["jwks_uri"]

    @property
    def token_endpoint(self) -> str:
        return self.discovery["token_endpoint"]

    @property
    def authorization_endpoint(self) -> str:
        return self.discovery["authorization_endpoint"]

    def jwks(self) -> dict:
        """The provider's published key set (JWKS document)."""
        return httpx.get(self.jwks_uri, timeout=10).raise_for_status().json()

    def log(self) -> str:
        """What the provider wrote to stdout and stderr so far (for assertion messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- flows ---------------------------------------------------------------------------------

    def sign_in(self, authorization_url: str, subject: str, *, client: httpx.Client | None = None) -> str:
        """Complete the provider's pages for an authorization request someone else built.

        Requests `authorization_url` at the provider, submits the dev login form as `subject` and the
        consent form, and returns the absolute URL the provider finally redirects to (one of the
        client's redirect URIs with `code`, `state`, `iss`; or `error`). That URL is not requested.
        """
        own = client is None
        http = client or httpx.Client(timeout=10)
        try:
            return self._drive(http, authorization_url, subject)
        finally:
            if own:
                http.close()

    def authorize(self, subject: str, *, redirect_uri: str | None = None, scope: str = DEFAULT_SCOPE,
                  extra: dict[str, str] | None = None) -> Authorization:
        """The front-channel half of `login`: an authorization code for `subject`, with its verifier."""
        redirect_uri = redirect_uri or self.redirect_uris[0]
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        params = {
            "client_id": self.client_id, "response_type": "code", "redirect_uri": redirect_uri,
            "scope": scope, "state": state, "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge, "code_challenge_method": "S256", **(extra or {}),
        }
        url = f"{self.authorization_endpoint}?{urlencode(params)}"
        final = self.sign_in(url, subject)
        query = parse_qs(urlsplit(final).query)
        if "code" not in query:
            raise OidcProviderError(f"no authorization code in {final}\n{self.log()}")
        if query.get("state") != [state]:
            raise OidcProviderError(f"state not returned unchanged in {final}")
        return Authorization(redirect_url=final, code=query["code"][0], state=state,
                             code_verifier=verifier, redirect_uri=redirect_uri)

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str | None = None) -> httpx.Response:
        """The back-channel half: the token endpoint's raw response for a code (not checked)."""
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": code_verifier,
                "redirect_uri": redirect_uri or self.redirect_uris[0]}
        if self.token_endpoint_auth_method == "client_secret_post":
            data |= {"client_id": self.client_id, "client_secret": self.client_secret}
            return httpx.post(self.token_endpoint, data=data, timeout=10)
        return httpx.post(self.token_endpoint, data=data, auth=(self.client_id, self.client_secret), timeout=10)

    def login(self, subject: str, *, redirect_uri: str | None = None, scope: str = DEFAULT_SCOPE) -> dict:
        """Sign `subject` in through the real authorization-code flow with PKCE; the token response."""
        auth = self.authorize(subject, redirect_uri=redirect_uri, scope=scope)
        response = self.exchange_code(auth.code, auth.code_verifier, auth.redirect_uri)
        if response.status_code != 200:
            raise OidcProviderError(f"token endpoint answered {response.status_code}: {response.text}\n{self.log()}")
        return response.json()

    def _drive(self, http: httpx.Client, url: str, subject: str) -> str:
        submitted: set[str] = set()
        response = http.get(url)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(self.issuer + "/"):
                    return location  # back to the client: stop here
                response = http.get(location)
                continue
            if response.status_code != 200:
                raise OidcProviderError(f"provider answered {response.status_code} at {response.url}:\n"
                                        f"{response.text[:2000]}\n{self.log()}")
            parser = _FormParser()
            parser.feed(response.text)
            if not parser.forms:
                raise OidcProviderError(f"no form at {response.url}:\n{response.text[:2000]}")
            form = parser.forms[0]
            fields = dict(form["fields"])
            prompt = fields.get("prompt", "")
            if "login" in fields:
                fields["login"] = subject
                fields["password"] = "any password: the development login accepts every one"
            if prompt in submitted:
                raise OidcProviderError(f"the provider asked for {prompt!r} twice:\n{self.log()}")
            submitted.add(prompt)
            response = http.post(urljoin(str(response.url), form["action"]), data=fields)
        raise OidcProviderError(f"authorization did not come back to the client after 20 steps:\n{self.log()}")

    # -- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _missing_message() -> str | None:
    if httpx is None:
        return "httpx is not installed: `make test` installs the test extra (pip install -e '.[test]')."
    if shutil.which("node") is None:
        return "Node.js is not installed: `make test` installs it (nodejs, npm) and tests/oidc's packages."
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return ("tests/oidc/node_modules is missing: `make test` installs it "
                "(npm ci in tests/oidc, the certified oidc-provider package).")
    return None


def start_oidc_provider(log_dir: Path, *, redirect_uris: list[str] | tuple[str, ...] | None = None,
                        audience: str = "govcloud-api", api_scopes: tuple[str, ...] | list[str] = ("api",),
                        client_id: str | None = None, client_secret: str | None = None,
                        token_endpoint_auth_method: str = "client_secret_basic",
                        post_logout_redirect_uris: list[str] | tuple[str, ...] = (),
                        accounts: dict[str, dict[str, str]] | None = None,
                        access_token_ttl: int = 3600, id_token_ttl: int = 3600) -> OidcProvider:
    """Start one provider process and wait for its discovery document. See the module docstring."""
    missing = _missing_message()
    if missing:
        pytest.fail(missing, pytrace=False)
    client_id = client_id or f"govcloud-test-{secrets.token_hex(4)}"
    client_secret = client_secret or secrets.token_urlsafe(32)
    redirect_uris = list(redirect_uris or ["http://127.0.0.1:9/unused-callback"])
    config = {
        "port": 0, "exit_with_stdin": True, "audience": audience, "api_scopes": list(api_scopes),
        "access_token_ttl": access_token_ttl, "id_token_ttl": id_token_ttl, "accounts": accounts or {},
        "clients": [{"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris,
                     "post_logout_redirect_uris": list(post_logout_redirect_uris),
                     "token_endpoint_auth_method": token_endpoint_auth_method}],
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"oidc-provider-{client_id}.log"
    log = log_path.open("w")
    # The config goes through the environment: the client secret stays out of `ps` output.
    # Its stdin is a pipe only we hold: if this test process dies, the provider sees EOF and exits.
    process = subprocess.Popen(["node", str(PROGRAM)], cwd=OIDC_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=log,
                               env={**os.environ, "OIDC_PROVIDER_CONFIG": json.dumps(config)}, text=True)
    log.close()
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)

    def fail(why: str) -> None:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise OidcProviderError(f"oidc-provider did not start: {why}\n{log_path.read_text(errors='replace')}")

    if not first_line or not first_line[0].strip():
        fail(f"no address announced within {START_TIMEOUT:.0f} s (exit code {process.poll()})")
    announced = json.loads(first_line[0])
    issuer = announced["issuer"]
    # stdout is not read any more; the program writes nothing else there.
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).raise_for_status().json()
            break
        except httpx.HTTPError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                fail(f"discovery did not answer: {exc}")
            time.sleep(0.05)
    if discovery.get("issuer") != issuer:
        fail(f"discovery names issuer {discovery.get('issuer')!r}, expected {issuer!r}")
    return OidcProvider(issuer=issuer, client_id=client_id, client_secret=client_secret, audience=audience,
                        resource=announced["resource"], token_endpoint_auth_method=token_endpoint_auth_method,
                        redirect_uris=redirect_uris, discovery=discovery, process=process, log_path=log_path)


def _factory(log_dir: Path) -> Iterator[Callable[..., OidcProvider]]:
    started: list[OidcProvider] = []

    def make(**kwargs: Any) -> OidcProvider:
        provider = start_oidc_provider(log_dir, **kwargs)
        started.append(provider)
        return provider

    try:
        yield make
    finally:
        for provider in started:
            provider.stop()


@pytest.fixture
def oidc_provider(tmp_path: Path) -> Iterator[Callable[..., OidcProvider]]:
    """Factory: `oidc_provider(redirect_uris=[...], audience="govcloud-api")` starts a real provider
    for this test; stopped at the test's end. Its log is in the test's tmp_path."""
    yield from _factory(tmp_path / "oidc")


@pytest.fixture(scope="session")
def oidc_provider_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., OidcProvider]]:
    """The same factory for providers that live for the whole session (per xdist worker), for
    services started once per module or session. Keep the returned object in a fixture of that scope."""
    yield from _factory(tmp_path_factory.mktemp("oidc"))

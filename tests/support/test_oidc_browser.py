"""A real browser signs in at the real provider: headless Chromium (Debian's package, Playwright)
goes through oidc-provider's login and consent pages and lands on the client's redirect URI with a
code that the token endpoint exchanges. This is what issue 13's browser story relies on."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support.browser import ARGS, CHROMIUM
from tests.conftest import REPO
from tests.support.net import free_port
from tests.support.oidc import pkce_pair

ARTIFACTS = REPO / "build" / "test-artifacts" / "oidc"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make test` installs "
                                                                "Debian's chromium package (apt-get install chromium)")


class Callback(BaseHTTPRequestHandler):
    """The client's redirect URI: records what arrives and says so."""
    received: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).received.append(self.path)
        body = b"<!doctype html><title>signed in</title><p>signed in</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_chromium_signs_in_through_the_providers_pages(oidc_provider):
    port = free_port()
    client_app = ThreadingHTTPServer(("127.0.0.1", port), type("Handler", (Callback,), {"received": []}))
    threading.Thread(target=client_app.serve_forever, daemon=True).start()
    redirect_uri = f"http://127.0.0.1:{port}/auth/callback"
    provider = oidc_provider(redirect_uris=[redirect_uri])
    verifier, challenge = pkce_pair()
    url = provider.authorization_endpoint + "?" + urlencode({
        "client_id": provider.client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "openid email profile", "state": "browser-state", "nonce": "browser-nonce",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    problems: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page()
                page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

                def only_loopback(route):  # the provider and the client, nothing else
                    if route.request.url.startswith((provider.issuer + "/", f"http://127.0.0.1:{port}/")):
                        route.continue_()
                    else:
                        problems.append(f"request left the machine: {route.request.url}")
                        route.abort()

                page.route("**/*", only_loopback)
                page.goto(url)
                page.fill("input[name=login]", "muni-approver")
                page.fill("input[name=password]", "anything")
                page.screenshot(path=str(ARTIFACTS / "login.png"))
                page.click("button[type=submit]")
                page.wait_for_selector("input[name=prompt][value=consent]", state="attached")
                page.screenshot(path=str(ARTIFACTS / "consent.png"))
                page.click("button[type=submit]")
                page.wait_for_url(redirect_uri + "?*")
                landed = page.url
            finally:
                browser.close()
    finally:
        client_app.shutdown()
        client_app.server_close()
    assert problems == [], problems
    query = parse_qs(urlsplit(landed).query)
    assert query["state"] == ["browser-state"] and query["iss"] == [provider.issuer]
    tokens = provider.exchange_code(query["code"][0], verifier, redirect_uri).raise_for_status().json()
    assert {"id_token", "access_token"} <= tokens.keys()

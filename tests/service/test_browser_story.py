"""The onboarding story in a real browser (issue 13): headless Chromium from Debian's package,
driven by Playwright, against a real `govcloud serve` process and a real OpenID provider
(npm oidc-provider), every request on 127.0.0.1.

A vendor signs in through single sign-on, submits a request with an error, sees it at its line
and field, fixes it; the municipality's approver and the platform approve; the platform runs the
preflight and applies; the tenants appear; the security team reads a history that proves who
approved. Screenshots of every step are kept in build/test-artifacts/browser-story/; the test
fails on any console error, page error, or request that leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.browser import ARGS, CHROMIUM
from tests.conftest import REPO, SAMPLE_KEYS, govcloud_bin
from tests.support.net import free_port

ARTIFACTS = REPO / "build" / "test-artifacts" / "browser-story"
REQUEST = "tenants/requests/examples/hachioji-juki.yaml"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make test` installs "
                                                                "Debian's chromium package")


@pytest.fixture
def service(ws: Path, oidc_provider):
    """`govcloud serve` on a free port of 127.0.0.1 with single sign-on at the test provider."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = oidc_provider(redirect_uris=[f"{base}/auth/oidc/callback"], audience="govcloud-api")
    (ws / ".govcloud").mkdir(exist_ok=True)
    key = ws / ".govcloud" / "service_ed25519"
    shutil.copy(SAMPLE_KEYS / "onboarding-service", key)
    key.chmod(0o600)
    env = {**os.environ, "GOVCLOUD_ROOT": str(ws), "GOVCLOUD_OIDC_CLIENT_SECRET": provider.client_secret,
           "GOVCLOUD_LANG": "ja"}
    log = open(ws / "serve.log", "w")
    proc = subprocess.Popen([govcloud_bin(), "serve", "--port", str(port), "--oidc-issuer", provider.issuer,
                             "--oidc-client-id", provider.client_id, "--oidc-audience", provider.audience],
                            cwd=ws, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/signin", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("govcloud serve did not start:\n" + (ws / "serve.log").read_text())
            time.sleep(0.2)
        yield base, provider, ws
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Story:
    """One browser; each person gets their own context (own cookies), as on their own machine."""

    def __init__(self, browser, base: str, provider):
        self.browser, self.base, self.provider = browser, base, provider
        self.problems: list[str] = []
        self.shots = 0

    def person(self, subject: str):
        context = self.browser.new_context(locale="ja-JP")
        page = context.new_page()
        page.on("console", lambda m: self.problems.append(f"{subject}: console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"{subject}: page error: {e}"))

        def only_loopback(route):
            if route.request.url.startswith((self.base + "/", self.provider.issuer + "/")):
                route.continue_()
            else:
                self.problems.append(f"{subject}: request left the machine: {route.request.url}")
                route.abort()

        page.route("**/*", only_loopback)
        page.goto(f"{self.base}/signin")
        page.click("#oidc-signin")
        page.fill("input[name=login]", subject)                 # the provider's own login page
        page.fill("input[name=password]", "any")
        page.click("button[type=submit]")
        consent = page.locator("input[name=prompt][value=consent]")
        if consent.count():
            page.click("button[type=submit]")
        page.wait_for_selector("#who")
        assert page.get_attribute("#who", "data-principal") == subject, page.content()
        return page

    def shot(self, page, name: str) -> None:
        self.shots += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.shots:02d}-{name}.png"), full_page=True)


def test_the_onboarding_story_in_chromium(service):
    base, provider, ws = service
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    good = (REPO / REQUEST).read_text(encoding="utf-8")
    bad = good.replace("region: ap-northeast-1", "region: us-east-1")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            story = Story(browser, base, provider)

            # The vendor submits with an error and sees it at its line and field.
            vendor = story.person("asuka-sato")
            story.shot(vendor, "vendor-signed-in")
            vendor.click("#nav-new")
            vendor.fill("#yaml", bad)
            story.shot(vendor, "vendor-writes-request")
            vendor.click("#submit")
            diagnostic = vendor.locator("[data-testid=diagnostic][data-code=GC206]")
            diagnostic.wait_for()
            assert diagnostic.get_attribute("data-field") == "spec.region"
            line = int(diagnostic.get_attribute("data-line"))
            assert "region: us-east-1" in vendor.inner_text(f"#line-{line}")
            assert "日本国外" in diagnostic.inner_text()      # the Japanese page speaks Japanese (govcloud/messages)
            assert vendor.get_attribute("#status", "data-status") == "draft"
            story.shot(vendor, "vendor-sees-error-at-field")
            submission = vendor.url

            # ... fixes it and resubmits.
            vendor.fill("#yaml", good)
            vendor.click("#resubmit")
            vendor.wait_for_selector("#valid")
            assert vendor.get_attribute("#status", "data-status") == "submitted"
            story.shot(vendor, "vendor-fixed")

            # The municipality's approver sees the plain summary and approves.
            muni = story.person("hachioji-takahashi")
            muni.goto(submission)
            for shown in ("132012-juki-prod", "aws / ap-northeast-1", "mynumber", "132012 八王子市"):
                assert shown in muni.inner_text("#summary") + muni.inner_text("#planned-tenants"), shown
            story.shot(muni, "municipality-reviews")
            muni.fill("#approve-comment", "八王子市として承認します")
            muni.click("#approve")
            muni.wait_for_selector("[data-testid=approval-counted][data-slot='municipality 132012']")
            story.shot(muni, "municipality-approved")

            # The platform runs the preflight, approves and applies.
            platform = story.person("yamada-taro")
            platform.goto(submission)
            assert platform.is_disabled("#apply")
            platform.click("#preflight")
            platform.wait_for_selector("[data-testid=preflight-pass]", timeout=120_000)
            story.shot(platform, "platform-preflight")
            platform.goto(submission)
            platform.click("#approve")
            platform.wait_for_selector("#approvals-complete")
            story.shot(platform, "platform-approved")
            platform.click("#apply")
            platform.wait_for_selector("#status[data-status=applied]")
            story.shot(platform, "platform-applied")
            platform.click("#nav-tenants")
            platform.wait_for_selector("[data-tenant='132012-juki-prod']")
            story.shot(platform, "tenant-appears")

            # The security team reads who approved what.
            security = story.person("security-mori")
            security.click("#nav-history")
            security.wait_for_selector("#history")
            history = security.inner_text("#history")
            assert "hachioji-takahashi" in history and "yamada-taro" in history
            story.shot(security, "security-history")

            # English on request, remembered.
            security.click("#lang-switch")
            security.wait_for_load_state()
            story.shot(security, "security-history-en")
        finally:
            browser.close()
    assert not story.problems, "\n".join(story.problems)
    assert story.shots >= 10
    # The workspace holds the tenants, and its history proves the signed approvals.
    assert (ws / "tenants/active/132012-juki-prod.yaml").exists()
    proof = subprocess.run([govcloud_bin(), "history", "verify", "--format", "json"], capture_output=True, text=True,
                           env={**os.environ, "GOVCLOUD_ROOT": str(ws)})
    assert proof.returncode == 0, proof.stderr
    signed = {(a["principal"], a["signer"].split()[0]) for a in json.loads(proof.stdout)["approvals"]
              if a["request"] == "hachioji-juki" and a["status"] == "verified"}
    assert signed == {("hachioji-takahashi", "service"), ("yamada-taro", "service")}

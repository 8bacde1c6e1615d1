"""The portal: sign-in (token → session cookie), CSRF on every form, diagnostics at their lines
and fields, the language switch, and the whole story through forms."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import sample_request


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def decided(html: str) -> dict:
    """A decision form's hidden fields as the page rendered them: the CSRF token and the
    revision and digest the decider saw (the approve form's, which every decision form shares)."""
    form = re.search(r'<form [^>]*id="approve-form".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert {"csrf_token", "revision", "digest"} <= set(fields), fields
    return fields


def sign_in(client, token: str) -> None:
    page = client.get("/signin")
    r = client.post("/signin", data={"token": token, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal", r.text


def test_sign_in_sets_a_hardened_session_cookie(make_client, tokens) -> None:
    client = make_client(secure_cookies=True)
    client.base_url = "https://127.0.0.1:8443"
    page = client.get("/signin")
    assert page.status_code == 200 and 'id="signin-form"' in page.text and "サインイン" in page.text
    r = client.post("/signin", data={"token": tokens["asuka-sato"], "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("__Host-govcloud-session="))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path"} <= attrs and "samesite=lax" in cookie.lower()
    assert tokens["asuka-sato"] not in r.text and tokens["asuka-sato"] not in cookie
    assert client.get("/portal").status_code == 200


def test_sign_in_needs_the_csrf_cookie_and_a_valid_token(client, tokens) -> None:
    page = client.get("/signin")
    token = csrf_of(page.text)
    client.cookies.clear()        # login CSRF: a form posted from elsewhere has no cookie
    r = client.post("/signin", data={"token": tokens["asuka-sato"], "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
    page = client.get("/signin")
    r = client.post("/signin", data={"token": "gcp_wrong", "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?failed=1"
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"


def test_every_form_without_its_csrf_token_is_403(client, tokens) -> None:
    from tests.service.conftest import submit

    sid = submit(client, tokens["asuka-sato"])
    sign_in(client, tokens["yamada-taro"])
    for action in ("approve", "reject", "apply", "comment"):
        for data in ({"comment": "x"}, {"comment": "x", "csrf_token": "forged"}):
            r = client.post(f"/portal/submissions/{sid}/{action}", data=data, follow_redirects=False)
            assert r.status_code == 403, (action, r.text)
            assert "CSRF" in r.text
    assert client.post("/signout", data={}).status_code == 403
    sign_in(client, tokens["asuka-sato"])
    for action in ("revise", "withdraw"):
        assert client.post(f"/portal/submissions/{sid}/{action}", data={"yaml": "x"}).status_code == 403
    assert client.post("/portal/submissions", data={"yaml": sample_request()}).status_code == 403


def test_the_story_through_the_portal(make_client, tokens) -> None:
    vendor, muni, platform, security = (make_client() for _ in range(4))
    sign_in(vendor, tokens["asuka-sato"])
    new = vendor.get("/portal/submissions/new")
    bad = sample_request().replace("region: ap-northeast-1", "region: us-east-1")
    r = vendor.post("/portal/submissions", data={"yaml": bad.replace("\n", "\r\n"), "csrf_token": csrf_of(new.text)},
                    follow_redirects=True)
    assert r.status_code == 200 and 'data-status="draft"' in r.text
    # the diagnostic sits under line 13, at field spec.region, with the CLI's code
    line = re.search(r'<li id="line-13".*?</li>', r.text, re.S).group(0)
    assert 'data-code="GC206"' in line and 'data-field="spec.region"' in line and "日本国外" in line
    sid = int(re.search(r"/portal/submissions/(\d+)/revise", r.text).group(1))

    page = vendor.get(f"/portal/submissions/{sid}")
    r = vendor.post(f"/portal/submissions/{sid}/revise", files={"file": ("req.yaml", sample_request().encode(), "application/yaml")},
                    data={"yaml": "", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and 'data-status="submitted"' in r.text and 'data-testid="valid"' in r.text

    sign_in(muni, tokens["hachioji-takahashi"])
    listing = muni.get("/portal")
    assert f'data-id="{sid}"' in listing.text
    page = muni.get(f"/portal/submissions/{sid}")
    for shown in ("132012-juki-prod", "10.16.6.0/24", "aws / ap-northeast-1", "mynumber", "juki-api:443/https", "132012 八王子市"):
        assert shown in page.text
    r = muni.post(f"/portal/submissions/{sid}/approve", data={"comment": "了解", **decided(page.text)})
    assert r.status_code == 200 and 'data-slot="municipality 132012"' in r.text

    sign_in(platform, tokens["yamada-taro"])
    page = platform.get(f"/portal/submissions/{sid}")
    assert re.search(r'id="apply"[^>]*disabled', page.text)
    page = platform.post(f"/portal/submissions/{sid}/approve", data=decided(page.text))
    assert 'data-testid="approvals-complete"' in page.text and not re.search(r'id="apply"[^>]*disabled', page.text)
    r = platform.post(f"/portal/submissions/{sid}/apply", data=decided(page.text))
    assert r.status_code == 200 and 'data-status="applied"' in r.text
    assert 'data-tenant="132012-juki-prod"' in platform.get("/portal/tenants").text

    sign_in(security, tokens["security-mori"])
    history = security.get("/portal/history")
    assert history.status_code == 200 and 'data-status="verified"' in history.text
    page = security.get(f"/portal/submissions/{sid}")
    assert 'id="approve-form"' not in page.text and 'id="comment-form"' not in page.text
    assert vendor.get("/portal/history").status_code == 403


def test_japanese_by_default_english_by_switch(client, tokens) -> None:
    sign_in(client, tokens["asuka-sato"])
    assert "申請一覧" in client.get("/portal").text
    english = client.get("/portal?lang=en")
    assert "Requests" in english.text and "申請一覧" not in english.text and 'lang="en"' in english.text
    assert "Requests" in client.get("/portal").text          # remembered in a cookie
    assert "申請一覧" in client.get("/portal?lang=ja").text


def test_pages_carry_security_headers_and_no_external_assets(client) -> None:
    page = client.get("/signin")
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    assert client.get("/static/portal.css").status_code == 200


def test_an_oversize_form_is_413(client, tokens) -> None:
    sign_in(client, tokens["asuka-sato"])
    new = client.get("/portal/submissions/new")
    r = client.post("/portal/submissions", data={"yaml": "#" * (300 * 1024), "csrf_token": csrf_of(new.text)})
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/portal", "/portal/tenants", "/portal/submissions/1"])
def test_signed_out_pages_go_to_sign_in(client, path) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"


def test_no_secret_reaches_the_log(client, tokens, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    sign_in(client, tokens["yamada-taro"])
    session = client.cookies.get("govcloud-session")
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['asuka-sato']}"})
    client.get("/api/v1/me", headers={"Authorization": "Bearer gcp_guess"})
    client.get("/auth/oidc/callback?code=secret-code&state=secret-state")
    # the service's records (the test client's own httpx log lines name the URLs it requested)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "GET /api/v1/me 200" in text
    for secret in (tokens["yamada-taro"], tokens["asuka-sato"], session, "gcp_guess", "secret-code", "secret-state"):
        assert secret not in text


def test_an_expired_or_signed_out_session_signs_in_again(client, tokens) -> None:
    from sqlalchemy import update

    from govcloud.service import db

    sign_in(client, tokens["asuka-sato"])
    page = client.get("/portal")
    assert page.status_code == 200
    client.post("/signout", data={"csrf_token": csrf_of(page.text)})
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"
    sign_in(client, tokens["asuka-sato"])
    with client.app.state.service.Session.begin() as s:
        s.execute(update(db.WebSession).values(expires_at=db.utcnow()))
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"


def test_revoking_or_expiring_the_token_ends_its_sessions(client) -> None:
    """Found in review: a session opened with a token outlived the token's revocation."""
    from sqlalchemy import select, update

    from govcloud.service import auth, db

    Session = client.app.state.service.Session
    secret, row = auth.create_token(Session, principal="asuka-sato", name="t", created_by="yamada-taro", days=1)
    sign_in(client, secret)
    assert client.get("/portal").status_code == 200
    with Session() as s:
        session = s.scalar(select(db.WebSession).where(db.WebSession.token_id == row.id))
        assert session.expires_at <= row.expires_at          # never outlives its token
    auth.revoke_token(Session, row.id)
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"

    secret, row = auth.create_token(Session, principal="asuka-sato", name="t2", created_by="yamada-taro", days=1)
    sign_in(client, secret)
    assert client.get("/portal").status_code == 200
    with Session.begin() as s:         # the token expires; the session row alone would still be valid
        s.execute(update(db.ApiToken).where(db.ApiToken.id == row.id).values(expires_at=db.utcnow()))
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/signin"


def test_changes_are_announced_in_the_outbox(client, tokens) -> None:
    import json

    from sqlalchemy import select

    from govcloud.service import db
    from tests.service.conftest import bearer, submit

    sid = submit(client, tokens["asuka-sato"])
    client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": "no"}, headers=bearer(tokens["hachioji-takahashi"]))
    with client.app.state.service.Session() as s:
        rows = list(s.scalars(select(db.OutboxMessage).order_by(db.OutboxMessage.id)))
    assert [(r.event, json.loads(r.recipients)) for r in rows] == [
        ("submission.submitted", ["platform", "132012"]), ("submission.rejected", ["asuka-sato"])]
    assert all(r.delivered_at is None for r in rows)


def test_findings_are_for_platform_and_security(client, tokens, database_url) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("findings do not touch the database")
    from tests.service.conftest import bearer

    for who, status in [("asuka-sato", 403), ("hachioji-takahashi", 403), ("yamada-taro", 200), ("security-mori", 200)]:
        assert client.get("/api/v1/findings", headers=bearer(tokens[who])).status_code == status
    result = client.get("/api/v1/findings", headers=bearer(tokens["security-mori"])).json()
    assert result["proofHolds"] and result["failedMandatory"] == 0 and result["stacks"] == 10
    sign_in(client, tokens["security-mori"])
    page = client.get("/portal/findings")
    assert page.status_code == 200 and 'data-proof="true"' in page.text


def test_an_approver_can_sign_the_statement_themselves_in_the_portal(client, tokens) -> None:
    from tests.service.conftest import sign_statement, submit

    sid = submit(client, tokens["asuka-sato"])
    sign_in(client, tokens["hachioji-takahashi"])
    page = client.get(f"/portal/submissions/{sid}")
    statement = client.get(re.search(r'href="(/portal/submissions/\d+/statement[^"]*)"', page.text).group(1)).content
    r = client.post(f"/portal/submissions/{sid}/approve",
                    data={"signature": sign_statement(statement, "hachioji-takahashi"), **decided(page.text)})
    assert r.status_code == 200 and 'data-slot="municipality 132012"' in r.text
    assert "key SHA256:" in r.text          # signed with the approver's own key, not the service's

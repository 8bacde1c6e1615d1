"""The authorization matrix: every endpoint × every role and scope, and every way a credential
can be wrong. The submission is asuka-systems' request for Hachioji (132012); each case runs on a
fresh workspace and database (approvals change the workspace).

Who is who (tenants/principals.yaml): asuka-sato (vendor, owner), hikari-suzuki (another vendor),
hachioji-takahashi (municipality 132012, in scope), chiyoda-suzuki (municipality 131016, out of
scope), yamada-taro (platform), security-mori (security, read-only).

A submission someone may not see answers 404 (its existence is not disclosed); one they may see
but not act on answers 403."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.service.conftest import bearer, sample_request, seen, sign_statement, submit

WHO = ["asuka-sato", "hikari-suzuki", "hachioji-takahashi", "chiyoda-suzuki", "yamada-taro", "security-mori"]


def row(**expected: int) -> list:
    assert set(expected) == set(w.replace("-", "_") for w in WHO), expected
    return [(w, expected[w.replace("-", "_")]) for w in WHO]


def call(client, method: str, path: str, token: str | None, body=None):
    headers = bearer(token) if token else {}
    if isinstance(body, str):
        return client.request(method, path, content=body, headers={**headers, "Content-Type": "application/yaml"})
    return client.request(method, path, json=body, headers=headers)


@pytest.fixture
def sid(client, tokens) -> int:
    return submit(client, tokens["asuka-sato"])


READS = [
    ("GET", "/api/v1/submissions/{sid}", row(asuka_sato=200, hikari_suzuki=404, hachioji_takahashi=200,
                                             chiyoda_suzuki=404, yamada_taro=200, security_mori=200)),
    ("GET", "/api/v1/submissions/{sid}/summary", row(asuka_sato=200, hikari_suzuki=404, hachioji_takahashi=200,
                                                     chiyoda_suzuki=404, yamada_taro=200, security_mori=200)),
    ("GET", "/api/v1/submissions/{sid}/statement", row(asuka_sato=403, hikari_suzuki=404, hachioji_takahashi=200,
                                                       chiyoda_suzuki=404, yamada_taro=200, security_mori=403)),
    ("GET", "/api/v1/history", row(asuka_sato=403, hikari_suzuki=403, hachioji_takahashi=403,
                                   chiyoda_suzuki=403, yamada_taro=200, security_mori=200)),
    ("GET", "/api/v1/me", row(asuka_sato=200, hikari_suzuki=200, hachioji_takahashi=200,
                              chiyoda_suzuki=200, yamada_taro=200, security_mori=200)),
    ("GET", "/api/v1/tenants", row(asuka_sato=200, hikari_suzuki=200, hachioji_takahashi=200,
                                   chiyoda_suzuki=200, yamada_taro=200, security_mori=200)),
]


@pytest.mark.parametrize("method, path, expected", READS, ids=[f"{m} {p}" for m, p, _ in READS])
def test_reads(client, tokens, sid, method, path, expected) -> None:
    for who, status in expected:
        r = call(client, method, path.format(sid=sid), tokens[who])
        assert r.status_code == status, (who, r.status_code, r.text)
        assert "Traceback" not in r.text
    assert call(client, method, path.format(sid=sid), None).status_code == 401


def test_listing_is_scoped(client, tokens, sid) -> None:
    seen = {who: [s["id"] for s in call(client, "GET", "/api/v1/submissions", tokens[who]).json()] for who in WHO}
    assert seen == {"asuka-sato": [sid], "hikari-suzuki": [], "hachioji-takahashi": [sid], "chiyoda-suzuki": [],
                    "yamada-taro": [sid], "security-mori": [sid]}


def test_tenants_are_scoped(client, tokens) -> None:
    def names(who):
        return {t["metadata"]["name"] for t in call(client, "GET", "/api/v1/tenants", tokens[who]).json()}

    everything = names("yamada-taro")
    assert names("security-mori") == everything and len(everything) == 8
    chiyoda = call(client, "GET", "/api/v1/tenants", tokens["chiyoda-suzuki"]).json()
    assert chiyoda and all("131016" in t["spec"]["municipalities"] for t in chiyoda)
    for t in call(client, "GET", "/api/v1/tenants", tokens["asuka-sato"]).json():
        assert t["spec"]["vendor"] == "asuka-systems"
    assert names("hachioji-takahashi") == set()      # Hachioji has no tenant yet


def test_a_draft_is_the_vendors_alone(client, tokens) -> None:
    sid = submit(client, tokens["asuka-sato"], sample_request().replace("region: ap-northeast-1", "region: us-east-1"))
    assert call(client, "GET", f"/api/v1/submissions/{sid}", tokens["asuka-sato"]).json()["status"] == "draft"
    assert call(client, "GET", f"/api/v1/submissions/{sid}", tokens["hachioji-takahashi"]).status_code == 404
    assert call(client, "GET", f"/api/v1/submissions/{sid}", tokens["yamada-taro"]).status_code == 200
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["yamada-taro"], {})
    assert r.status_code == 409 and r.json()["error"] == "conflict"


WRITES = [
    ("POST", "/api/v1/submissions/{sid}/revisions", "yaml",
     row(asuka_sato=201, hikari_suzuki=404, hachioji_takahashi=403, chiyoda_suzuki=404, yamada_taro=403, security_mori=403)),
    ("POST", "/api/v1/submissions/{sid}/withdraw", None,
     row(asuka_sato=200, hikari_suzuki=404, hachioji_takahashi=403, chiyoda_suzuki=404, yamada_taro=403, security_mori=403)),
    ("POST", "/api/v1/submissions/{sid}/approvals", "seen",
     row(asuka_sato=403, hikari_suzuki=404, hachioji_takahashi=201, chiyoda_suzuki=404, yamada_taro=201, security_mori=403)),
    ("POST", "/api/v1/submissions/{sid}/reject", {"comment": "CIDR too large"},
     row(asuka_sato=403, hikari_suzuki=404, hachioji_takahashi=200, chiyoda_suzuki=404, yamada_taro=200, security_mori=403)),
    ("POST", "/api/v1/submissions/{sid}/apply", None,
     row(asuka_sato=403, hikari_suzuki=404, hachioji_takahashi=403, chiyoda_suzuki=404, yamada_taro=409, security_mori=403)),
    ("POST", "/api/v1/submissions/{sid}/comments", {"comment": "question"},
     row(asuka_sato=201, hikari_suzuki=404, hachioji_takahashi=201, chiyoda_suzuki=404, yamada_taro=201, security_mori=403)),
]
WRITE_CASES = [(m, p, b, who, status) for m, p, b, expected in WRITES for who, status in expected]


@pytest.mark.parametrize("method, path, body, who, status", WRITE_CASES,
                         ids=[f"{p.rsplit('/', 1)[-1]}-{who}" for _, p, _, who, _ in WRITE_CASES])
def test_writes(client, tokens, sid, method, path, body, who, status) -> None:
    """Each write on a fresh workspace: apply by the platform is refused (409) only because the
    approvals are missing."""
    if body == "yaml":
        body = sample_request().replace("environments: [prod, staging]", "environments: [prod]")
    if body == "seen":      # the digest the approver reviewed (the service signs only that)
        body = seen(client, tokens["yamada-taro"], sid)
    head = call(client, "GET", "/api/v1/history", tokens["yamada-taro"]).json()["head"]
    r = call(client, method, path.format(sid=sid), tokens[who], body)
    assert r.status_code == status, (who, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json") and "Traceback" not in r.text
    changed = call(client, "GET", "/api/v1/history", tokens["yamada-taro"]).json()["head"] != head
    assert changed == (path.endswith("/approvals") and status == 201)


def test_a_vendor_submits_only_for_itself(client, tokens) -> None:
    other = sample_request().replace("vendor: asuka-systems", "vendor: hikari-solutions")
    for who, status in [("hikari-suzuki", 201), ("asuka-sato", 403), ("yamada-taro", 403),
                        ("hachioji-takahashi", 403), ("security-mori", 403)]:
        r = call(client, "POST", "/api/v1/submissions", tokens[who], other)
        assert r.status_code == status, (who, r.text)


def test_a_municipality_approves_only_for_its_own_code(client, tokens) -> None:
    # Chiyoda's approver cannot see Hachioji's request, and Hachioji's cannot approve as Chiyoda.
    text = sample_request().replace('municipalities: ["132012"]', 'municipalities: ["132012", "131016"]') \
                           .replace("name: hachioji-juki", "name: tama-juki").replace("usage: dedicated", "usage: shared")
    sid = submit(client, tokens["asuka-sato"], text)
    saw = seen(client, tokens["yamada-taro"], sid)
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["hachioji-takahashi"], {"municipality": "131016", **saw})
    assert r.status_code == 403, r.text
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["chiyoda-suzuki"], {"municipality": "131016", **saw})
    assert r.status_code == 201 and r.json()["municipality"] == "131016"
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["chiyoda-suzuki"], {"municipality": "131016", **saw})
    assert r.status_code == 409                       # one approval per person
    missing = call(client, "GET", f"/api/v1/submissions/{sid}/summary", tokens["yamada-taro"]).json()["approvals"]["missing"]
    assert missing == ["platform", "municipality 132012"]


def test_a_replayed_signature_for_another_digest_does_not_count(client, tokens, sid) -> None:
    statement = call(client, "GET", f"/api/v1/submissions/{sid}/statement", tokens["hachioji-takahashi"]).content
    old = sign_statement(statement, "hachioji-takahashi")
    r = call(client, "POST", f"/api/v1/submissions/{sid}/revisions", tokens["asuka-sato"],
             sample_request().replace("environments: [prod, staging]", "environments: [prod]"))
    assert r.status_code == 201
    head = call(client, "GET", "/api/v1/history", tokens["yamada-taro"]).json()["head"]
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["hachioji-takahashi"], {"signature": old})
    assert r.status_code == 409 and "signature" in r.json()["message"], r.text
    # Someone else's key over the right statement does not count either.
    statement = call(client, "GET", f"/api/v1/submissions/{sid}/statement", tokens["hachioji-takahashi"]).content
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["hachioji-takahashi"],
             {"signature": sign_statement(statement, "chiyoda-suzuki")})
    assert r.status_code == 409 and "not declared" in r.json()["message"], r.text
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["hachioji-takahashi"], {"signature": "garbage"})
    assert r.status_code == 400
    assert call(client, "GET", "/api/v1/history", tokens["yamada-taro"]).json()["head"] == head
    r = call(client, "POST", f"/api/v1/submissions/{sid}/approvals", tokens["hachioji-takahashi"],
             {"signature": sign_statement(statement, "hachioji-takahashi")})
    assert r.status_code == 201 and r.json()["signedBy"] == "key"


def test_bad_credentials(client, tokens) -> None:
    from sqlalchemy import update

    from govcloud.service import auth, db

    Session = client.app.state.service.Session
    expired, _ = auth.create_token(Session, principal="yamada-taro", name="old", created_by="yamada-taro", days=1)
    revoked, row = auth.create_token(Session, principal="yamada-taro", name="gone", created_by="yamada-taro", days=1)
    with Session.begin() as s:
        s.execute(update(db.ApiToken).where(db.ApiToken.token_hash == auth.digest(expired))
                  .values(expires_at=db.utcnow() - dt.timedelta(seconds=1)))
    auth.revoke_token(Session, row.id)
    good = tokens["yamada-taro"]
    for header in [f"Bearer {auth.new_secret(auth.TOKEN_PREFIX)}",   # forged
                   f"Bearer {good[:-2]}xx",                            # tampered
                   f"Bearer {expired}", f"Bearer {revoked}",
                   "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ5YW1hZGEtdGFybyJ9.",   # alg none, no OIDC configured
                   f"Basic {good}", f"bearer{good}", ""]:
        r = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
        assert r.status_code == 401, (header[:20], r.text)
        assert r.json()["error"] == "unauthenticated" and "WWW-Authenticate" in r.headers
        assert good not in r.text and expired not in r.text
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_guessing_tokens_is_rate_limited(make_client) -> None:
    from govcloud.service.config import RateLimit

    client = make_client(signin_rate=RateLimit(3, 0.01))
    codes = [client.get("/api/v1/me", headers={"Authorization": "Bearer gcp_nope"}).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer gcp_nope"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_token_use_is_rate_limited_per_principal(make_client, tokens) -> None:
    from govcloud.service import auth
    from govcloud.service.config import RateLimit

    client = make_client(api_rate=RateLimit(2, 0.01))
    Session = client.app.state.service.Session
    token = auth.create_token(Session, principal="asuka-sato", name="t", created_by="yamada-taro", days=1)[0]
    other = auth.create_token(Session, principal="yamada-taro", name="t", created_by="yamada-taro", days=1)[0]
    codes = [client.get("/api/v1/me", headers=bearer(token)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200


def test_an_oversize_body_is_refused_with_413(client, tokens) -> None:
    big = "# " + "x" * (300 * 1024) + "\n" + sample_request()
    r = call(client, "POST", "/api/v1/requests/validate", tokens["asuka-sato"], big)
    assert r.status_code == 413 and r.json()["error"] == "too_large"

    def chunks():                                       # no Content-Length: counted while read
        for _ in range(40):
            yield b"#" * 10_000 + b"\n"

    r = client.post("/api/v1/requests/validate", content=chunks(),
                    headers={**bearer(tokens["asuka-sato"]), "Content-Type": "application/yaml"})
    assert r.status_code == 413


def test_domain_errors_are_4xx_json_never_a_traceback(client, tokens) -> None:
    t = tokens["asuka-sato"]
    for body, ctype in [(b"\xff\xfe", "application/yaml"), (b"{not json", "application/json"),
                        (b'{"yaml": 3}', "application/json"), (b"- a\n- b\n", "application/yaml"),
                        (b"a: &x [*x]\n", "application/yaml"), (b"", "application/yaml")]:
        r = client.post("/api/v1/requests/validate", content=body, headers={**bearer(t), "Content-Type": ctype})
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert "Traceback" not in r.text and r.headers["content-type"].startswith("application/json")
    assert client.get("/api/v1/submissions/999", headers=bearer(t)).status_code == 404
    assert client.get("/api/v1/submissions/abc", headers=bearer(t)).status_code == 422
    r = client.post("/api/v1/submissions/1/approvals", json={"nope": 1}, headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 422 and "nope" not in r.json().get("message", "")


def test_openapi_is_published_and_lists_every_endpoint(client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    paths = set(doc["paths"])
    assert {"/api/v1/me", "/api/v1/requests/validate", "/api/v1/submissions", "/api/v1/submissions/{sid}",
            "/api/v1/submissions/{sid}/revisions", "/api/v1/submissions/{sid}/withdraw",
            "/api/v1/submissions/{sid}/summary", "/api/v1/submissions/{sid}/statement",
            "/api/v1/submissions/{sid}/approvals", "/api/v1/submissions/{sid}/reject",
            "/api/v1/submissions/{sid}/apply", "/api/v1/submissions/{sid}/preflight", "/api/v1/submissions/{sid}/comments",
            "/api/v1/tenants", "/api/v1/history", "/api/v1/findings"} <= paths
    assert not any(p.startswith(("/portal", "/signin", "/auth")) for p in paths)
    assert client.get("/api/v1/docs").status_code == 404


def test_behind_a_proxy_a_spoofed_forwarded_for_does_not_reset_the_limit(make_client) -> None:
    from govcloud.service.config import RateLimit

    client = make_client(signin_rate=RateLimit(2, 0.01), trust_proxy_headers=True)
    codes = [client.get("/api/v1/me", headers={"Authorization": "Bearer gcp_nope",
                                               "X-Forwarded-For": f"10.0.0.{i}, 192.0.2.7"}).status_code
             for i in range(4)]
    assert codes == [401, 401, 429, 429]


@pytest.mark.parametrize("sid", ["99999999999999999999", "2147483648", "0", "-1"])
def test_an_impossible_submission_id_is_not_found_never_a_500(client, tokens, sid) -> None:
    """Found in review: a 20-digit id overflowed SQLite's integer and gave a 500."""
    headers = {"Authorization": f"Bearer {tokens['yamada-taro']}"}
    assert client.get(f"/api/v1/submissions/{sid}", headers=headers).status_code in (404, 422)
    assert client.post(f"/api/v1/submissions/{sid}/apply", headers=headers).status_code in (404, 422)

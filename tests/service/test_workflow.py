"""The workflow through the service: the same approvals through the API and through the CLI end
in byte-identical workspaces; a restart loses nothing; history verify proves who approved."""

from __future__ import annotations

import json
import shutil

from tests.conftest import tree_snapshot, with_plan_cache
from tests.service.conftest import NOW, bearer, sample_request, seen, sign_statement, submit


def test_api_and_cli_end_in_byte_identical_workspaces(client, tokens, service_ws, tmp_path, run) -> None:
    # The CLI's workspace is a copy taken before the service wrote anything.
    cli_ws = tmp_path / "cli-ws"
    shutil.copytree(service_ws, cli_ws, ignore=shutil.ignore_patterns(".govcloud"))

    # Through the API: detached signatures made with the sample keys (as ssh-keygen -Y sign would).
    sid = submit(client, tokens["asuka-sato"])
    for who in ("hachioji-takahashi", "yamada-taro"):
        statement = client.get(f"/api/v1/submissions/{sid}/statement", headers=bearer(tokens[who])).content
        r = client.post(f"/api/v1/submissions/{sid}/approvals", json={"signature": sign_statement(statement, who)},
                        headers=bearer(tokens[who]))
        assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/submissions/{sid}/apply", headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()["tenants"]] == ["132012-juki-prod", "132012-juki-staging"]

    # Through the CLI: the same request text, statements, signatures and actor.
    request = tmp_path / "hachioji-juki.yaml"
    request.write_text(sample_request(), encoding="utf-8")
    env = {"GOVCLOUD_NOW": NOW, "GOVCLOUD_ACTOR": "yamada-taro"}
    for who in ("hachioji-takahashi", "yamada-taro"):
        statement = run("request", "statement", str(request), "--principal", who, root=cli_ws, env=env, check=True)
        sig = tmp_path / f"{who}.sig"
        sig.write_text(sign_statement(statement.stdout.encode("utf-8"), who), encoding="ascii")
        run("request", "approve", str(request), "--signature", str(sig), "--principal", who, root=cli_ws, env=env,
            check=True)
    run("request", "apply", str(request), root=cli_ws, env=env, check=True)

    api_tree, cli_tree = tree_snapshot(service_ws), tree_snapshot(cli_ws)
    assert api_tree.keys() == cli_tree.keys()
    assert [k for k in api_tree if api_tree[k] != cli_tree[k]] == []
    verified = run("history", "verify", "--format", "json", root=service_ws, check=True)
    proof = json.loads(verified.stdout)
    mine = [a for a in proof["approvals"] if a["request"] == "hachioji-juki"]
    assert [(a["principal"], a["status"]) for a in mine] == [("hachioji-takahashi", "verified"), ("yamada-taro", "verified")]


def test_service_signed_approvals_count_and_are_proven(client, tokens, run, service_ws) -> None:
    sid = submit(client, tokens["asuka-sato"])
    for who in ("hachioji-takahashi", "yamada-taro"):
        r = client.post(f"/api/v1/submissions/{sid}/approvals", json={"comment": "ok", **seen(client, tokens[who], sid)},
                        headers=bearer(tokens[who]))
        assert r.status_code == 201 and r.json()["signedBy"] == "service" and r.json()["serviceKey"] == "onboarding-sample"
    summary = client.get(f"/api/v1/submissions/{sid}/summary", headers=bearer(tokens["asuka-sato"])).json()
    assert summary["approvals"]["complete"] and summary["summary"]["zone"] == "mynumber"
    assert client.post(f"/api/v1/submissions/{sid}/apply", headers=bearer(tokens["yamada-taro"])).status_code == 200
    sub = client.get(f"/api/v1/submissions/{sid}", headers=bearer(tokens["asuka-sato"])).json()
    assert sub["status"] == "applied"
    assert [e["kind"] for e in sub["timeline"]] == ["revision", "approve", "approve", "apply"]
    history = client.get("/api/v1/history", headers=bearer(tokens["security-mori"])).json()
    signers = [a["signer"] for a in history["approvals"] if a["request"] == "hachioji-juki"]
    assert signers == ["service onboarding-sample for hachioji-takahashi", "service onboarding-sample for yamada-taro"]
    run("history", "verify", root=service_ws, check=True)
    run("validate", root=service_ws, check=True)
    assert {"132012-juki-prod", "132012-juki-staging"} <= {
        t["metadata"]["name"] for t in client.get("/api/v1/tenants", headers=bearer(tokens["hachioji-takahashi"])).json()}


def test_revise_withdraw_and_reject(client, tokens) -> None:
    vendor = bearer(tokens["asuka-sato"])
    bad = sample_request().replace("region: ap-northeast-1", "region: us-east-1")
    sid = submit(client, tokens["asuka-sato"], bad)
    sub = client.get(f"/api/v1/submissions/{sid}", headers=vendor).json()
    assert sub["status"] == "draft"
    (d,) = sub["revision"]["diagnostics"]
    assert (d["code"], d["field"], d["line"]) == ("GC206", "spec.region", 13)
    assert d["path"] == f"submissions/{sid}/revision-1.yaml"
    r = client.post(f"/api/v1/submissions/{sid}/revisions", content=sample_request(),
                    headers={**vendor, "Content-Type": "application/yaml"})
    assert r.status_code == 201 and r.json()["status"] == "submitted" and r.json()["revision"]["number"] == 2
    r = client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": ""}, headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 400
    r = client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": "staging is not needed"},
                    headers=bearer(tokens["hachioji-takahashi"]))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert client.post(f"/api/v1/submissions/{sid}/approvals", json=seen(client, tokens["yamada-taro"], sid),
                       headers=bearer(tokens["yamada-taro"])).status_code == 409
    r = client.post(f"/api/v1/submissions/{sid}/withdraw", headers=vendor)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert client.post(f"/api/v1/submissions/{sid}/withdraw", headers=vendor).status_code == 409
    kinds = [e["kind"] for e in client.get(f"/api/v1/submissions/{sid}", headers=vendor).json()["timeline"]]
    assert kinds == ["revision", "revision", "reject", "withdraw"]


def test_validate_gives_the_same_diagnostics_as_the_cli(client, tokens, run, service_ws, tmp_path) -> None:
    bad = (sample_request().replace("vendor: asuka-systems", "vendor: asuka-sytems")
           .replace('["132012"]', '["132013"]').replace("region: ap-northeast-1", "region: us-east-1"))
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    cli = run("request", "validate", "--format", "json", str(path), root=service_ws)
    assert cli.returncode == 1
    (expected,) = json.loads(cli.stdout)
    r = client.post("/api/v1/requests/validate", params={"name": str(path)}, content=bad,
                    headers={**bearer(tokens["asuka-sato"]), "Content-Type": "application/yaml"})
    assert r.status_code == 422
    assert r.json()["errors"] == expected["errors"] and len(expected["errors"]) == 3
    r = client.post("/api/v1/requests/validate", json={"yaml": sample_request()}, headers=bearer(tokens["asuka-sato"]))
    assert r.status_code == 200 and r.json()["tenants"] == {"132012-juki-prod": "10.16.6.0/24",
                                                            "132012-juki-staging": "10.16.7.0/24"}


def test_a_restart_loses_nothing(make_client, tokens) -> None:
    first = make_client()
    sid = submit(first, tokens["asuka-sato"])
    first.post(f"/api/v1/submissions/{sid}/comments", json={"comment": "please hurry"}, headers=bearer(tokens["asuka-sato"]))
    assert first.post(f"/api/v1/submissions/{sid}/approvals", json=seen(first, tokens["hachioji-takahashi"], sid),
                      headers=bearer(tokens["hachioji-takahashi"])).status_code == 201
    r = first.post("/signin", data={"token": tokens["yamada-taro"], "csrf_token": _signin_csrf(first)}, follow_redirects=False)
    assert r.status_code == 303
    before = first.get(f"/api/v1/submissions/{sid}", headers=bearer(tokens["asuka-sato"])).json()

    second = make_client()            # a new process on the same workspace and database
    after = second.get(f"/api/v1/submissions/{sid}", headers=bearer(tokens["asuka-sato"])).json()
    assert after == before
    assert [e["kind"] for e in after["timeline"]] == ["revision", "comment", "approve"]
    second.cookies.update(first.cookies)   # the session cookie still signs in
    page = second.get(f"/portal/submissions/{sid}")
    assert page.status_code == 200 and 'data-principal="yamada-taro"' in page.text
    summary = second.get(f"/api/v1/submissions/{sid}/summary", headers=bearer(tokens["yamada-taro"])).json()
    assert summary["approvals"]["missing"] == ["platform"]


def _signin_csrf(client) -> str:
    client.get("/signin")
    return client.cookies.get("govcloud-csrf")


def test_the_platform_preflight_plans_checks_and_proves_the_candidate(client, tokens, database_url, service_ws,
                                                                     request) -> None:
    if not database_url.startswith("sqlite"):
        import pytest

        pytest.skip("the preflight does not touch the database")
    # The fleet as planned once a session: the preflight plans only what the candidate changes.
    with_plan_cache(service_ws, request.getfixturevalue("sample_plan_cache"))
    sid = submit(client, tokens["asuka-sato"])
    before = tree_snapshot(service_ws)
    assert client.post(f"/api/v1/submissions/{sid}/preflight", headers=bearer(tokens["hachioji-takahashi"])).status_code == 403
    r = client.post(f"/api/v1/submissions/{sid}/preflight", headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] and result["findings"] == [] and result["violations"] == [] and result["refusals"] == []
    assert result["stacks"] == ["tenant-132012-juki-prod", "tenant-132012-juki-staging"]
    assert result["newReachable"] and all("132012-juki" in flow for flow in result["newReachable"])
    assert tree_snapshot(service_ws) == before


def test_a_request_applied_from_the_command_line_is_applied_in_the_service(client, tokens, run, service_ws, tmp_path) -> None:
    sid = submit(client, tokens["asuka-sato"])
    for who in ("hachioji-takahashi", "yamada-taro"):
        assert client.post(f"/api/v1/submissions/{sid}/approvals", json=seen(client, tokens[who], sid), headers=bearer(tokens[who])).status_code == 201
    request = tmp_path / "hachioji-juki.yaml"
    request.write_text(sample_request(), encoding="utf-8")
    run("request", "apply", str(request), root=service_ws, env={"GOVCLOUD_NOW": NOW}, check=True)
    r = client.post(f"/api/v1/submissions/{sid}/apply", headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 200, r.text
    assert r.json()["tenants"] == [{"name": "132012-juki-prod", "cidr": "10.16.6.0/24"},
                                   {"name": "132012-juki-staging", "cidr": "10.16.7.0/24"}]
    assert client.get(f"/api/v1/submissions/{sid}", headers=bearer(tokens["asuka-sato"])).json()["status"] == "applied"
    # another content of the same name is refused, not marked applied
    other = submit(client, tokens["asuka-sato"], sample_request().replace("environments: [prod, staging]", "environments: [prod]"))
    r = client.post(f"/api/v1/submissions/{other}/apply", headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 409


def test_the_summary_shows_the_cidrs_that_would_be_allocated_now(client, tokens) -> None:
    first = submit(client, tokens["asuka-sato"])
    second = submit(client, tokens["asuka-sato"], sample_request("chiyoda-kosodate"))
    before = client.get(f"/api/v1/submissions/{second}/summary", headers=bearer(tokens["yamada-taro"])).json()
    for who in ("hachioji-takahashi", "yamada-taro"):
        client.post(f"/api/v1/submissions/{first}/approvals", json=seen(client, tokens[who], first), headers=bearer(tokens[who]))
    assert client.post(f"/api/v1/submissions/{first}/apply", headers=bearer(tokens["yamada-taro"])).status_code == 200
    after = client.get(f"/api/v1/submissions/{second}/summary", headers=bearer(tokens["yamada-taro"])).json()
    taken = {"10.16.6.0/24", "10.16.7.0/24"}
    cidr = lambda s: {t["cidr"] for t in s["summary"]["tenants"]}  # noqa: E731
    assert cidr(after).isdisjoint(taken) and cidr(after) != cidr(before)


def test_a_rejection_takes_back_the_rejecters_approval(client, tokens, run, service_ws) -> None:
    """Found in review: a rejection was only a database row, so the same content resubmitted
    still carried the rejecter's signed approval and could be applied without them."""
    sid = submit(client, tokens["asuka-sato"])
    muni, platform = bearer(tokens["hachioji-takahashi"]), bearer(tokens["yamada-taro"])
    assert client.post(f"/api/v1/submissions/{sid}/approvals", json=seen(client, tokens["hachioji-takahashi"], sid), headers=muni).status_code == 201
    r = client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": "住所が違います"}, headers=muni)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    reject = [e for e in r.json()["timeline"] if e["kind"] == "reject"][0]
    assert reject["historySeq"] and reject["signedBy"] == "service"
    # The vendor submits the identical text again; the platform approves; apply needs Hachioji again.
    again = submit(client, tokens["asuka-sato"])
    assert client.post(f"/api/v1/submissions/{again}/approvals", json=seen(client, tokens["yamada-taro"], again), headers=platform).status_code == 201
    r = client.post(f"/api/v1/submissions/{again}/apply", headers=platform)
    assert r.status_code == 409 and "municipality 132012" in r.text, r.text
    status = run("request", "status", str(service_ws / "tenants/requests/examples/hachioji-juki.yaml"), root=service_ws)
    assert "withdrawn by its approver" in status.stdout
    run("history", "verify", root=service_ws, check=True)
    history = client.get("/api/v1/history", headers=bearer(tokens["security-mori"])).json()
    assert [a["withdrawnBy"] for a in history["approvals"] if a["principal"] == "hachioji-takahashi"] == [reject["historySeq"]]
    assert client.post(f"/api/v1/submissions/{again}/approvals", json=seen(client, tokens["hachioji-takahashi"], again), headers=muni).status_code == 201
    assert client.post(f"/api/v1/submissions/{again}/apply", headers=platform).status_code == 200


def test_content_that_stopped_validating_can_still_be_rejected(client, tokens, run, service_ws) -> None:
    """Found in review: the reject re-validated the request to withdraw the rejecter's approval,
    so once the content stopped passing the rules (here: the vendor left) it could not be rejected."""
    sid = submit(client, tokens["asuka-sato"])
    muni = bearer(tokens["hachioji-takahashi"])
    assert client.post(f"/api/v1/submissions/{sid}/approvals", json=seen(client, tokens["hachioji-takahashi"], sid), headers=muni).status_code == 201
    (service_ws / "tenants/vendors/asuka-systems.yaml").unlink()
    r = client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": "no longer contracted"}, headers=muni)
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    r = client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": "x"}, headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 409           # rejected already: nothing more to reject


def test_lists_are_paged_with_a_link_to_the_next_page(client, tokens) -> None:
    vendor, platform = bearer(tokens["asuka-sato"]), bearer(tokens["yamada-taro"])
    made = [submit(client, tokens["asuka-sato"]) for _ in range(3)]
    r = client.get("/api/v1/submissions", params={"limit": 2}, headers=vendor)
    assert r.status_code == 200 and [s["id"] for s in r.json()] == sorted(made, reverse=True)[:2]
    following = r.headers["link"].split(";")[0].strip("<>")
    r = client.get(following, headers=vendor)
    assert [s["id"] for s in r.json()] == [min(made)] and "link" not in r.headers
    names = [t["metadata"]["name"] for t in client.get("/api/v1/tenants", headers=platform).json()]
    pages, url = [], "/api/v1/tenants?limit=3"
    while url:
        r = client.get(url, headers=platform)
        pages.append([t["metadata"]["name"] for t in r.json()])
        url = r.headers.get("link", "").split(";")[0].strip("<>") or None
    assert [n for page in pages for n in page] == names and len(pages) == -(-len(names) // 3)
    assert client.get("/api/v1/tenants", params={"limit": 0}, headers=platform).status_code == 422
    assert client.get("/api/v1/submissions", params={"limit": 5000}, headers=platform).status_code == 422

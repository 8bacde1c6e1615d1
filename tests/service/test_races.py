"""The service signs only what the approver saw, and revise, withdraw, approve and apply are one
state machine (issue 19, part 6; docs/service-approvals.md).

- a decision names the revision/digest it was made on; a mismatch is 409 with the current
  content (API: a problem body with ``current``; portal: a page with the current content, what
  changed and a way to review again), and nothing is signed;
- a revision or a withdrawal racing an apply has exactly one winner, and afterwards the
  service's record says what the workspace says (applied at the revision that was applied, or
  not applied at all);
- a claim left by a process that died is settled by the workspace.

Every test runs on SQLite and on PostgreSQL, with two service instances (two processes' worth of
state: engines, sessions, in-process locks) on one workspace and one database.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.service.conftest import bearer, sample_request, seen, submit
from tests.service.test_portal import decided, sign_in

REVISED = sample_request().replace("environments: [prod, staging]", "environments: [prod]")


def head(client, tokens) -> str:
    return client.get("/api/v1/history", headers=bearer(tokens["security-mori"])).json()["head"]


def approve_all(client, tokens, sid: int) -> None:
    for who in ("hachioji-takahashi", "yamada-taro"):
        r = client.post(f"/api/v1/submissions/{sid}/approvals", json=seen(client, tokens[who], sid),
                        headers=bearer(tokens[who]))
        assert r.status_code == 201, r.text


def record_matches_workspace(client, tokens, service_ws, sid: int) -> dict:
    """The service's record of ``sid`` against the workspace's history: applied exactly when the
    history holds a ``request.applied`` of the latest revision's digest, and then the apply
    decision names that revision."""
    from govcloud.tenants import history, ledger

    sub = client.get(f"/api/v1/submissions/{sid}", headers=bearer(tokens["yamada-taro"])).json()
    hist = history.load(service_ws / "tenants" / "history.jsonl", "history.jsonl")
    applied = ledger.applied_requests(hist).get(sub["request"])
    if sub["status"] == "applied":
        assert applied is not None, "the record says applied; the workspace applied nothing"
        assert applied["data"]["digest"] == sub["revision"]["digest"], \
            "the record says applied at a revision that was never applied"
        (apply,) = [e for e in sub["timeline"] if e["kind"] == "apply"]
        assert apply["revision"] == sub["revision"]["number"]
    else:
        assert applied is None, f"the workspace applied a submission whose record says {sub['status']}"
        assert not [e for e in sub["timeline"] if e["kind"] == "apply"]
    assert sub["claim"] is None
    return sub


# --- the approver signs only what they saw ------------------------------------------------------------


def test_a_stale_approval_is_409_and_signs_nothing(client, tokens) -> None:
    muni = bearer(tokens["hachioji-takahashi"])
    sid = submit(client, tokens["asuka-sato"])
    saw = client.get(f"/api/v1/submissions/{sid}", headers=muni).json()["revision"]
    r = client.post(f"/api/v1/submissions/{sid}/revisions", content=REVISED,
                    headers={**bearer(tokens["asuka-sato"]), "Content-Type": "application/yaml"})
    assert r.status_code == 201
    now = r.json()["revision"]
    assert now["digest"] != saw["digest"]
    before = head(client, tokens)
    for body in ({"digest": saw["digest"]}, {"revision": saw["number"]},
                 {"digest": saw["digest"], "revision": now["number"]}, {"digest": now["digest"], "revision": 1}):
        r = client.post(f"/api/v1/submissions/{sid}/approvals", json={"comment": "ok", **body}, headers=muni)
        assert r.status_code == 409, (body, r.text)
        problem = r.json()
        assert problem["error"] == "stale" and "Nothing was signed" in problem["message"]
        assert problem["current"]["revision"] == 2 and problem["current"]["digest"] == now["digest"]
        assert problem["current"]["status"] == "submitted"
    # Without saying what it approves, the service does not sign at all.
    r = client.post(f"/api/v1/submissions/{sid}/approvals", json={}, headers=muni)
    assert r.status_code == 400 and r.json()["error"] == "digest_required"
    assert head(client, tokens) == before
    kinds = [e["kind"] for e in client.get(f"/api/v1/submissions/{sid}", headers=muni).json()["timeline"]]
    assert kinds == ["revision", "revision"]
    # Reviewing again and approving what is there now is signed, for the digest named.
    r = client.post(f"/api/v1/submissions/{sid}/approvals", json={"digest": now["digest"]}, headers=muni)
    assert r.status_code == 201 and r.json()["digest"] == now["digest"]
    # A rejection and an apply that name an old revision are refused the same way.
    r = client.post(f"/api/v1/submissions/{sid}/reject", json={"comment": "no", "revision": 1},
                    headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 409 and r.json()["error"] == "stale"
    r = client.post(f"/api/v1/submissions/{sid}/apply", json={"digest": saw["digest"]},
                    headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 409 and r.json()["error"] == "stale"


def test_an_approval_of_a_withdrawn_submission_is_stale(client, tokens) -> None:
    sid = submit(client, tokens["asuka-sato"])
    saw = seen(client, tokens["yamada-taro"], sid)
    assert client.post(f"/api/v1/submissions/{sid}/withdraw", headers=bearer(tokens["asuka-sato"])).status_code == 200
    before = head(client, tokens)
    r = client.post(f"/api/v1/submissions/{sid}/approvals", json=saw, headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 409 and r.json()["current"]["status"] == "withdrawn"
    assert head(client, tokens) == before


def test_a_stale_portal_form_shows_the_current_content(make_client, client, tokens) -> None:
    muni = make_client()
    sign_in(muni, tokens["hachioji-takahashi"])
    sid = submit(client, tokens["asuka-sato"])
    page = muni.get(f"/portal/submissions/{sid}")
    form = decided(page.text)
    assert form["revision"] == "1"
    r = client.post(f"/api/v1/submissions/{sid}/revisions", content=REVISED,
                    headers={**bearer(tokens["asuka-sato"]), "Content-Type": "application/yaml"})
    digest = r.json()["revision"]["digest"]
    before = head(client, tokens)
    r = muni.post(f"/portal/submissions/{sid}/approve", data={**form, "comment": "承認します"})
    assert r.status_code == 409, r.text
    assert 'data-testid="stale"' in r.text and f'data-digest="{digest}"' in r.text and 'data-revision="2"' in r.text
    shown = re.search(r'<pre id="current-yaml"[^>]*>(.*?)</pre>', r.text, re.S).group(1)
    assert "environments: [prod]" in shown
    diff = re.search(r'<pre id="stale-diff"[^>]*>(.*?)</pre>', r.text, re.S).group(1)
    assert "-  environments: [prod, staging]" in diff and "+  environments: [prod]" in diff
    again = re.search(r'href="(/portal/submissions/\d+)" id="review-again"', r.text).group(1)
    assert head(client, tokens) == before
    # Reviewing again shows the new digest in the form; approving that is signed.
    page = muni.get(again)
    assert decided(page.text)["digest"] == digest
    r = muni.post(f"/portal/submissions/{sid}/approve", data=decided(page.text))
    assert r.status_code == 200 and 'data-slot="municipality 132012"' in r.text
    assert head(client, tokens) != before
    # A form that does not say what it decides on (an old page) is refused.
    form = decided(page.text)
    del form["digest"]
    assert muni.post(f"/portal/submissions/{sid}/reject", data={**form, "comment": "x"}).status_code == 400


# --- races against apply ------------------------------------------------------------------------------


@pytest.fixture
def paused_write(monkeypatch):
    """``arm()`` holds the next workspace write (inside the workspace lock, just before it lands)
    until ``go`` is set; ``entered`` tells that it got there."""
    from govcloud.workspace import Workspace

    entered, go, armed = threading.Event(), threading.Event(), threading.Event()
    original = Workspace.commit

    def commit(self, writes):
        if armed.is_set():
            armed.clear()
            entered.set()
            assert go.wait(60), "the racing request never finished"
        return original(self, writes)

    monkeypatch.setattr(Workspace, "commit", commit)
    return armed.set, entered, go


@pytest.mark.parametrize("racer", ["withdraw", "revise"])
def test_a_change_while_the_apply_writes_the_workspace_loses(make_client, client, tokens, service_ws, paused_write,
                                                             racer) -> None:
    """Deterministic interleaving: the vendor's request arrives while the apply is inside the
    workspace lock, writing. Before this change the vendor won too, and the record then said
    "applied" at revision 2 (never applied) or applied a withdrawn submission."""
    other = make_client()                       # a second service process
    sid = submit(client, tokens["asuka-sato"])
    approve_all(client, tokens, sid)
    arm, entered, go = paused_write
    arm()
    vendor = {**bearer(tokens["asuka-sato"]), "Content-Type": "application/yaml"}
    with ThreadPoolExecutor(1) as pool:
        applying = pool.submit(client.post, f"/api/v1/submissions/{sid}/apply", json=seen(client, tokens["yamada-taro"], sid),
                               headers=bearer(tokens["yamada-taro"]))
        assert entered.wait(60)
        try:
            if racer == "withdraw":
                r = other.post(f"/api/v1/submissions/{sid}/withdraw", headers=vendor)
            else:
                r = other.post(f"/api/v1/submissions/{sid}/revisions", content=REVISED, headers=vendor)
        finally:
            go.set()
        applied = applying.result(60)
    assert applied.status_code == 200, applied.text
    assert r.status_code == 409 and "being applied by yamada-taro" in r.json()["message"], r.text
    sub = record_matches_workspace(client, tokens, service_ws, sid)
    assert sub["status"] == "applied" and sub["revision"]["number"] == 1


@pytest.mark.parametrize("racer", ["withdraw", "revise"])
def test_a_change_racing_an_apply_has_exactly_one_winner(make_client, client, tokens, service_ws, racer) -> None:
    """Real concurrency, no hooks: two service instances, the apply and the vendor's change
    released together. Whichever wins, the other is 409 and the record equals the workspace."""
    other = make_client()
    sid = submit(client, tokens["asuka-sato"])
    approve_all(client, tokens, sid)
    saw = seen(client, tokens["yamada-taro"], sid)
    start = threading.Barrier(2)
    vendor = {**bearer(tokens["asuka-sato"]), "Content-Type": "application/yaml"}

    def apply():
        start.wait()
        return client.post(f"/api/v1/submissions/{sid}/apply", json=saw, headers=bearer(tokens["yamada-taro"]))

    def change():
        start.wait()
        if racer == "withdraw":
            return other.post(f"/api/v1/submissions/{sid}/withdraw", headers=vendor)
        return other.post(f"/api/v1/submissions/{sid}/revisions", content=REVISED, headers=vendor)

    with ThreadPoolExecutor(2) as pool:
        a, c = pool.submit(apply), pool.submit(change)
        applied, changed = a.result(120), c.result(120)
    codes = sorted([applied.status_code, changed.status_code])
    assert codes in ([200, 409], [201, 409]), (applied.text, changed.text)
    sub = record_matches_workspace(client, tokens, service_ws, sid)
    if applied.status_code == 200:
        assert sub["status"] == "applied" and sub["revision"]["number"] == 1
    else:
        assert sub["status"] == ("withdrawn" if racer == "withdraw" else "submitted")


def test_two_approvers_at_once_both_count(make_client, client, tokens, service_ws) -> None:
    """Claims serialise decisions without refusing the second approver: it waits its turn."""
    other = make_client()
    sid = submit(client, tokens["asuka-sato"])
    saw = seen(client, tokens["yamada-taro"], sid)
    start = threading.Barrier(2)

    def approve(app, who):
        start.wait()
        return app.post(f"/api/v1/submissions/{sid}/approvals", json=saw, headers=bearer(tokens[who]))

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: approve(*job), [(client, "hachioji-takahashi"), (other, "yamada-taro")]))
    assert [r.status_code for r in results] == [201, 201], [r.text for r in results]
    summary = client.get(f"/api/v1/submissions/{sid}/summary", headers=bearer(tokens["yamada-taro"])).json()
    assert summary["approvals"]["complete"]
    assert client.post(f"/api/v1/submissions/{sid}/apply", json=saw, headers=bearer(tokens["yamada-taro"])).status_code == 200
    record_matches_workspace(client, tokens, service_ws, sid)


# --- a claim whose process died -------------------------------------------------------------------------


def _claim_as_if_crashed(client, sid: int, seconds_ago: float) -> None:
    import datetime as dt

    from govcloud.service import db

    Session = client.app.state.service.Session
    with Session.begin() as s:
        row = s.get(db.Submission, sid)
        row.claim, row.claimed_by = "apply", "yamada-taro"
        row.claimed_at = db.utcnow() - dt.timedelta(seconds=seconds_ago)


def test_a_claim_left_by_a_dead_process_is_settled_by_the_workspace(make_client, tokens, service_ws, run, tmp_path) -> None:
    from tests.service.conftest import NOW

    client = make_client(claim_lease_seconds=60)
    vendor = bearer(tokens["asuka-sato"])
    # 1. Died before writing the workspace: blocked while the lease runs, then released.
    sid = submit(client, tokens["asuka-sato"])
    _claim_as_if_crashed(client, sid, seconds_ago=1)
    r = client.post(f"/api/v1/submissions/{sid}/withdraw", headers=vendor)
    assert r.status_code == 409 and "being applied" in r.json()["message"]
    assert client.get(f"/api/v1/submissions/{sid}", headers=vendor).json()["claim"]["kind"] == "apply"
    _claim_as_if_crashed(client, sid, seconds_ago=120)
    r = client.post(f"/api/v1/submissions/{sid}/withdraw", headers=vendor)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    record_matches_workspace(client, tokens, service_ws, sid)
    # 2. Died after writing the workspace, before recording it: settled as applied.
    sid = submit(client, tokens["asuka-sato"])
    approve_all(client, tokens, sid)
    request = tmp_path / "hachioji-juki.yaml"
    request.write_text(sample_request(), encoding="utf-8")
    run("request", "apply", str(request), root=service_ws, env={"GOVCLOUD_NOW": NOW}, check=True)
    _claim_as_if_crashed(client, sid, seconds_ago=120)
    r = client.post(f"/api/v1/submissions/{sid}/revisions", content=REVISED,
                    headers={**vendor, "Content-Type": "application/yaml"})
    assert r.status_code == 409 and "applied" in r.json()["message"]
    sub = record_matches_workspace(client, tokens, service_ws, sid)
    assert sub["status"] == "applied" and sub["revision"]["number"] == 1

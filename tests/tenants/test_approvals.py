"""Approvals are signed statements by declared principals: what counts, what is refused, and
what `history verify` proves — including against someone who can write the workspace files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from govcloud import sshsig
from govcloud.tenants import history, ipam
from govcloud.tenants.principals import APPROVAL_NAMESPACE, approval_statement
from govcloud.tenants.registry import load_registry
from govcloud.tenants.workflow import render_plan
from govcloud.workspace import Workspace
from tests.conftest import SAMPLE_KEYS, approve_args, key, tree_snapshot

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"


def refused(proc, *needles, code=1):
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def forge(ws: Path, event: str, data: dict, actor: str = "mallory") -> None:
    """Append an entry the way someone with write access would: a well-formed, correctly hashed
    entry, with the address plan's head moved along so every hash anchor agrees."""
    hist = history.load(ws / "tenants/history.jsonl")
    hist, _ = hist.with_event(event, actor, data)
    (ws / "tenants/history.jsonl").write_text(hist.render())
    workspace = Workspace(ws)
    plan = load_registry(workspace).plan
    (ws / "tenants/ipam.yaml").write_text(render_plan(ipam.with_history_head(plan, hist.head), workspace))


def digest_of(run, path: str) -> str:
    return json.loads(run("request", "validate", path, "--format", "json", check=True).stdout)[0]["digest"]


def test_an_undeclared_key_approves_nothing(ws, run, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    before = tree_snapshot(ws)
    refused(run("request", "approve", EXAMPLE, "--key", str(tmp_path / "k")), "is not declared for any principal")
    refused(run(*approve_args(EXAMPLE, "security-mori")), "security team reads, it never approves")
    refused(run(*approve_args(EXAMPLE, "asuka-sato")), "vendors request, they never approve")
    refused(run("request", "approve", EXAMPLE, "--key", str(tmp_path / "missing")), "cannot read key")
    refused(run("request", "approve", EXAMPLE, "--key", str(SAMPLE_KEYS / "README.md")), "not a readable private key")
    refused(run("request", "approve", EXAMPLE), "exactly one of --key", code=2)
    assert tree_snapshot(ws) == before


def test_a_detached_ssh_keygen_signature_counts(ws, run, tmp_path):
    statement = run("request", "statement", EXAMPLE, "--principal", "hachioji-takahashi", check=True).stdout
    (tmp_path / "statement").write_text(statement)
    keyfile = tmp_path / "k"
    shutil.copy(key("132012"), keyfile)
    keyfile.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keyfile), "-n", APPROVAL_NAMESPACE,
                    str(tmp_path / "statement")], check=True)
    # Signed by Hachioji's approver, presented as Chiyoda's: refused.
    refused(run("request", "approve", EXAMPLE, "--signature", str(tmp_path / "statement.sig"), "--principal",
                "chiyoda-suzuki"), "approves for 131016")
    run("request", "approve", EXAMPLE, "--signature", str(tmp_path / "statement.sig"), "--principal",
        "hachioji-takahashi", check=True)
    run(*approve_args(EXAMPLE, "platform"), check=True)
    run("request", "apply", EXAMPLE, check=True)
    proof = json.loads(run("history", "verify", "--format", "json", check=True).stdout)
    signed = [a for a in proof["approvals"] if a["status"] == "verified" and a["request"] == "hachioji-juki"]
    assert [(a["principal"], a["role"]) for a in signed] == [("hachioji-takahashi", "municipality"), ("yamada-taro", "platform")]
    # ... and ssh-keygen agrees, by hand.
    seq = signed[0]["seq"]
    run("history", "signature", str(seq), "--out", str(tmp_path / "export"), check=True)
    verdict = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "export/allowed_signers"), "-I",
                              "signer", "-n", APPROVAL_NAMESPACE, "-s", str(tmp_path / "export/statement.sig")],
                             stdin=open(tmp_path / "export/statement", "rb"), capture_output=True, text=True)
    assert verdict.returncode == 0 and "Good" in verdict.stdout


def test_a_signature_for_another_version_is_worthless(ws, run, tmp_path):
    old = digest_of(run, EXAMPLE)
    run(*approve_args(EXAMPLE, "platform"), check=True)
    entry = json.loads((ws / "tenants/history.jsonl").read_text().splitlines()[-1])
    path = ws / EXAMPLE
    path.write_text(path.read_text().replace("prefixLength: 24", "prefixLength: 23"))
    new = digest_of(run, EXAMPLE)
    assert new != old
    (tmp_path / "old.sig").write_text(entry["data"]["signature"])
    refused(run("request", "approve", EXAMPLE, "--signature", str(tmp_path / "old.sig"), "--principal", "yamada-taro"),
            "is not yamada-taro's approval of this request")
    # Replayed by hand into the history for the new digest: history verify names the entry.
    forge(ws, "request.approved", {**entry["data"], "digest": new})
    refused(run("history", "verify"), "GC604", "signature does not verify")
    refused(run("request", "apply", EXAMPLE), "GC604")


def test_a_forged_approval_with_fixed_anchors_is_caught(ws, run):
    """Someone who can write every file appends a correctly hashed approval and moves the
    address plan's head: the hash chain is satisfied, the signature is not."""
    digest = digest_of(run, EXAMPLE)
    mallory = sshsig.load_private_key((SAMPLE_KEYS / "asuka-sato").read_bytes())   # a vendor's key
    for role, code, principal, name in (("platform", None, "yamada-taro", "山田 太郎"),
                                        ("municipality", "132012", "hachioji-takahashi", "八王子市 情報管理課 高橋")):
        statement = approval_statement(request="hachioji-juki", digest=digest, role=role, municipality=code,
                                       principal=principal)
        data = {"request": "hachioji-juki", "digest": digest, "role": role, "by": name, "principal": principal,
                "signature": sshsig.sign(statement, mallory, APPROVAL_NAMESPACE), "signedBy": "key"}
        if code:
            data["municipality"] = code
        forge(ws, "request.approved", data)
    refused(run("history", "verify"), "GC604", "is not declared for yamada-taro")
    refused(run("validate"), "GC604")
    refused(run("request", "apply", EXAMPLE), "GC604")


def test_a_typed_name_appended_by_hand_counts_for_nothing(ws, run):
    digest = digest_of(run, EXAMPLE)
    forge(ws, "request.approved", {"request": "hachioji-juki", "digest": digest, "role": "platform", "by": "山田 太郎"})
    refused(run("history", "verify"), "GC604", "unsigned approval recorded after approvals had to be signed")


def test_legacy_unsigned_approvals_are_reported_not_counted(ws, run):
    # The sample history as committed before approvals were signed (tests/tenants/legacy/); its
    # exceptions were never recorded, so they are set aside here (test_signed_decisions records them).
    legacy = Path(__file__).parent / "legacy"
    for sub in ("active", "requests/applied"):
        shutil.rmtree(ws / "tenants" / sub)
        shutil.copytree(legacy / sub, ws / "tenants" / sub)
    for name in ("history.jsonl", "ipam.yaml"):
        shutil.copy(legacy / name, ws / "tenants" / name)
    (ws / "tenants/network-exceptions.yaml").unlink()
    proc = run("history", "verify", check=True)
    assert "12 unsigned (legacy, proving nothing)" in proc.stdout
    assert "12 approvals are unsigned" in proc.stderr and "#1, #2, #4" in proc.stderr
    proof = json.loads(run("history", "verify", "--format", "json", check=True).stdout)
    assert "entry #1: approval of chiyoda-juki (platform) by '山田 太郎 (platform)' is unsigned" in proof["warnings"][0]


def test_principals_are_governed(ws, run):
    path = ws / "tenants/principals.yaml"
    original = path.read_text()
    # An edit that is not recorded: every write refuses the workspace, nothing is written.
    path.write_text(original.replace("role: security", "role: platform"))
    before = tree_snapshot(ws)
    refused(run(*approve_args(EXAMPLE, "platform")), "GC602", "was edited after history entry #1 recorded it")
    refused(run("principals", "record", "--key", key("security-mori")), "security principal: only a platform principal")
    assert tree_snapshot(ws) == before
    # The platform records a change that removes Hachioji's approver after they approved.
    path.write_text(original)
    run(*approve_args(EXAMPLE, "132012"), check=True)
    run(*approve_args(EXAMPLE, "platform"), check=True)
    people = original.split("    - id: ")
    path.write_text("    - id: ".join(p for p in people if not p.startswith("hachioji-takahashi")))
    proc = run("principals", "record", "--key", key("kobayashi-aiko"), check=True)
    assert "signed by kobayashi-aiko" in proc.stdout
    refused(run("request", "apply", EXAMPLE), "municipality 132012", "hachioji-takahashi is no longer declared")
    assert "principals recorded 2 time(s)" in run("history", "verify", check=True).stdout


def test_an_invalid_principals_document_is_not_recorded(ws, run):
    path = ws / "tenants/principals.yaml"
    text = path.read_text()
    yamada = text.split("    - id: yamada-taro\n")[1].split("    - id: ")[0]
    key_line = [line for line in yamada.splitlines() if "ssh-ed25519" in line][0]
    # Chiyoda's approver declares the platform lead's key as theirs, and a municipality that does not exist.
    text = text.replace("      municipalities: [\"131016\"]\n", "      municipalities: [\"131016\", \"999999\"]\n")
    text = text.replace("    - id: hachioji-takahashi", "    - id: hachioji-takahashi", 1)
    chiyoda = text.split("    - id: chiyoda-suzuki\n")[1].split("    - id: ")[0]
    text = text.replace(chiyoda, chiyoda + key_line + "\n", 1)
    path.write_text(text)
    proc = run("principals", "record", "--key", key("platform"))
    refused(proc, "GC606", "also declared for", "GC607", "municipality 999999 is not onboarded")


@pytest.mark.parametrize("written", [[], ["132012", "131016"]], ids=["none", "not-the-requests"])
def test_an_apply_entry_cannot_choose_whose_approval_it_needed(ws, run, monkeypatch, written):
    """Found in review: the replay asked for the approvals of the municipalities the apply entry
    itself listed. Someone who writes the workspace with the product's own code, but lists other
    municipalities, applies with the platform's approval alone; the chain must say so."""
    from govcloud.tenants import approvals, workflow

    run(*approve_args(EXAMPLE, "platform"), check=True)
    if written:
        run(*approve_args(EXAMPLE, "132012"), check=True)
    real_count, real_with_event = approvals.count, history.History.with_event
    monkeypatch.setattr(workflow, "tally", lambda req, digest, hist: real_count(
        req.metadata.name, digest, [c for c in written if c in req.spec.municipalities], workflow.proof(hist), workflow.proof(hist).current))

    def with_event(self, event, actor, data):
        if event == "request.applied":
            data = {**data, "municipalities": written}
        return real_with_event(self, event, actor, data)

    monkeypatch.setattr(history.History, "with_event", with_event)
    monkeypatch.chdir(ws)
    workflow.apply(Workspace(ws), ws / EXAMPLE, actor="mallory")
    monkeypatch.undo()
    if written:
        refused(run("history", "verify"), "GC604", "but the request serves ['132012']",
                "missing municipality 131016")
    else:
        refused(run("history", "verify"), "GC604", "without naming the municipalities")
    refused(run("validate"), "GC604")


def test_removing_a_key_voids_what_it_signed_and_was_not_applied(ws, run, tmp_path):
    """A key is removed because it leaked: its approvals no longer count (found in review: only
    the principal's role and scope were checked again at apply time)."""
    run(*approve_args(EXAMPLE, "132012"), check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "new")], check=True)
    path = ws / "tenants/principals.yaml"
    old = (SAMPLE_KEYS / "hachioji-takahashi.pub").read_text().split()[1]
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, (tmp_path / "new.pub").read_text().split()[1]))
    # A new key for a municipality's approver grants approval power: four eyes (docs/trust.md).
    refused(run("principals", "record", "--key", key("platform")), "needs a second platform principal")
    run("principals", "record", "--key", key("platform"), "--key", key("platform2"), check=True)
    run(*approve_args(EXAMPLE, "platform"), check=True)
    refused(run("request", "apply", EXAMPLE), "municipality 132012", "that signed it is no longer declared")
    # The approver signs again with the new key: now it counts.
    run("request", "approve", EXAMPLE, "--key", str(tmp_path / "new"), check=True)
    run("request", "apply", EXAMPLE, check=True)
    run("history", "verify", check=True)


def test_a_signed_principals_document_with_duplicates_is_refused_by_the_replay(ws, run):
    """Someone with a platform key signs a document the record command would refuse (two
    principals with one id) and appends it by hand: the replay refuses it too."""
    from govcloud.tenants.models import Principals
    from govcloud.tenants.principals import (PRINCIPALS_NAMESPACE, document_digest, document_json,
                                             principals_statement)
    from govcloud.yamlio import load_file

    doc, _ = load_file(ws / "tenants/principals.yaml")
    people = doc["spec"]["principals"]
    twin = dict(next(p for p in people if p["id"] == "hachioji-takahashi"))
    twin.update(displayName="別人", email="other@city.hachioji.example", sshKeys=[], oidcSubjects=[],
                municipalities=["131016"])
    people.append(twin)
    model = Principals.model_validate(doc)
    digest = document_digest(model)
    platform = sshsig.load_private_key((SAMPLE_KEYS / "yamada-taro").read_bytes())
    signature = sshsig.sign(principals_statement(digest=digest, principal="yamada-taro"), platform,
                            PRINCIPALS_NAMESPACE)
    forge(ws, "principals.recorded", {"digest": digest, "document": document_json(model), "principal": "yamada-taro",
                                      "signature": signature})
    refused(run("history", "verify"), "GC604", "principal id hachioji-takahashi is declared twice")


def test_an_approver_withdraws_their_approval_and_it_stops_counting(ws, run, tmp_path):
    run(*approve_args(EXAMPLE, "132012"), check=True)
    run(*approve_args(EXAMPLE, "platform"), check=True)
    # Only the approver can withdraw it; the platform's key cannot withdraw Hachioji's approval.
    refused(run("request", "withdraw-approval", EXAMPLE, "--key", key("kobayashi-aiko")),
            "kobayashi-aiko has no approval of this content")
    proc = run("request", "withdraw-approval", EXAMPLE, "--key", key("132012"), "--reason", "住所の誤り", check=True)
    assert "withdrew hachioji-takahashi's approval" in proc.stdout
    refused(run("request", "withdraw-approval", EXAMPLE, "--key", key("132012")), "has no approval of this content")
    status = run("request", "status", EXAMPLE)
    assert status.returncode == 1 and "withdrawn by its approver" in status.stdout
    refused(run("request", "apply", EXAMPLE), "municipality 132012")
    assert "withdrawn by #" in run("history", "verify", check=True).stdout
    proof = json.loads(run("history", "verify", "--format", "json", check=True).stdout)
    assert [a["withdrawnBy"] is not None for a in proof["approvals"] if a["principal"] == "hachioji-takahashi"] == [True]
    # A detached signature over the printed statement works the same way: approve again, withdraw again.
    run(*approve_args(EXAMPLE, "132012"), check=True)
    statement = run("request", "statement", EXAMPLE, "--principal", "hachioji-takahashi", "--withdrawal", check=True).stdout
    (tmp_path / "w").write_text(statement)
    keyfile = tmp_path / "k"
    shutil.copy(key("132012"), keyfile)
    keyfile.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keyfile), "-n", APPROVAL_NAMESPACE, str(tmp_path / "w")],
                   check=True, capture_output=True)
    run("request", "withdraw-approval", EXAMPLE, "--signature", str(tmp_path / "w.sig"),
        "--principal", "hachioji-takahashi", check=True)
    # ... and ssh-keygen checks the recorded withdrawal by hand.
    seq = len((ws / "tenants/history.jsonl").read_text().splitlines())
    run("history", "signature", str(seq), "--out", str(tmp_path / "export"), check=True)
    verdict = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "export/allowed_signers"), "-I",
                              "signer", "-n", APPROVAL_NAMESPACE, "-s", str(tmp_path / "export/statement.sig")],
                             stdin=open(tmp_path / "export/statement", "rb"), capture_output=True, text=True)
    assert verdict.returncode == 0 and "Good" in verdict.stdout
    refused(run("request", "apply", EXAMPLE), "municipality 132012")
    # Approve once more and apply: the withdrawals left a verifiable chain.
    run(*approve_args(EXAMPLE, "132012"), check=True)
    run("request", "apply", EXAMPLE, check=True)
    run("history", "verify", check=True)


def test_a_forged_withdrawal_is_caught(ws, run):
    """A withdrawal signed by someone else (here the vendor's key) breaks the chain: a forged
    withdrawal could otherwise void a real approval."""
    from govcloud.tenants.principals import withdrawal_statement

    run(*approve_args(EXAMPLE, "132012"), check=True)
    seq = len((ws / "tenants/history.jsonl").read_text().splitlines())
    digest = digest_of(run, EXAMPLE)
    mallory = sshsig.load_private_key((SAMPLE_KEYS / "asuka-sato").read_bytes())
    statement = withdrawal_statement(request="hachioji-juki", digest=digest, principal="hachioji-takahashi", withdraws=seq)
    forge(ws, "request.approval-withdrawn", {"request": "hachioji-juki", "digest": digest, "withdraws": seq,
                                             "by": "八王子市 情報管理課 高橋", "principal": "hachioji-takahashi",
                                             "signedBy": "key",
                                             "signature": sshsig.sign(statement, mallory, APPROVAL_NAMESPACE)})
    refused(run("history", "verify"), "GC604", "withdrawal of an approval of hachioji-juki does not verify",
            "is not declared for hachioji-takahashi")



def test_a_withdrawal_works_on_content_that_no_longer_validates(ws, run):
    """Found in review: withdrawing (and so the portal's reject) re-validated the request, so an
    approval of content that had since become invalid could not be taken back."""
    run(*approve_args(EXAMPLE, "132012"), check=True)
    (ws / "tenants/vendors/asuka-systems.yaml").unlink()           # the vendor is gone
    assert run("request", "validate", EXAMPLE).returncode == 1
    # A reason that is not text (a stray byte on the command line) is refused, not a traceback.
    refused(run("request", "withdraw-approval", EXAMPLE, "--key", key("132012"), "--reason", "\udcff"),
            "the reason is not text")
    run("request", "withdraw-approval", EXAMPLE, "--key", key("132012"), check=True)


def test_a_second_apply_of_one_name_breaks_the_chain(ws, run):
    run(*approve_args(EXAMPLE, "platform"), check=True)
    run(*approve_args(EXAMPLE, "132012"), check=True)
    run("request", "apply", EXAMPLE, check=True)
    entry = json.loads((ws / "tenants/history.jsonl").read_text().splitlines()[-1])
    forge(ws, "request.applied", entry["data"])
    refused(run("history", "verify"), "GC604", "was applied already")

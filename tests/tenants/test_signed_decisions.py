"""Nothing counts unless the right people signed it (issue 19): waivers and network exceptions are
recorded, signed decisions; a signature is never replayed; the directory changes under four eyes
and is never rolled back. Each test is an attack tried with plain file edits and the keys an
attacker could hold (a vendor's, one platform insider's), and must fail; docs/trust.md lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govcloud import sshsig
from govcloud.diagnostics import DiagnosticError
from govcloud.tenants import history
from govcloud.tenants.principals import (
    GOVERNED_NAMESPACE,
    PRINCIPALS_NAMESPACE,
    Directory,
    document_json,
    governed_statement,
    principals_statement,
)
from govcloud.tenants.governed import digest_of, read_body
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace
from tests.conftest import REPO, SAMPLE_KEYS, approve_args, key, tree_snapshot
from tests.tenants.test_approvals import EXAMPLE, forge, refused

EXCEPTIONS = "tenants/network-exceptions.yaml"
# A hostile vendor's exception: from the internet-zone tenant to Chiyoda's My Number tenant, on
# ssh, "approved" by a typed name (the vendor's own person).
SSH_INTO_MY_NUMBER = """    - id: vendor-maintenance
      from: {tenant: 271004-denshi-shinsei-prod}
      to: {tenant: 131016-juki-prod}
      protocol: tcp
      port: 22
      via: inspection
      justification: 保守作業のための一時的な接続
      approver: 佐藤 花子
      expires: 2099-12-31
"""


def keyed(who: str) -> sshsig.PrivateKey:
    return sshsig.load_private_key(Path(key(who)).read_bytes())


def recorded_keys(*who: str) -> list[str]:
    return [arg for w in who for arg in ("--key", key(w))]


def all_refuse(run, *needles: str) -> None:
    """Every command that reads the decisions, and history verify, exits 1 naming why."""
    for args in (("validate",), ("history", "verify"), ("network", "verify"),
                 ("network", "explain", "--from", "271004-denshi-shinsei-prod", "--to", "131016-juki-prod", "--port", "22")):
        refused(run(*args), *needles)


# --- 1. network exceptions -------------------------------------------------------------------------------


def test_an_exception_appended_under_a_vendors_typed_name_opens_nothing(ws, run):
    path = ws / EXCEPTIONS
    path.write_text(path.read_text() + SSH_INTO_MY_NUMBER)
    all_refuse(run, "GC608", "was edited after history entry")
    # The vendor cannot record it: vendors never sign, and their key is no platform key.
    before = tree_snapshot(ws)
    refused(run("exceptions", "record", *recorded_keys("asuka-sato", "yamada-taro")), "vendors never sign decisions")
    # One platform insider with a colleague is not enough: Chiyoda, Osaka and security must sign.
    proc = run("exceptions", "record", *recorded_keys("yamada-taro", "kobayashi-aiko"))
    refused(proc, "GC609", "exception vendor-maintenance", "municipality 131016", "municipality 271004", "security")
    assert tree_snapshot(ws) == before


def test_changing_an_approved_exceptions_port_counts_for_nothing(ws, run):
    path = ws / EXCEPTIONS
    path.write_text(path.read_text().replace("port: 443", "port: 22", 1))
    all_refuse(run, "GC608")


def test_a_forged_record_signed_with_a_vendors_key_is_refused(ws, run):
    """Someone with write access appends a well-hashed document.recorded entry carrying the edited
    file, signed with keys they hold (a vendor's, and the platform insider's own twice)."""
    path = ws / EXCEPTIONS
    path.write_text(path.read_text() + SSH_INTO_MY_NUMBER)
    body = read_body(path)
    saved_history, saved_plan = (ws / "tenants/history.jsonl").read_bytes(), (ws / "tenants/ipam.yaml").read_bytes()
    hist = history.load(ws / "tenants/history.jsonl")
    previous = [e for e in hist.entries if e["event"] == "document.recorded"][-1]["data"]
    digest = digest_of(body)

    def signed(who: str, as_: str) -> dict:
        message = governed_statement(kind="NetworkExceptions", digest=digest, version=previous["version"] + 1,
                                     replaces=previous["digest"], principal=as_)
        return {"principal": as_, "signature": sshsig.sign(message, keyed(who), GOVERNED_NAMESPACE)}

    data = {"kind": "NetworkExceptions", "digest": digest, "document": body, "version": previous["version"] + 1,
            "replaces": previous["digest"], "signatures": [signed("yamada-taro", "yamada-taro"),
                                                           signed("asuka-sato", "chiyoda-suzuki")]}
    forge(ws, "document.recorded", data)
    refused(run("history", "verify"), "GC604", "is not declared for chiyoda-suzuki")
    refused(run("network", "verify"), "GC604")
    (ws / "tenants/history.jsonl").write_bytes(saved_history)
    (ws / "tenants/ipam.yaml").write_bytes(saved_plan)
    forge(ws, "document.recorded", {**data, "signatures": [signed("yamada-taro", "yamada-taro"),
                                                           signed("asuka-sato", "asuka-sato")]})
    refused(run("history", "verify"), "GC604", "vendors never sign decisions")


def test_a_recorded_exception_signed_by_everyone_it_needs_opens_the_path(ws, run):
    path = ws / EXCEPTIONS
    path.write_text(path.read_text() + SSH_INTO_MY_NUMBER)
    run("exceptions", "record", *recorded_keys("yamada-taro", "chiyoda-suzuki", "osaka-kimura", "security-mori"),
        check=True)
    run("validate", check=True)
    run("history", "verify", check=True)
    explained = run("network", "explain", "--from", "271004-denshi-shinsei-prod", "--to", "131016-juki-prod",
                    "--port", "22", check=True)
    assert "vendor-maintenance" in explained.stdout
    # The next change needs only its own new item's signers: the recorded ones stay vouched for.
    path.write_text(path.read_text().replace("保守作業のための一時的な接続", "保守作業のための一時的な接続 (延長)"))
    refused(run("exceptions", "record", *recorded_keys("yamada-taro", "chiyoda-suzuki")), "GC609", "municipality 271004")
    # A copy of the first record appended again is a replay: it names a version no longer in force.
    hist = history.load(ws / "tenants/history.jsonl")
    first = [e for e in hist.entries if e["event"] == "document.recorded"][0]
    path.write_text(json.dumps(first["data"]["document"], ensure_ascii=False))   # the old file content (JSON is YAML)
    forge(ws, "document.recorded", first["data"])
    refused(run("history", "verify"), "GC604")


# --- 1. waivers ------------------------------------------------------------------------------------------------


def write_waivers(ws: Path, *items: str) -> Path:
    (ws / "policies").mkdir(exist_ok=True)
    path = ws / "policies/waivers.yaml"
    path.write_text("apiVersion: govcloud/v1\nkind: Waivers\nmetadata: {name: waivers}\nspec:\n  waivers:\n"
                    + "".join(items), encoding="utf-8")
    return path


FLEET_WIDE_KMS = ("    - {control: GC-AWS-KMS-1, tenant: '*', reason: 鍵のローテーションを全体で停止する, "
                  "approver: 佐藤 花子, expires: 2099-12-31}\n")
UNDECLARED = ("    - {control: GC-AWS-KMS-1, tenant: '*', reason: 鍵のローテーションを全体で停止する, "
              "approver: 誰でもない人, expires: 2099-12-31}\n")


@pytest.mark.parametrize("item", [FLEET_WIDE_KMS, UNDECLARED], ids=["vendor-name", "undeclared-name"])
def test_a_fleet_wide_waiver_under_a_typed_name_waives_nothing(ws, run, item):
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import load_waivers

    import datetime as dt
    path = write_waivers(ws, item)
    with pytest.raises(DiagnosticError) as caught:                 # what `check` and the deploy gate read
        load_waivers(path, load_controls(), dt.date(2026, 4, 1))
    assert [d.code for d in caught.value.diagnostics] == ["GC608"]
    refused(run("validate"), "GC608", "policies/waivers.yaml is not recorded")
    refused(run("history", "verify"), "GC608")
    # Fleet-wide is two platform principals and the security team, never one insider and a friend.
    refused(run("waivers", "record", *recorded_keys("yamada-taro", "chiyoda-suzuki")), "GC609",
            "2 distinct platform principals", "security")
    run("waivers", "record", *recorded_keys("yamada-taro", "kobayashi-aiko", "security-mori"), check=True)
    active, _ = load_waivers(path, load_controls(), dt.date(2026, 4, 1))
    assert [w.control for w in active] == ["GC-AWS-KMS-1"]
    # ... and an edit after the record (extending it to a non-waivable control) is refused again.
    path.write_text(path.read_text().replace("2099-12-31", "2199-12-31"))
    with pytest.raises(DiagnosticError):
        load_waivers(path, load_controls(), dt.date(2026, 4, 1))


def test_a_waiver_for_one_tenant_needs_its_municipality_and_security_in_my_number(ws, run):
    path = write_waivers(ws, "    - {control: GC-AWS-KMS-1, tenant: 131016-juki-prod, reason: 移行期間中のため一時的に許容する, "
                             "approver: x, expires: 2099-12-31}\n")
    refused(run("waivers", "record", *recorded_keys("yamada-taro", "kobayashi-aiko")), "GC609", "municipality 131016")
    run("waivers", "record", *recorded_keys("yamada-taro", "chiyoda-suzuki", "security-mori"), check=True)
    run("validate", check=True)
    assert path.exists()


# --- 3. replays -------------------------------------------------------------------------------------------------


def _approve_and_withdraw(ws, run) -> dict:
    run(*approve_args(EXAMPLE, "132012"), check=True)
    run(*approve_args(EXAMPLE, "platform"), check=True)
    run("request", "withdraw-approval", EXAMPLE, "--key", key("132012"), check=True)
    hist = history.load(ws / "tenants/history.jsonl")
    return next(e for e in hist.entries if e["event"] == "request.approved" and e["data"]["request"] == "hachioji-juki"
                and e["data"]["principal"] == "hachioji-takahashi")


def test_a_withdrawn_approval_copied_to_the_end_does_not_count_again(ws, run):
    withdrawn = _approve_and_withdraw(ws, run)
    forge(ws, "request.approved", withdrawn["data"])          # new seq, re-hashed, head moved in ipam.yaml
    before = tree_snapshot(ws)
    refused(run("request", "apply", EXAMPLE), "GC604", "a signature counts once")
    refused(run("history", "verify"), "GC604")
    assert tree_snapshot(ws) == before


def test_a_signature_over_a_head_before_the_withdrawal_does_not_count(ws, run):
    """The approver signed twice before withdrawing (e.g. a detached signature kept back): the
    second statement differs (another head), but it was signed before the withdrawal."""
    from govcloud.tenants.principals import APPROVAL_NAMESPACE, approval_statement

    first = history.load(ws / "tenants/history.jsonl").entries[-1]      # the head before any approval
    run(*approve_args(EXAMPLE, "platform"), check=True)
    run(*approve_args(EXAMPLE, "132012"), check=True)
    data = dict(json.loads(json.dumps(history.load(ws / "tenants/history.jsonl").entries[-1]["data"])))
    run("request", "withdraw-approval", EXAMPLE, "--key", key("132012"), check=True)
    statement = approval_statement(request=data["request"], digest=data["digest"], role="municipality",
                                   municipality="132012", principal="hachioji-takahashi", head=first["hash"])
    forge(ws, "request.approved", {**data, "head": first["hash"],
                                   "signature": sshsig.sign(statement, keyed("132012"), APPROVAL_NAMESPACE)})
    refused(run("request", "apply", EXAMPLE), "GC604", "signed before its signer withdrew")


def test_approving_again_after_a_withdrawal_is_a_new_signature_and_counts(ws, run):
    withdrawn = _approve_and_withdraw(ws, run)
    run(*approve_args(EXAMPLE, "132012"), check=True)
    hist = history.load(ws / "tenants/history.jsonl")
    again = hist.entries[-1]["data"]
    assert again["signature"] != withdrawn["data"]["signature"] and again["head"] != withdrawn["data"]["head"]
    run("request", "apply", EXAMPLE, check=True)
    run("history", "verify", check=True)


# --- 4. the directory -------------------------------------------------------------------------------------------


def _principals_text(ws: Path) -> str:
    return (ws / "tenants/principals.yaml").read_text()


def test_a_copy_of_an_older_principals_record_does_not_resurrect_a_revoked_key(ws, run):
    path = ws / "tenants/principals.yaml"
    original = path.read_text()
    hachioji_key = [line for line in original.split("    - id: hachioji-takahashi\n")[1].splitlines()
                    if "ssh-ed25519" in line][0]
    path.write_text(original.replace("      sshKeys:\n" + hachioji_key + "\n", "", 1))   # compromised: revoke it
    assert path.read_text() != original
    run("principals", "record", "--key", key("platform"), check=True)
    refused(run(*approve_args(EXAMPLE, "132012")), "not declared for any principal")
    hist = history.load(ws / "tenants/history.jsonl")
    old = [e for e in hist.entries if e["event"] == "principals.recorded"][0]
    path.write_text(original)
    forge(ws, "principals.recorded", old["data"])
    refused(run("history", "verify"), "GC604", "principals.recorded")
    refused(run(*approve_args(EXAMPLE, "132012")), "GC604")


def test_one_platform_insider_cannot_fill_both_slots(ws, run, tmp_path):
    """Yamada declares a 'Hachioji approver' whose key Yamada holds, then approves as platform and
    as that municipality."""
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mallory", "-f", str(tmp_path / "m")],
                   check=True)
    public = (tmp_path / "m.pub").read_text().strip()
    path = ws / "tenants/principals.yaml"
    original = path.read_text()
    sock = ("    - id: hachioji-yamada\n      displayName: 八王子市 山田\n      email: y@city.hachioji.example\n"
            "      role: municipality\n      municipalities: [\"132012\"]\n      sshKeys:\n        - " + public + "\n")
    path.write_text(original.replace("    - id: asuka-sato\n", sock + "    - id: asuka-sato\n"))
    before = tree_snapshot(ws)
    refused(run("principals", "record", "--key", key("platform")), "needs a second platform principal or "
            "municipality 132012's current approver")
    assert tree_snapshot(ws) == before
    # Written by hand with a correct single signature: the replay refuses it all the same.
    saved = {name: (ws / "tenants" / name).read_bytes() for name in ("history.jsonl", "ipam.yaml")}

    def restore() -> None:
        for name, data in saved.items():
            (ws / "tenants" / name).write_bytes(data)

    hist = history.load(ws / "tenants/history.jsonl")
    reg = load_registry(Workspace(ws))
    new = Directory.build(reg.principals)
    current = [e for e in hist.entries if e["event"] == "principals.recorded"][-1]["data"]["digest"]
    statement = principals_statement(digest=new.digest, principal="yamada-taro", version=2, replaces=current)
    forge(ws, "principals.recorded", {"digest": new.digest, "document": document_json(reg.principals), "version": 2,
                                      "replaces": current, "signatures": [
                                          {"principal": "yamada-taro",
                                           "signature": sshsig.sign(statement, keyed("platform"), PRINCIPALS_NAMESPACE)}]})
    refused(run("history", "verify"), "GC604", "needs a second platform principal")
    # In the legacy (v1) format: refused as a downgrade after v2 records (and, in a legacy chain,
    # by the same four-eyes rule: approvals.check_principals_entry applies it to both forms).
    restore()
    v1 = principals_statement(digest=new.digest, principal="yamada-taro")
    forge(ws, "principals.recorded", {"digest": new.digest, "document": document_json(reg.principals),
                                      "principal": "yamada-taro",
                                      "signature": sshsig.sign(v1, keyed("platform"), PRINCIPALS_NAMESPACE)})
    refused(run("history", "verify"), "GC604", "a v1 record (naming no version it replaces) after v2 records")
    # With a second platform principal (four eyes), the change is recorded.
    restore()
    run("principals", "record", *recorded_keys("platform", "platform2"), check=True)


# --- old history stays readable -----------------------------------------------------------------------------------


LEGACY = Path(__file__).parent / "legacy"


def test_a_history_from_before_signed_decisions_still_verifies(ws, run):
    """The history committed before this change (unsigned approvals, a v1 principals record) is
    verified as before, reported as legacy; its unrecorded exceptions are refused until recorded."""
    import shutil

    for sub in ("active", "requests/applied"):
        shutil.rmtree(ws / "tenants" / sub)
        shutil.copytree(LEGACY / sub, ws / "tenants" / sub)
    for name in ("history.jsonl", "ipam.yaml"):
        shutil.copy(LEGACY / name, ws / "tenants" / name)
    refused(run("history", "verify"), "GC608", "is not recorded in the history")
    run("exceptions", "record", *recorded_keys("platform", "131016", "271004", "011002", "security-mori"), check=True)
    proc = run("history", "verify", check=True)
    assert "12 unsigned (legacy, proving nothing)" in proc.stdout
    run("validate", check=True)
    # The insider's v1-format record granting approval power with one signature is refused there too.
    path = ws / "tenants/principals.yaml"
    path.write_text(path.read_text().replace("      municipalities: [\"131016\"]\n",
                                             "      municipalities: [\"131016\", \"132012\"]\n", 1))
    reg = load_registry(Workspace(ws))
    new = Directory.build(reg.principals)
    v1 = principals_statement(digest=new.digest, principal="yamada-taro")
    forge(ws, "principals.recorded", {"digest": new.digest, "document": document_json(reg.principals),
                                      "principal": "yamada-taro",
                                      "signature": sshsig.sign(v1, keyed("platform"), PRINCIPALS_NAMESPACE)})
    refused(run("history", "verify"), "GC604", "municipality 132012's current approver")


def test_the_committed_sample_is_signed_end_to_end():
    hist = history.load(REPO / "tenants/history.jsonl")
    from govcloud.tenants.ledger import proof

    replayed = proof(hist)
    assert not replayed.problems and not replayed.warnings
    assert [v.kind for v in replayed.documents["NetworkExceptions"]] == ["NetworkExceptions"]
    assert all(a.status == "verified" and a.head_seq for a in replayed.approvals)
    assert SAMPLE_KEYS.exists()

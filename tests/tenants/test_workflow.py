import json
import os
import subprocess
from pathlib import Path

import yaml

from tests.conftest import approve_args, govcloud_bin, key, tree_snapshot

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"


def approve_all(run, path, munis=("132012",)):
    run(*approve_args(path, "platform"), check=True)
    for code in munis:
        run(*approve_args(path, code), check=True)


def test_apply_refuses_without_both_approvals(ws: Path, run):
    before = tree_snapshot(ws)
    proc = run("request", "apply", EXAMPLE)
    assert proc.returncode == 1 and "not approved by: platform, municipality 132012" in proc.stderr
    assert tree_snapshot(ws) == before
    run(*approve_args(EXAMPLE, "platform"), check=True)
    proc = run("request", "apply", EXAMPLE)
    assert proc.returncode == 1 and "municipality 132012" in proc.stderr and "platform," not in proc.stderr


def test_shared_request_needs_every_municipality(ws: Path, run):
    path = "tenants/requests/examples/minato-kaigo.yaml"
    run(*approve_args(path, "platform"), check=True)
    proc = run(*approve_args(path, "011002"))          # Sapporo's approver: not a municipality of this request
    assert proc.returncode == 1 and "serves 131016, 141003, 143014" in proc.stderr
    proc = run(*approve_args(path, "131016", "--municipality", "141003"))   # Chiyoda's approver for Yokohama
    assert proc.returncode == 1 and "not for 141003" in proc.stderr
    for code in ("131016", "141003"):
        run(*approve_args(path, code), check=True)
    proc = run("request", "apply", path)
    assert proc.returncode == 1 and "municipality 143014" in proc.stderr
    run(*approve_args(path, "143014"), check=True)
    run("request", "apply", path, check=True)
    assert (ws / "tenants/active/minato-data-kaigo-prod.yaml").exists()


def test_one_person_approves_once(ws: Path, run):
    run(*approve_args(EXAMPLE, "platform"), check=True)
    proc = run(*approve_args(EXAMPLE, "platform"))
    assert proc.returncode == 1 and "two approvals never come from one person" in proc.stderr
    proc = run(*approve_args(EXAMPLE, "platform2"))          # another platform principal: the slot is filled
    assert proc.returncode == 1 and "already has the platform approval" in proc.stderr


def test_editing_an_approved_request_voids_its_approvals(ws: Path, run):
    approve_all(run, EXAMPLE)
    path = ws / EXAMPLE
    path.write_text(path.read_text().replace("prefixLength: 24", "prefixLength: 22"))
    proc = run("request", "apply", EXAMPLE)
    assert proc.returncode == 1 and "not approved by: platform" in proc.stderr


def test_apply_writes_tenants_allocations_and_history(ws: Path, run):
    approve_all(run, EXAMPLE)
    proc = run("request", "apply", EXAMPLE, check=True)
    assert "132012-juki-prod" in proc.stdout
    tenant = yaml.safe_load((ws / "tenants/active/132012-juki-prod.yaml").read_text())
    assert tenant["spec"]["zone"] == "mynumber" and tenant["spec"]["municipalities"] == ["132012"]
    assert tenant["status"]["requestDigest"].startswith("sha256:")
    plan = yaml.safe_load((ws / "tenants/ipam.yaml").read_text())
    allocs = {a["tenant"]: a["cidr"] for a in plan["status"]["allocations"]}
    assert allocs["132012-juki-prod"] == tenant["spec"]["network"]["cidr"]
    assert run("history", "verify").returncode == 0
    assert run("validate").returncode == 0
    # applying again is refused: the tenants exist now
    proc = run("request", "apply", EXAMPLE)
    assert proc.returncode == 1 and "GC211" in proc.stderr
    listing = json.loads(run("tenant", "list", "--format", "json", check=True).stdout)
    assert len(listing) == 10


def test_remove_releases_cidr_and_refuses_when_consumed(ws: Path, run):
    proc = run("tenant", "remove", "131016-juki-prod", "--yes", "--key", key("platform"))
    assert proc.returncode == 1 and "minato-data-kokuho-prod" in proc.stderr
    run("tenant", "remove", "011002-zaimu-prod", "--yes", "--key", key("platform"), check=True)
    plan = yaml.safe_load((ws / "tenants/ipam.yaml").read_text())
    assert "011002-zaimu-prod" not in {a["tenant"] for a in plan["status"]["allocations"]}
    assert not (ws / "tenants/active/011002-zaimu-prod.yaml").exists()
    assert run("history", "verify").returncode == 0 and run("validate").returncode == 0
    assert run("tenant", "remove", "nope", "--yes", "--key", key("platform")).returncode == 1


def test_concurrent_applies_get_non_overlapping_cidrs(ws: Path, run):
    first, second = EXAMPLE, "tenants/requests/examples/chiyoda-kosodate.yaml"
    approve_all(run, first)
    approve_all(run, second, munis=("131016",))
    env = {**os.environ, "GOVCLOUD_ROOT": str(ws), "GOVCLOUD_ACTOR": "t"}
    procs = [subprocess.Popen([govcloud_bin(), "request", "apply", f], cwd=ws, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in (first, second)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(rc == 0 for *_, rc in results), results
    plan = yaml.safe_load((ws / "tenants/ipam.yaml").read_text())
    import ipaddress
    nets = [ipaddress.ip_network(a["cidr"]) for a in plan["status"]["allocations"]]
    assert len(nets) == 11
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert run("history", "verify").returncode == 0 and run("validate").returncode == 0


def test_history_verify_fails_after_edit_or_tail_deletion(ws: Path, run):
    hist = ws / "tenants/history.jsonl"
    original = hist.read_text()
    lines = original.splitlines()
    entry = json.loads(lines[2])                 # an approval (the sample history: principals, approvals, ...)
    entry["data"]["by"] = "someone else"
    hist.write_text("\n".join(lines[:2] + [json.dumps(entry, ensure_ascii=False)] + lines[3:]) + "\n")
    proc = run("history", "verify")
    assert proc.returncode == 1 and "history.jsonl:3:" in proc.stderr and "edited" in proc.stderr
    hist.write_text("\n".join(lines[:-1]) + "\n")
    proc = run("history", "verify")
    assert proc.returncode == 1 and "removed" in proc.stderr
    hist.write_text(original)
    head = json.loads(run("history", "verify", "--format", "json", check=True).stdout)["head"]
    assert run("history", "verify", "--expect-head", head).returncode == 0
    assert run("history", "verify", "--expect-head", "0" * 64).returncode == 1


def test_workspace_document_errors(ws: Path, run):
    muni = ws / "tenants/municipalities/131016.yaml"
    muni.write_text(muni.read_text().replace("name: 千代田区", "name: 中央区").replace("zone: lgwan,", "zone: lgwann,"))
    vendor = ws / "tenants/vendors/minato-data.yaml"
    vendor.write_text(vendor.read_text().replace("1120001054321", "1120001054322"))
    proc = run("validate")
    assert proc.returncode == 1
    err = proc.stderr
    assert "131016.yaml:" in err and "error[GC202]: code 131016 is 千代田区, not 中央区 (field spec.name)" in err
    assert "error[GC207]" in err and "spec.sites[1].zone" in err
    assert "minato-data.yaml:" in err and "error[GC212]" in err


def test_unknown_root_is_refused(tmp_path):
    proc = subprocess.run([govcloud_bin(), "--root", str(tmp_path), "tenant", "list"], capture_output=True, text=True)
    assert proc.returncode == 1 and "not a govcloud workspace" in proc.stderr


def test_recording_an_account_goes_through_the_model_and_the_history(ws: Path, run):
    from govcloud.diagnostics import UsageError
    from govcloud.tenants import workflow
    from govcloud.workspace import Workspace

    workspace = Workspace(ws)
    assert workflow.record_account(workspace, "131016-juki-prod", "123456789013", actor="ops") is True
    assert workflow.record_account(workspace, "131016-juki-prod", "123456789013", actor="ops") is False
    import pytest
    with pytest.raises(UsageError, match="resolve by hand"):
        workflow.record_account(workspace, "131016-juki-prod", "210987654321", actor="ops")
    tenant = yaml.safe_load((ws / "tenants/active/131016-juki-prod.yaml").read_text())
    assert tenant["status"]["accountId"] == "123456789013"
    last = json.loads((ws / "tenants/history.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "tenant.account-recorded" and last["data"] == {"tenant": "131016-juki-prod", "accountId": "123456789013"}
    assert run("validate").returncode == 0 and run("history", "verify").returncode == 0
    assert "account 123456789013" in run("history", "show", check=True).stdout
    # an account id edited by hand no longer matches what the history recorded
    path = ws / "tenants/active/131016-juki-prod.yaml"
    path.write_text(path.read_text().replace("'123456789013'", "'999999999999'"))
    proc = run("validate")
    assert proc.returncode == 1 and "GC602" in proc.stderr and "status.accountId" in proc.stderr


def test_remove_refuses_a_tenant_a_network_exception_names(ws: Path, run):
    before = tree_snapshot(ws)
    proc = run("tenant", "remove", "271004-denshi-shinsei-prod", "--yes", "--key", key("platform"))
    assert proc.returncode == 1 and "osaka-shinsei-to-kokuho-intake" in proc.stderr
    assert tree_snapshot(ws) == before
    assert run("validate").returncode == 0


def test_remove_asks_first_and_dry_run_writes_nothing(ws: Path, run):
    before = tree_snapshot(ws)
    proc = run("tenant", "remove", "011002-zaimu-prod")
    assert proc.returncode == 2 and "--yes" in proc.stderr
    proc = run("tenant", "remove", "011002-zaimu-prod", "--dry-run", check=True)
    assert "would remove tenant 011002-zaimu-prod" in proc.stdout
    assert run("tenant", "remove", "131016-juki-prod", "--dry-run").returncode == 1   # consumed: refused as for real
    assert tree_snapshot(ws) == before


def test_history_show_says_when_it_truncates(ws: Path, run):
    proc = run("history", "show", "--limit", "2", check=True)
    assert "showing the newest 2 of 19 entries" in proc.stderr and "document.recorded" in proc.stdout
    assert "showing" not in run("history", "show", "--limit", "0", check=True).stderr
    assert run("history", "show", "--limit", "-1").returncode == 2


def test_removing_a_tenant_is_signed_by_a_platform_principal(ws: Path, run, tmp_path: Path):
    """A removal deletes a municipality's environment: after principals are recorded it is a
    platform principal's signed statement, not a typed actor (found in review)."""
    before = tree_snapshot(ws)
    proc = run("tenant", "remove", "011002-zaimu-prod", "--yes")
    assert proc.returncode == 1 and "signed by a platform principal" in proc.stderr
    proc = run("tenant", "remove", "011002-zaimu-prod", "--yes", "--key", key("132012"))
    assert proc.returncode == 1 and "only the platform removes tenants" in proc.stderr
    assert tree_snapshot(ws) == before
    # A detached signature over the printed statement, as with a hardware key.
    statement = run("tenant", "remove", "011002-zaimu-prod", "--statement", "--principal", "kobayashi-aiko",
                    check=True).stdout
    (tmp_path / "s").write_text(statement)
    keyfile = tmp_path / "k"
    keyfile.write_bytes(Path(key("kobayashi-aiko")).read_bytes())
    keyfile.chmod(0o600)
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(keyfile), "-n", "govcloud-approval", str(tmp_path / "s")],
                   check=True, capture_output=True)
    run("tenant", "remove", "011002-zaimu-prod", "--yes", "--signature", str(tmp_path / "s.sig"),
        "--principal", "kobayashi-aiko", check=True)
    entry = json.loads((ws / "tenants/history.jsonl").read_text().splitlines()[-1])
    assert entry["event"] == "tenant.removed" and entry["actor"] == "kobayashi-aiko"
    assert entry["data"]["principal"] == "kobayashi-aiko" and entry["data"]["signedBy"] == "key"
    run("history", "verify", check=True)


def test_an_unsigned_removal_appended_by_hand_breaks_the_chain(ws: Path, run):
    from govcloud.tenants import history as history_mod

    hist = history_mod.load(ws / "tenants/history.jsonl")
    hist, _ = hist.with_event("tenant.removed", "mallory",
                              {"tenant": "011002-zaimu-prod", "cidr": "10.0.0.0/24", "request": "sapporo-zaimu"})
    (ws / "tenants/history.jsonl").write_text(hist.render())
    proc = run("history", "verify")
    assert proc.returncode == 1 and "unsigned removal recorded after removals had to be signed" in proc.stderr

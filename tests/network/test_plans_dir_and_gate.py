"""`network verify --plans DIR` proves a folder of plan documents as given (never re-planned), and
the diff gate a CI job runs: exit 1 when a change opens a path into the My Number zone or newly
breaks an invariant, with paths keyed by the zones of both ends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml


def _policy_resource(plan: dict) -> dict:
    return next(r for r in plan["deployment"]["resources"] if "policyDocument" in (r.get("inputs") or {}))


def _open_share(plan_file: Path, segment: str, other: str) -> None:
    """Edit a plan document as a buggy template would: the deployed policy shares two segments."""
    plan = json.loads(plan_file.read_text())
    resource = _policy_resource(plan)
    document = resource["inputs"]["policyDocument"]
    policy = json.loads(document) if isinstance(document, str) else document
    policy["segment-actions"].append({"action": "share", "mode": "attachment-route", "segment": segment,
                                      "share-with": [other]})
    resource["inputs"]["policyDocument"] = json.dumps(policy) if isinstance(document, str) else policy
    plan_file.write_text(json.dumps(plan, indent=1))


def test_verify_plans_dir_proves_the_folder_as_given(run, ws, tmp_path):
    plans = tmp_path / "plans"
    run("plan", "--all", "--out", str(plans), check=True)
    proc = run("network", "verify", "--plans", str(plans), check=True)
    assert proc.stdout.count("ok  ") == 12
    # an edit to the folder is what gets proved: the workspace is not planned again
    _open_share(plans / "network.json", "internet", "lgwan")
    proc = run("network", "verify", "--plans", str(plans), "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (report,) = json.loads(proc.stdout)
    hits = [v for v in report["violations"] if v["invariant"] == "internet-never-reaches-lgwan"]
    assert hits and all(len(v["path"]) >= 2 for v in hits)
    # and the workspace's own plans still verify clean
    assert run("network", "verify").returncode == 0


def test_verify_plans_dir_refuses_what_it_cannot_read(run, tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    proc = run("network", "verify", "--plans", str(plans))
    assert proc.returncode == 1 and "GC903" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    run("plan", "--all", "--out", str(plans), check=True)
    (plans / "tenant-011002-zaimu-prod.json").unlink()
    proc = run("network", "verify", "--plans", str(plans))
    assert proc.returncode == 1 and "no plan for tenant-011002-zaimu-prod" in proc.stderr
    proc = run("network", "verify", "--plans", str(plans), "--compiled", str(tmp_path))
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr
    assert run("network", "verify", "--plans", str(tmp_path / "nowhere")).returncode == 1


def _move(ws: Path, tenant: str, zone: str) -> None:
    path = ws / f"tenants/active/{tenant}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["zone"] = zone
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))


def test_diff_exit_codes(run, ws, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(ws, base)
    proc = run("network", "diff", "--base", str(base), "--format", "json", check=True)   # nothing changed: exit 0
    assert json.loads(proc.stdout)["gate"] == []
    proc = run("diff", "--base", str(base), "--lang", "en")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_moving_a_tenant_into_mynumber_opens_its_paths_anew(run, ws, tmp_path):
    """The zaimu tenant (LGWAN) moves into My Number: its paths keep their names, but every one of
    them now reaches the My Number zone, from another zone too (the LGWAN site) — the change must
    say so and the gate must stop it."""
    base = tmp_path / "base"
    shutil.copytree(ws, base)
    _move(ws, "011002-zaimu-prod", "mynumber")
    proc = run("network", "diff", "--base", str(base), "--format", "json")
    if proc.returncode == 1 and not proc.stdout:       # the move may be refused by validation: say why
        raise AssertionError(proc.stderr)
    out = json.loads(proc.stdout)
    assert proc.returncode == 1 and out["openedIntoMynumber"], out
    assert all(k[3] == "mynumber" and k[2] == "011002-zaimu-prod" for k in out["openedIntoMynumber"])
    assert any(k[1] != "mynumber" for k in out["openedIntoMynumber"]) or out["closed"]
    proc = run("diff", "--base", str(base), "--lang", "en")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ATTENTION" in proc.stdout and "diff gate: new path into the My Number zone" in proc.stderr

"""The checkov adapter: our controls run inside checkov (its own environment) on the exported
plans and fail exactly where govcloud check fails; checkov's own catalogue is reported too."""

import copy
import json
import subprocess
from pathlib import Path

import pytest

from govcloud.policies.checkov_runner import CHECKS_DIR, find_checkov, skips
from govcloud.policies.export import arm_template, terraform_plan, write_exports
from govcloud.policies.catalogue import load_controls
from govcloud.policies.engine import CheckRun, check_plan
from tests.conftest import REPO, with_plan_cache
from tests.plans import sample_plan
from tests.policies.test_check_cli import break_trail_validation
from tests.policies.test_controls import CASES

CHECKOV = find_checkov(REPO)


@pytest.fixture(scope="module")
def checkov() -> str:
    assert CHECKOV, "checkov is not installed: `make setup` creates .venv-checkov"
    return CHECKOV


def native_resource_failures(plan) -> set[tuple[str, str]]:
    run = CheckRun()
    controls = load_controls()
    check_plan(plan, controls, [], run)
    return {(f.control, f.resource) for f in run.findings
            if controls[f.control].scope == "resource" and not f.resource_type.startswith("pulumi:providers:")}


def test_export_shapes():
    tf = terraform_plan(sample_plan("tenant-131016-juki-prod"))
    trail = next(r for r in tf["planned_values"]["root_module"]["resources"] if r["type"] == "aws_cloudtrail")
    assert trail["values"]["is_multi_region_trail"] is True and trail["values"]["enable_log_file_validation"] is True
    recorder = next(r for r in tf["planned_values"]["root_module"]["resources"] if r["type"] == "aws_config_configuration_recorder")
    assert recorder["values"]["recording_group"] == [{"all_supported": True, "include_global_resource_types": True}]
    flow = next(r for r in tf["configuration"]["root_module"]["resources"] if r["type"] == "aws_flow_log")
    assert any(ref.startswith("aws_vpc.") for ref in flow["expressions"]["vpc_id"]["references"])  # graph checks connect
    arm = arm_template(sample_plan("tenant-minato-data-kokuho-prod"))
    vault = next(r for r in arm["resources"] if r["type"] == "Microsoft.KeyVault/vaults")
    assert vault["properties"]["enablePurgeProtection"] is True and vault["location"] == "japaneast"


def test_every_skip_has_a_reason():
    assert skips() and all(len(reason) > 20 for reason in skips().values())


def test_checkov_and_govcloud_check_agree_on_the_fixture_corpus(checkov, tmp_path):
    plans = []
    for control, (stack, mutate) in sorted(CASES.items()):
        plan = copy.deepcopy(sample_plan(stack))
        mutate(plan)
        plan["govcloud"] = {**plan["govcloud"], "stack": f"case-{control}"}
        plans.append(plan)
    for stack in ("tenant-131016-juki-prod", "tenant-minato-data-kokuho-prod", "foundation", "network"):
        plans.append(sample_plan(stack))
    write_exports(plans, tmp_path)
    proc = subprocess.run([checkov, "-d", str(tmp_path), "--framework", "terraform_plan", "arm",
                           "--external-checks-dir", str(CHECKS_DIR), "-o", "json", "--quiet",
                           "--skip-download", "--compact"], capture_output=True, text=True, timeout=600)
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    exported = {}
    for path in tmp_path.glob("*.json"):
        doc = json.loads(path.read_text())
        for r in doc.get("planned_values", {}).get("root_module", {}).get("resources", []):
            exported[(path.name, r["address"])] = json.loads(r["values"]["govcloud_meta"])["urn"]
        for r in doc.get("resources", []):
            exported[(path.name, f"{r['type']}.{r['name']}")] = json.loads(r["govcloud_meta"])["urn"]
    got: dict[str, set] = {}
    for report in reports:
        for failed in report.get("results", {}).get("failed_checks", []):
            name = Path(failed["file_path"]).name
            stack = name.rsplit(".", 2)[0]
            if failed["check_id"].startswith("GC_"):
                got.setdefault(stack, set()).add((failed["check_id"].replace("_", "-"), exported[(name, failed["resource"])]))
    exported_urns = set(exported.values())
    for plan in plans:
        stack = plan["govcloud"]["stack"]
        want = {(c, u) for c, u in native_resource_failures(plan) if u in exported_urns}
        assert got.get(stack, set()) == want, stack


def test_check_runs_checkovs_catalogue_too(checkov, ws, run, sample_plan_cache):
    with_plan_cache(ws, sample_plan_cache)
    run("plan", "--all", "--jobs", "1", check=True)
    break_trail_validation(ws / "build" / "plans")
    proc = run("check", "--checkov", "--lang", "en", "--format", "json", env={"GOVCLOUD_CHECKOV": checkov})
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    by_control = {f["control"]: f for f in findings}
    assert by_control["GC-AWS-CT-2"]["mode"] == "mandatory"
    assert by_control["CKV_AWS_36"]["mode"] == "advisory"          # checkov's own log-validation check agrees
    assert by_control["CKV_AWS_36"]["resource"].endswith("aws:cloudtrail/trail:Trail::baseline-trail")
    assert "checkov:" in proc.stderr

import datetime as dt
import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import key


@pytest.fixture
def planned(ws, planned_sample) -> Path:
    """The plan documents `govcloud plan --all` writes for the sample workspace, in this test's
    workspace: planned once a session, not once a test (the plan command has its own tests)."""
    plans = ws / "build" / "plans"
    shutil.copytree(planned_sample / "build" / "plans", plans)
    return plans


def break_trail_validation(plans: Path) -> None:
    path = plans / "tenant-131016-juki-prod.json"
    doc = json.loads(path.read_text())
    for r in doc["deployment"]["resources"]:
        if r["type"] == "aws:cloudtrail/trail:Trail":
            r["inputs"]["enableLogFileValidation"] = False
    path.write_text(json.dumps(doc))


def test_sample_fleet_passes(planned, run):
    proc = run("check", "--no-checkov", check=True)
    assert "0 mandatory failure(s)" in proc.stdout


def test_edited_plan_fails_with_the_control_id(planned, run):
    break_trail_validation(planned)
    proc = run("check", "--no-checkov", "--lang", "en")
    assert proc.returncode == 1
    assert "FAIL   GC-AWS-CT-2 [high] tenant-131016-juki-prod: CloudTrail log file validation is enabled" in proc.stdout
    assert "Set enableLogFileValidation to true" in proc.stdout
    assert "ログファイル検証" in run("check", "--no-checkov", env={"GOVCLOUD_LANG": "ja"}).stdout  # the default for a Japanese user


def test_public_ip_in_mynumber_and_region_outside_japan(planned, run):
    path = planned / "tenant-minato-data-kokuho-prod.json"
    doc = json.loads(path.read_text())
    tags = doc["deployment"]["resources"][-1]["inputs"].get("tags", {})
    doc["deployment"]["resources"].append({"urn": "urn:x::pip", "custom": True, "type": "azure-native:network:PublicIPAddress",
                                           "inputs": {"location": "eastus", "tags": tags}})
    path.write_text(json.dumps(doc))
    proc = run("check", "--no-checkov", "--format", "json")
    assert proc.returncode == 1
    controls = {f["control"] for f in json.loads(proc.stdout)["findings"]}
    assert {"GC-AZ-NET-2", "GC-GEN-REGION-1"} <= controls


def test_sarif_and_junit(planned, run, tmp_path):
    break_trail_validation(planned)
    sarif_file, junit_file = tmp_path / "r.sarif", tmp_path / "r.xml"
    assert run("check", "--no-checkov", "--format", "sarif", "--out", str(sarif_file)).returncode == 1
    sarif = json.loads(sarif_file.read_text())
    assert sarif["version"] == "2.1.0"
    (result,) = sarif["runs"][0]["results"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert result["ruleId"] == "GC-AWS-CT-2" and rules[result["ruleIndex"]]["id"] == "GC-AWS-CT-2"
    assert result["level"] == "error" and result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("urn:pulumi:")
    assert len(rules) == 57 and all("security-severity" in r["properties"] for r in rules)
    assert run("check", "--no-checkov", "--format", "junit", "--out", str(junit_file)).returncode == 1
    root = ET.parse(junit_file).getroot()
    assert root.tag == "testsuites"
    failing = [case for case in root.iter("testcase") if case.find("failure") is not None]
    assert len(failing) == 1 and failing[0].get("name").startswith("GC-AWS-CT-2 ")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["tenant-131016-juki-prod"].get("failures") == "1" and len(suites) == 10


def write_waivers(ws: Path, control: str, expires: dt.date, run=None) -> None:
    """Write a waivers file; with ``run``, record it signed by the people a fleet-wide waiver
    (``131016-*`` is a pattern) needs: two platform principals and security (docs/trust.md)."""
    (ws / "policies").mkdir(exist_ok=True)
    (ws / "policies" / "waivers.yaml").write_text(f"""apiVersion: govcloud/v1
kind: Waivers
metadata: {{name: waivers}}
spec:
  waivers:
    - control: {control}
      tenant: 131016-*
      reason: 移行期間中のため一時的に許容する
      approver: 千代田区 情報政策課
      expires: {expires.isoformat()}
""")
    if run is not None:
        run("waivers", "record", *(a for who in ("platform", "platform2", "security-mori") for a in ("--key", key(who))),
            check=True)


def test_waivers_apply_expire_and_never_cover_non_waivable(planned, run, ws):
    path = planned / "tenant-131016-juki-prod.json"
    doc = json.loads(path.read_text())
    for r in doc["deployment"]["resources"]:
        if r["type"] == "aws:cloudwatch/logGroup:LogGroup":
            r["inputs"]["retentionInDays"] = 30          # GC-AWS-LOG-1: waivable
    path.write_text(json.dumps(doc))
    future, past = dt.date.today() + dt.timedelta(days=30), dt.date.today() - dt.timedelta(days=1)
    write_waivers(ws, "GC-AWS-LOG-1", future)
    proc = run("check", "--no-checkov", "--lang", "en")     # not recorded: it waives nothing
    assert proc.returncode == 1 and "GC608" in proc.stderr and "WAIVED" not in proc.stdout
    write_waivers(ws, "GC-AWS-LOG-1", future, run)
    proc = run("check", "--no-checkov", "--lang", "en")
    assert proc.returncode == 0 and "WAIVED GC-AWS-LOG-1" in proc.stdout
    write_waivers(ws, "GC-AWS-LOG-1", past, run)
    proc = run("check", "--no-checkov")
    assert proc.returncode == 1 and "expired" in proc.stderr
    break_trail_validation(planned)
    write_waivers(ws, "GC-AWS-CT-2", future, run)         # not waivable: recorded, and ignored
    proc = run("check", "--no-checkov")
    assert proc.returncode == 1 and "may not be waived" in proc.stderr


def test_bad_waiver_file_names_line_and_field(planned, run, ws):
    write_waivers(ws, "GC-NOPE-1", dt.date.today())
    proc = run("check", "--no-checkov")
    assert proc.returncode == 1 and "waivers.yaml:6:7: error[GC801]: unknown control" in proc.stderr
    assert "(field spec.waivers[0].control)" in proc.stderr


def test_check_without_plans_says_what_to_do(run):
    proc = run("check", "--no-checkov")
    assert proc.returncode == 1 and "govcloud plan --all" in proc.stderr


def test_up_is_gated_by_the_checks(ws, run):
    pulumi_yaml = ws / "Pulumi.yaml"
    pulumi_yaml.write_text(pulumi_yaml.read_text().replace("govcloud:logRetentionDays: 400", "govcloud:logRetentionDays: 30"))
    proc = run("up", "tenant-131016-juki-prod", "--yes")
    assert proc.returncode == 1 and "refusing to deploy tenant-131016-juki-prod" in proc.stderr and "GC-AWS-LOG-1" in proc.stderr
    write_waivers(ws, "GC-AWS-LOG-1", dt.date.today() + dt.timedelta(days=7), run)
    proc = run("up", "tenant-131016-juki-prod", "--yes", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1
    assert "passes every mandatory control" in proc.stdout and "Pulumi CLI is not installed" in proc.stderr


def test_sarif_points_at_the_plan_file_read_with_fingerprints(planned, run, tmp_path):
    import shutil

    elsewhere = tmp_path / "exported-plans"
    shutil.copytree(planned, elsewhere)
    break_trail_validation(elsewhere)
    proc = run("check", "--no-checkov", "--format", "sarif", "--plans", str(elsewhere))
    sarif = json.loads(proc.stdout)
    (result,) = sarif["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (elsewhere / "tenant-131016-juki-prod.json").resolve().as_uri()   # not build/plans/...
    fingerprint = result["partialFingerprints"]["govcloudFinding/v1"]
    again = json.loads(run("check", "--no-checkov", "--format", "sarif", "--plans", str(elsewhere)).stdout)
    assert again["runs"][0]["results"][0]["partialFingerprints"]["govcloudFinding/v1"] == fingerprint
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["name"] != r["id"] and r["name"].isalnum() for r in rules)
    assert rules[result["ruleIndex"]]["name"] == "CloudTrailLogFileValidationIsEnabled"
    assert "github.com/govcloud" not in proc.stdout   # no made-up informationUri


def test_junit_has_a_case_per_control_and_stack(planned, run, tmp_path):
    break_trail_validation(planned)
    junit_file = tmp_path / "r.xml"
    run("check", "--no-checkov", "--format", "junit", "--out", str(junit_file))
    suites = {s.get("name"): s for s in ET.parse(junit_file).getroot().findall("testsuite")}
    juki = suites["tenant-131016-juki-prod"]
    cases = juki.findall("testcase")
    names = [c.get("name").split(" ")[0] for c in cases]
    assert len(names) == len(set(names)) == int(juki.get("tests")) > 20   # every control evaluated, once
    assert "GC-AWS-CT-2" in names and juki.get("failures") == "1"
    total = sum(int(s.get("tests")) for s in suites.values())
    assert total > 10 * 20

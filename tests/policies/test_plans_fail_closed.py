"""`govcloud check` fails closed: what it cannot judge is an error, never a pass."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from govcloud import plans as plan_reader
from govcloud.app.check import CheckRequest, check, expected_stacks
from govcloud.diagnostics import DiagnosticError
from govcloud.plans import render_plan
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace
from govcloud.policies.catalogue import load_controls
from govcloud.policies.engine import CheckRun, check_plan
from tests.plans import sample_plan


@pytest.fixture(scope="module")
def tenant_plan() -> dict:
    return sample_plan("tenant-131016-juki-prod")


def codes(doc) -> set[str]:
    return {d.code for d in plan_reader.plan_problems(doc, Path("p.json"))}


def test_sample_plan_is_readable(tenant_plan):
    assert plan_reader.plan_problems(tenant_plan, Path("p.json")) == []


@pytest.mark.parametrize("edit,code", [
    (lambda d: [], "GC901"),                                             # not an object
    (lambda d: {"hello": "world"}, "GC901"),                             # not a plan
    (lambda d: {k: v for k, v in d.items() if k != "govcloud"}, "GC902"),  # no govcloud section
    (lambda d: {**d, "deployment": {"resources": []}}, "GC903"),         # a stack with no resources
    (lambda d: {**d, "deployment": {"resources": [r for r in d["deployment"]["resources"] if not r["custom"]]}}, "GC903"),
    (lambda d: {**d, "govcloud": {**d["govcloud"], "zone": None}}, "GC904"),
    (lambda d: {**d, "govcloud": {**d["govcloud"], "summary": {"resources": "12"}}}, "GC901"),
    (lambda d: {**d, "deployment": {"resources": [{**r, "inputs": None} if r["custom"] else r
                                                  for r in d["deployment"]["resources"]]}}, "GC904"),
    (lambda d: {**d, "deployment": {"resources": [{**r, "custom": "yes"} for r in d["deployment"]["resources"]]}}, "GC901"),
])
def test_unjudgeable_plans_are_errors(tenant_plan, edit, code):
    assert code in codes(edit(copy.deepcopy(tenant_plan)))


def test_a_control_that_cannot_read_its_property_fails(tenant_plan):
    doc = copy.deepcopy(tenant_plan)
    for r in doc["deployment"]["resources"]:
        if r["type"] == "aws:iam/role:Role" and (r["inputs"].get("tags") or {}).get("access") == "vendor":
            r["inputs"]["assumeRolePolicy"] = "{not json"
    run = CheckRun()
    check_plan(doc, load_controls(), [], run)
    assert any(f.control == "GC-AWS-IAM-3" and "cannot evaluate" in f.message for f in run.findings)


def write(folder: Path, name: str, doc) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")


@pytest.mark.parametrize("files,code", [
    ({"index.json": {"stacks": []}}, "GC903"),
    ({"tenant-x.json": {"deployment": {"resources": []}}}, "GC902"),
    ({"tenant-x.json": "{\"a\": "}, "GC100"),
    ({"tenant-x.json": "[" * 5000}, "GC106"),
    ({"tenant-x.json": b"\xff\xfe".decode("latin-1")}, "GC100"),
])
def test_check_cli_refuses_what_it_cannot_judge(ws, run, files, code):
    folder = ws / "plans"
    for name, doc in files.items():
        write(folder, name, doc)
    proc = run("check", "--no-checkov", "--plans", str(folder))
    assert proc.returncode == 1, proc.stdout
    assert f"[{code}]" in proc.stderr and "Traceback" not in proc.stderr


def test_check_cli_empty_stack_fails(ws, run, tenant_plan):
    doc = copy.deepcopy(tenant_plan)
    doc["deployment"]["resources"] = [r for r in doc["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack"]
    write(ws / "plans", "tenant-131016-juki-prod.json", doc)
    proc = run("check", "--no-checkov", "--plans", str(ws / "plans"))
    assert proc.returncode == 1 and "[GC903]" in proc.stderr


def test_check_cli_accepts_a_real_plan(ws, run, tenant_plan):
    write(ws / "plans", "tenant-131016-juki-prod.json", tenant_plan)
    proc = run("check", "--no-checkov", "--partial", "--plans", str(ws / "plans"))
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(ws / "plans")


def test_check_cli_names_the_line_of_the_field(ws, run, tenant_plan):
    """What check cannot judge is named where it is: file, line and column of the field, not 1:1."""
    import re

    from govcloud.plans import render_plan

    doc = copy.deepcopy(tenant_plan)
    doc["govcloud"]["zone"] = None
    write(ws / "plans", "tenant-131016-juki-prod.json", render_plan(doc))
    proc = run("check", "--no-checkov", "--plans", str(ws / "plans"))
    found = re.search(r"tenant-131016-juki-prod\.json:(\d+):(\d+): error\[GC904\].*\(field govcloud\.zone\)", proc.stderr)
    assert proc.returncode == 1 and found, proc.stderr
    line = (ws / "plans" / "tenant-131016-juki-prod.json").read_text().splitlines()[int(found.group(1)) - 1]
    assert line.strip().startswith('"zone"')


# --- what the plan says of itself is held against the workspace (govcloud.app.check) --------------

JUKI = "tenant-131016-juki-prod"


def resources_of(doc, type_):
    return [r for r in doc["deployment"]["resources"] if r["type"] == type_]


def with_igw(doc):
    route = resources_of(doc, "aws:ec2/route:Route")[0]
    doc["deployment"]["resources"].append({**copy.deepcopy(route), "type": "aws:ec2/internetGateway:InternetGateway",
                                           "urn": route["urn"].replace("aws:ec2/route:Route", "aws:ec2/internetGateway:InternetGateway"),
                                           "inputs": {"vpcId": "vpc-1"}})


def judged(ws, doc, *, partial=True):
    """The check service over a folder holding ``doc`` as the juki plan: its diagnostics, or []."""
    folder = ws / "plans"
    write(folder, f"{JUKI}.json", render_plan(doc))
    try:
        check(Workspace(ws), CheckRequest(plans_dir=folder, checkov=False, partial=partial))
    except DiagnosticError as exc:
        return exc.diagnostics
    return []


def edited(plan, edit):
    doc = copy.deepcopy(plan)
    edit(doc)
    return doc


def test_an_unknown_zone_is_refused_at_its_line(ws, tenant_plan):
    doc = edited(tenant_plan, lambda d: (d["govcloud"].update(zone="foo"), with_igw(d)))
    diags = judged(ws, doc)
    unknown = [d for d in diags if d.code == "GC904"]
    assert len(unknown) == 1 and "'foo' is not a zone govcloud models" in unknown[0].message
    assert unknown[0].field == "govcloud.zone" and unknown[0].line > 1
    assert unknown[0].path.endswith(f"{JUKI}.json")


@pytest.mark.parametrize("label, value, says", [
    ("zone", "internet", "the plan says zone internet, tenant 131016-juki-prod is mynumber: re-plan"),
    ("zone", "lgwan", "the plan says zone lgwan, tenant 131016-juki-prod is mynumber"),
    ("cloud", "azure", "the plan says cloud azure, tenant 131016-juki-prod is aws"),
])
def test_a_plan_that_disagrees_with_its_tenant_document_is_refused(ws, tenant_plan, label, value, says):
    """An internet gateway in a mynumber tenant must not pass because the plan calls itself internet."""
    doc = edited(tenant_plan, lambda d: (d["govcloud"].update({label: value}), with_igw(d)))
    (d,) = judged(ws, doc)
    assert d.code == "GC901" and says in d.message and d.field == f"govcloud.{label}", d


def test_a_provider_in_another_region_than_its_tenant_is_refused(ws, tenant_plan):
    def edit(d):
        for p in resources_of(d, "pulumi:providers:aws"):
            p["inputs"]["region"] = "ap-northeast-3"
    diags = judged(ws, edited(tenant_plan, edit))
    assert len(diags) == 2 and all(d.code == "GC901" and "says region ap-northeast-3" in d.message
                                   and "is in ap-northeast-1" in d.message for d in diags)
    assert all(d.field.endswith(".inputs.region") for d in diags)


def test_a_plan_for_a_tenant_the_workspace_does_not_define_is_refused(ws, tenant_plan):
    (ws / "tenants" / "active" / "131016-juki-prod.yaml").unlink()
    (d,) = judged(ws, tenant_plan)
    assert d.code == "GC901" and "which the workspace does not define" in d.message and d.field == "govcloud.tenant"


def test_outside_a_workspace_the_plans_are_judged_with_a_note(ws, tenant_plan):
    shutil.rmtree(ws / "tenants")
    folder = ws / "plans"
    write(folder, f"{JUKI}.json", render_plan(tenant_plan))
    outcome = check(Workspace(ws), CheckRequest(plans_dir=folder, checkov=False))
    assert not outcome.failures and any("not a workspace" in n for n in outcome.notes)
    bad = edited(tenant_plan, lambda d: d["govcloud"].update(zone="foo"))
    assert [d.code for d in judged(ws, bad)] == ["GC904"]       # an unknown zone is refused all the same


def test_every_stack_of_the_workspace_needs_a_plan(ws, tenant_plan):
    expected = expected_stacks(load_registry(Workspace(ws), require_plan=False))
    assert expected[:2] == ["foundation", "network"] and JUKI in expected and len(expected) == 10
    diags = judged(ws, tenant_plan, partial=False)
    missing = {d.path.rsplit("/", 1)[-1] for d in diags}
    assert {d.code for d in diags} == {"GC903"} and missing == {f"{s}.json" for s in expected if s != JUKI}
    assert any(d.message.startswith("missing plan for stack network: run govcloud plan --stack network") for d in diags)
    assert judged(ws, tenant_plan, partial=True) == []


def test_check_cli_refuses_a_partial_folder_unless_told(ws, run, tenant_plan):
    for folder in (ws / "build" / "plans", ws / "elsewhere"):      # the workspace's folder, and one given
        write(folder, f"{JUKI}.json", tenant_plan)
        args = ("check", "--no-checkov", "--lang", "en") + (("--plans", str(folder)) if folder.name == "elsewhere" else ())
        proc = run(*args)
        assert proc.returncode == 1 and "error[GC903]: missing plan for stack foundation" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        assert run(*args, "--partial").returncode == 0
    assert "--partial" in run("--lang", "en", "check", "--help").stdout


@pytest.mark.parametrize("edit, expect", [
    (lambda d: resources_of(d, "aws:cloudtrail/trail:Trail")[0].update(custom=False), "error[GC901]"),
    (lambda d: resources_of(d, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")[0].update(custom=False),
     "error[GC901]"),
    (lambda d: resources_of(d, "aws:cloudtrail/trail:Trail")[0].update(provider="urn:nope::x"), "error[GC904]"),
    (lambda d: d["govcloud"].update(zone="internet"), "error[GC901]: the plan says zone internet"),
])
def test_check_cli_refuses_what_the_review_found(ws, run, tenant_plan, edit, expect):
    write(ws / "plans", f"{JUKI}.json", edited(tenant_plan, edit))
    proc = run("check", "--no-checkov", "--partial", "--lang", "en", "--plans", str(ws / "plans"))
    assert proc.returncode == 1 and expect in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_check_cli_fails_a_provider_without_a_region(ws, run, tenant_plan):
    def edit(d):
        for p in resources_of(d, "pulumi:providers:aws"):
            del p["inputs"]["region"]
    write(ws / "plans", f"{JUKI}.json", edited(tenant_plan, edit))
    proc = run("check", "--no-checkov", "--partial", "--lang", "en", "--plans", str(ws / "plans"))
    providers = len(resources_of(tenant_plan, "pulumi:providers:aws"))   # management, tenant, the second region's
    assert proc.returncode == 1 and proc.stdout.count("GC-GEN-REGION-1") == providers == 3
    assert "cannot evaluate: the provider has no region" in proc.stdout

"""`govcloud check` fails closed: what it cannot judge is an error, never a pass."""

import copy
import json
import shutil
from pathlib import Path

import pytest

from govcloud import plans as plan_reader
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
    proc = run("check", "--no-checkov", "--plans", str(ws / "plans"))
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

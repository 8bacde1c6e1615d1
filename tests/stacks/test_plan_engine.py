import json
import subprocess
import sys

import pulumi
import pulumi_aws as aws

from govcloud.stacks import planner
from govcloud.stacks.mocks import GovcloudMocks
from govcloud.stacks.recorder import SECRET_SIG, SECRET_SIG_KEY, redact, run_program
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace
from tests.conftest import REPO


def test_duplicate_urn_is_an_error():
    # In a fresh process, as the planner runs every stack of a multi-stack run.
    code = """
import pulumi_aws as aws
from govcloud.stacks.mocks import GovcloudMocks
from govcloud.stacks.recorder import DuplicateUrnError, run_program

def program():
    aws.s3.Bucket("same", bucket="a")
    aws.s3.Bucket("same", bucket="b")

try:
    run_program(program, project="govcloud", stack="t", mocks=GovcloudMocks("t"), config={})
except Exception as exc:
    print("raised", "Duplicate resource URN" in str(exc))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "raised True" in proc.stdout, proc.stdout + proc.stderr


def test_secrets_stay_marked_and_never_reach_the_plan():
    def program():
        aws.ssm.Parameter("p", type="SecureString", value=pulumi.Output.secret("hunter2"))

    monitor = run_program(program, project="govcloud", stack="t", mocks=GovcloudMocks("t"), config={})
    (reg,) = [r for r in monitor.registrations.values() if r.type == "aws:ssm/parameter:Parameter"]
    rendered = json.dumps(redact(reg.inputs))
    assert "hunter2" not in rendered
    value = redact(reg.inputs)["value"]
    assert value[SECRET_SIG_KEY] == SECRET_SIG and value["ciphertext"].startswith("redacted:sha256:")


def test_invokes_answer_per_region():
    def program():
        provider = aws.Provider("osaka", region="ap-northeast-3")
        azs = aws.get_availability_zones(opts=pulumi.InvokeOptions(provider=provider))
        pulumi.export("azs", azs.names)

    monitor = run_program(program, project="govcloud", stack="t", mocks=GovcloudMocks("t"), config={})
    assert monitor.stack_outputs["azs"] == ["ap-northeast-3a", "ap-northeast-3b", "ap-northeast-3c"]


def test_plan_is_byte_identical_and_cached(tmp_path):
    ws = Workspace(REPO)
    reg = load_registry(ws)
    stacks = planner.select_stacks(reg, tenant="131016-juki-prod") + planner.select_stacks(reg, tenant="minato-data-kokuho-prod")
    first = planner.run_plans(ws, stacks, tmp_path / "a", jobs=1, use_cache=False)
    second = planner.run_plans(ws, stacks, tmp_path / "b", jobs=2, use_cache=False)
    assert not first.failed and not second.failed
    for name in ("tenant-131016-juki-prod.json", "tenant-minato-data-kokuho-prod.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_cache_key_follows_the_tenant_document():
    ws = Workspace(REPO)
    reg = load_registry(ws)
    tenant = reg.tenants["131016-juki-prod"]
    key = planner.make_job(ws, "tenant-131016-juki-prod", tenant).key
    assert planner.make_job(ws, "tenant-131016-juki-prod", tenant).key == key
    changed = tenant.model_copy(update={"spec": tenant.spec.model_copy(update={"region": "ap-northeast-3"})})
    assert planner.make_job(ws, "tenant-131016-juki-prod", changed).key != key


def test_plan_cli(ws, run, tmp_path):
    out = tmp_path / "plans"
    proc = run("plan", "--tenant", "131016-juki-prod", "--out", str(out), check=True)
    assert "planned 1 stack(s) (0 from cache)" in proc.stdout
    doc = json.loads((out / "tenant-131016-juki-prod.json").read_text())
    assert doc["version"] == 3 and doc["govcloud"]["stack"] == "tenant-131016-juki-prod"
    assert all({"urn", "type", "inputs", "custom"} <= set(r) for r in doc["deployment"]["resources"])
    proc = run("plan", "--tenant", "131016-juki-prod", "--out", str(out), check=True)
    assert "(1 from cache)" in proc.stdout
    assert run("plan", "--tenant", "nope").returncode == 1
    assert run("plan").returncode == 1


def test_preview_without_pulumi_cli_says_how_to_install(run, monkeypatch):
    proc = run("preview", "tenant-131016-juki-prod", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1
    assert "Pulumi CLI is not installed" in proc.stderr and "govcloud plan" in proc.stderr
    proc = run("up", "tenant-131016-juki-prod")
    assert proc.returncode == 1


def test_a_failed_stack_does_not_change_the_next_plan_in_the_same_process():
    """Workers plan many stacks in one process: a stack that fails (duplicate URN) must leave
    nothing behind that changes the plan of the next."""
    ws = Workspace(REPO)
    reg = load_registry(ws)
    job = planner.make_job(ws, "tenant-131016-juki-prod", reg.tenants["131016-juki-prod"])
    code = """
import pulumi_aws as aws, sys
from govcloud.stacks import planner
from govcloud.stacks.mocks import GovcloudMocks
from govcloud.stacks.recorder import run_program
from tests.plans import WS
from govcloud.tenants.registry import load_registry
reg = load_registry(WS)
job = planner.make_job(WS, "tenant-131016-juki-prod", reg.tenants["131016-juki-prod"])
def bad():
    aws.s3.Bucket("same", bucket="a")
    aws.s3.Bucket("same", bucket="b")
for _ in range(2):
    try:
        run_program(bad, project="govcloud", stack="t", mocks=GovcloudMocks("t"), config={})
        print("NOT RAISED")
    except Exception:
        pass
sys.stdout.write(planner.plan_stack(job))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "NOT RAISED" not in proc.stdout
    assert proc.stdout == planner.plan_stack(job)

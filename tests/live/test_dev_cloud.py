"""The live commands end to end against the dev cloud, through the real `govcloud` binary: seeded
fleet passes, breaking the trail or opening ingress with plain boto3 fails audit and drift with the
control or invariant, vending is idempotent, one tenant's denied call does not stop the others.
One dev cloud per module (seeding takes ~30 s); tests run in file order and build on each other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import boto3
import pytest

from tests.conftest import REPO, govcloud_bin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    root = tmp_path_factory.mktemp("live") / "ws"
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, root / settings.name)

    def run(*args, env=None):
        return subprocess.run([govcloud_bin(), *args], capture_output=True, text=True, cwd=root,
                              env={**os.environ, "GOVCLOUD_ROOT": str(root), "GOVCLOUD_ACTOR": "tester", **(env or {})})

    started = run("dev-cloud", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    state = json.loads((root / ".govcloud" / "dev-cloud.json").read_text())
    try:
        yield root, run, state
    finally:
        stopped = run("dev-cloud", "stop")
        assert stopped.returncode == 0
        assert run("dev-cloud", "status").returncode == 1


def admin(state: dict, tenant: str, service: str, region: str = "ap-northeast-1"):
    """A plain boto3 client acting in a tenant account, as an operator with a console would."""
    base = dict(endpoint_url=state["url"], region_name=region)
    creds = boto3.client("sts", aws_access_key_id=state["accessKey"], aws_secret_access_key=state["secretKey"], **base).assume_role(
        RoleArn=f"arn:aws:iam::{state['accounts'][tenant]}:role/OrganizationAccountAccessRole", RoleSessionName="operator")["Credentials"]
    return boto3.client(service, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"], **base)


def test_status_shows_the_port_and_the_seeded_accounts(cloud):
    root, run, state = cloud
    assert state["url"] == f"http://127.0.0.1:{state['port']}"
    proc = run("dev-cloud", "status", "--format", "json")
    status = json.loads(proc.stdout)
    assert proc.returncode == 0 and status["running"] and status["port"] == state["port"] and "secretKey" not in status
    assert set(status["accounts"]) == {"131016-juki-prod", "131016-juki-staging", "141003-koseki-prod",
                                       "141003-koseki-staging", "271004-denshi-shinsei-prod"}
    assert run("dev-cloud", "start").stdout.startswith("dev cloud already running")


def test_the_seeded_fleet_passes_the_live_audit_and_has_no_drift(cloud):
    _, run, _ = cloud
    audit = run("audit", "--all", "--format", "json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    assert report["failedMandatory"] == 0 and not report["failures"]
    assert all(t["complete"] for t in report["tenants"]) and len(report["tenants"]) == 5
    assert report["evaluated"] > 300
    drift = run("network", "drift", "--format", "json")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    doc = json.loads(drift.stdout)
    assert doc["changes"] == [] and all(v["ok"] for v in doc["verification"]) and "network" in doc["read"]


def test_the_seeded_cloud_is_the_plan(cloud):
    """Issue 23, part 3: every planned resource the audit reads is in the dev cloud with the judged
    properties, in the region its provider places it, and nothing else is (the password policy was
    once planned and not replayed). Runs before any test below breaks a tenant on purpose."""
    from govcloud.live.parity import TENANT_READERS, differences
    from govcloud.live.readers import ALLOWED_REGIONS, read_account

    root, _, state = cloud
    mgmt = mgmt_account(state)
    for tenant, account in sorted(state["accounts"].items()):
        plan = json.loads((root / "build" / "plans" / f"tenant-{tenant}.json").read_text())
        home = next(r["inputs"]["region"] for r in plan["deployment"]["resources"]
                    if r["type"] == "pulumi:providers:aws" and r["urn"].endswith("::tenant"))
        live = read_account(mgmt.assume(account, "govcloud-audit"), account, home, TENANT_READERS, regions=ALLOWED_REGIONS)
        assert not live.failures, (tenant, live.failures)
        assert differences(plan, live.resources, home) == [], tenant
        regions = {r["inputs"].get("region") for r in live.resources if r["type"] == "aws:guardduty/detector:Detector"}
        assert regions == set(ALLOWED_REGIONS), tenant          # GuardDuty in every allowed region


def test_every_reader_calls_only_the_permissions_it_declares(cloud):
    """live/readers.py keeps each read's IAM actions as data (the audit role's policy and the docs
    list them): record every call each reader makes against the dev cloud and compare."""
    from govcloud.live.clients import IAM_PREFIX
    from govcloud.live.readers import ALLOWED_REGIONS, IAM_ACTION, READERS, read_account

    _, _, state = cloud
    tenant = "131016-juki-prod"
    for name, reader in READERS.items():
        assert reader.permissions and all(":" in p for p in reader.permissions), name
        mgmt = mgmt_account(state)
        acct = mgmt.assume(state["accounts"][tenant], "govcloud-audit")
        made: set[str] = set()
        for who in (acct, mgmt):
            original = who.client

            def recording(service, region=None, _original=original):
                client = _original(service, region)
                prefix = IAM_PREFIX.get(client.meta.service_model.service_name, client.meta.service_model.signing_name)
                client.meta.events.register("before-call.*.*", lambda model, **_: made.add(
                    IAM_ACTION.get(f"{prefix}:{model.name}", f"{prefix}:{model.name}")),
                                            unique_id="govcloud-test-recorder")
                return client
            who.client = recording
        live = read_account(acct, state["accounts"][tenant], "ap-northeast-1", (name,), regions=ALLOWED_REGIONS, mgmt=mgmt)
        assert not live.failures, (name, live.failures)
        assert made and made <= set(reader.permissions), (name, made - set(reader.permissions))


def test_audit_and_drift_report_progress_and_draw_nothing_when_piped(cloud):
    """The services count what they do for an adapter's progress bar; the CLI, its stderr not a
    terminal here, draws nothing (the JSON above parsed; stderr carries no control sequence)."""
    from govcloud.app.live import audit, drift
    from govcloud.live.clients import resolve_endpoint
    from govcloud.workspace import Workspace

    root, run, state = cloud
    ws, endpoint = Workspace(root), resolve_endpoint(root, state["url"], False, None)
    steps = []
    assert audit(ws, endpoint, progress=steps.append).passed
    planned = [(s.done, s.total) for s in steps if s.stage == "plan"]
    read = [(s.done, s.total) for s in steps if s.stage == "audit"]
    assert planned and planned[-1][0] == planned[-1][1] == len(planned)     # every stack, counted once
    assert read == [(i, 5) for i in range(1, 6)]                              # the five AWS tenants, as each is read
    steps.clear()
    assert drift(ws, endpoint, progress=steps.append).passed
    stages = [s.stage for s in steps]
    assert stages.index("compile") < stages.index("live") and steps[-1].stage == "live" and steps[-1].done == 1
    for args in (("audit", "--format", "json"), ("network", "drift", "--format", "json")):
        proc = run(*args)
        assert proc.returncode == 0 and "\x1b[" not in proc.stderr and "\r" not in proc.stderr
        json.loads(proc.stdout)


def test_vending_twice_gives_one_account_recorded_once(cloud):
    root, run, state = cloud
    tenant = "141003-koseki-staging"
    first = run("accounts", "vend", tenant)
    assert first.returncode == 0, first.stderr
    assert f"account {state['accounts'][tenant]} in tenants-staging/mynumber; recorded" in first.stdout
    document = (root / "tenants" / "active" / f"{tenant}.yaml").read_text()
    assert f"accountId: '{state['accounts'][tenant]}'" in document and document.startswith("# yaml-language-server")
    second = run("accounts", "vend", tenant)
    assert second.returncode == 0 and "(already recorded)" in second.stdout
    org = boto3.client("organizations", endpoint_url=state["url"], region_name="ap-northeast-1",
                       aws_access_key_id=state["accessKey"], aws_secret_access_key=state["secretKey"])
    emails = [a["Email"] for a in org.list_accounts()["Accounts"]]
    assert emails.count(f"aws+{tenant}@gc.example.lg.jp") == 1
    assert run("validate").returncode == 0          # the recorded id keeps the document valid
    unknown = run("accounts", "vend", "141003-koseki-stagin")
    assert unknown.returncode == 1 and "did you mean '141003-koseki-staging'" in unknown.stderr


def test_a_denied_call_in_one_tenant_is_reported_and_the_others_complete(cloud):
    _, run, _ = cloud
    added = run("dev-cloud", "fault", "add", "--tenant", "141003-koseki-prod", "--call", "guardduty:ListDetectors",
                "--error", "access-denied")
    assert added.returncode == 0, added.stderr
    try:
        proc = run("audit", "--format", "json")
        report = json.loads(proc.stdout)
        assert proc.returncode == 1
        tokyo, osaka = report["failures"]            # GuardDuty is read in both Japan regions, each denied
        assert (tokyo["step"], osaka["step"]) == ("guardduty@ap-northeast-1", "guardduty@ap-northeast-3")
        for failure in (tokyo, osaka):
            assert failure["tenant"] == "141003-koseki-prod" and failure["call"] == "guardduty:ListDetectors"
            assert failure["kind"] == "access-denied" and failure["missingPermission"] == "guardduty:ListDetectors"
            assert failure["controlsNotEvaluated"] == ["GC-AWS-GD-1", "GC-AWS-GD-2"]
        assert sum(t["complete"] for t in report["tenants"]) == 4 and report["failedMandatory"] == 0
        text = run("audit", "--lang", "en").stdout
        assert "missing permission guardduty:ListDetectors" in text and "audited 4 of 5 tenant(s)" in text
    finally:
        assert run("dev-cloud", "fault", "clear").returncode == 0


def test_breaking_the_trail_and_opening_ingress_fail_audit_and_drift(cloud):
    _, run, state = cloud
    tenant = "131016-juki-prod"
    trail = admin(state, tenant, "cloudtrail")
    trail.stop_logging(Name=trail.describe_trails()["trailList"][0]["TrailARN"])
    ec2 = admin(state, tenant, "ec2")
    group = next(g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == f"{tenant}-workload")
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "by hand"}]}])

    audit = run("audit", "--tenant", tenant, "--format", "sarif")
    assert audit.returncode == 1
    sarif = json.loads(audit.stdout)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"GC-AWS-CT-5", "GC-AWS-VPC-5"}
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is True

    drift = run("network", "drift")
    assert drift.returncode == 1
    assert f"drift (filtering) added   tenant {tenant}: security group {tenant}-workload ingress: + tcp/443 from 0.0.0.0/0 (by hand)" \
        in drift.stdout
    assert "violation internet-never-reaches-mynumber (filtering layer)" in drift.stdout
    assert f"security group {tenant}-workload rule #0: 0.0.0.0/0 tcp/443" in drift.stdout


def test_a_route_leaked_into_the_mynumber_table_is_drift_that_breaks_routing(cloud):
    _, run, state = cloud
    base = dict(endpoint_url=state["url"], region_name="ap-northeast-1")
    creds = boto3.client("sts", aws_access_key_id=state["accessKey"], aws_secret_access_key=state["secretKey"], **base).assume_role(
        RoleArn=f"arn:aws:iam::{state['networkAccount']}:role/OrganizationAccountAccessRole", RoleSessionName="op")["Credentials"]
    ec2 = boto3.client("ec2", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"], **base)
    tables = {t["Value"]: t["ResourceId"] for t in ec2.describe_tags(Filters=[{"Name": "key", "Values": ["govcloud:route-table"]}])["Tags"]}
    attachments = {t["Value"]: t["ResourceId"] for t in ec2.describe_tags(Filters=[{"Name": "key", "Values": ["govcloud:attachment"]}])["Tags"]}
    ec2.enable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=tables["rt-mynumber"],
                                                       TransitGatewayAttachmentId=attachments["site:131016:honcho-internet"])
    proc = run("network", "drift", "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert {"layer": "routing", "kind": "added", "where": "route table rt-mynumber: propagation", "declared": None,
            "live": "site:131016:honcho-internet"} in doc["changes"]
    violations = [v for r in doc["verification"] for v in r["violations"] if v["layer"] == "routing"]
    assert any(v["invariant"] == "mynumber-never-reaches-internet" and v["destination"] == "site:131016:honcho-internet"
               and "route table tgw:rt-mynumber" in " ".join(v["path"]) for v in violations)


def test_a_call_that_hangs_is_a_timeout_for_that_tenant_only(cloud):
    _, run, _ = cloud
    run("dev-cloud", "fault", "add", "--tenant", "131016-juki-staging", "--call", "config:DescribeConfigurationRecorders",
        "--error", "timeout", "--seconds", "3")
    try:
        proc = run("audit", "--format", "json", env={"GOVCLOUD_AWS_READ_TIMEOUT": "1"})
        report = json.loads(proc.stdout)
        failures = [f for f in report["failures"] if f["tenant"] == "131016-juki-staging"]
        assert len(failures) == 2                    # one per Japan region
        for failure in failures:
            assert failure["kind"] == "timeout" and failure["call"] == "config:DescribeConfigurationRecorders"
            assert failure["controlsNotEvaluated"] == ["GC-AWS-CFG-1", "GC-AWS-CFG-2"]
        assert proc.returncode == 1
    finally:
        run("dev-cloud", "fault", "clear")


def mgmt_account(state: dict):
    from govcloud.live.clients import Account, Endpoint

    return Account(Endpoint(state["url"], "ap-northeast-1", None, state["accessKey"], state["secretKey"]))


def test_the_three_drifts_prowler_caught_are_caught(cloud):
    """Issue 23: KMS key rotation turned off, the account password policy weakened, and an open SSH
    rule in the other Japan region, each written straight to the API, each named by its control;
    a VPC outside Japan is evidence for GC-GEN-REGION-1."""
    _, run, state = cloud
    staging, osaka_tenant = "131016-juki-staging", "271004-denshi-shinsei-prod"
    kms = admin(state, staging, "kms")
    key = next(k["KeyId"] for k in kms.list_keys()["Keys"] if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER")
    kms.disable_key_rotation(KeyId=key)
    admin(state, staging, "iam").update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=24)
    ec2 = admin(state, osaka_tenant, "ec2", "ap-northeast-1")    # Osaka's tenant: Tokyo is its other Japan region
    vpc = ec2.create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="by-hand", Description="by hand", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    elsewhere = admin(state, osaka_tenant, "ec2", "us-east-1").create_vpc(CidrBlock="10.251.0.0/16")["Vpc"]["VpcId"]

    proc = run("audit", "--tenant", staging, "--tenant", osaka_tenant, "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert not report["failures"]
    found = {(f["control"], f["resource"]) for f in report["findings"]}
    staging_account, osaka_account = state["accounts"][staging], state["accounts"][osaka_tenant]
    assert ("GC-AWS-KMS-1", f"arn:aws:kms:ap-northeast-1:{staging_account}:key/{key}") in found
    assert ("GC-AWS-IAM-1", f"arn:aws:iam::{staging_account}:account-password-policy") in found
    assert ("GC-AWS-VPC-5", f"arn:aws:ec2:ap-northeast-1:{osaka_account}:security-group/{group}#ingress-0") in found
    assert ("GC-GEN-REGION-1", f"arn:aws:ec2:us-east-1:{osaka_account}:vpc/{elsewhere}") in found

    # A policy deleted outright leaves IAM's default in force, which fails too (not "nothing to judge").
    admin(state, staging, "iam").delete_account_password_policy()
    proc = run("audit", "--tenant", staging, "--format", "json")
    text = proc.stdout
    assert proc.returncode == 1
    assert {(f["control"], f["resource"]) for f in json.loads(text)["findings"]} >= {
        ("GC-AWS-IAM-1", f"arn:aws:iam::{staging_account}:account-password-policy/none-set-iam-default")}


def test_a_control_that_cannot_be_read_is_unevaluated_not_passed(cloud):
    """The rotation of juki-staging's key is off (above); when the rotation status cannot be read,
    the audit must not call KMS-1 passed: it names the call and the permission, counts KMS-1 as not
    evaluated, and exits 1."""
    _, run, _ = cloud
    tenant = "131016-juki-staging"
    assert run("dev-cloud", "fault", "add", "--tenant", tenant, "--call", "kms:GetKeyRotationStatus",
               "--error", "access-denied").returncode == 0
    try:
        proc = run("audit", "--tenant", tenant, "--format", "json")
        report = json.loads(proc.stdout)
        assert proc.returncode == 1
        failures = [f for f in report["failures"] if f["call"] == "kms:GetKeyRotationStatus"]
        assert failures and all(f["missingPermission"] == "kms:GetKeyRotationStatus" for f in failures)
        assert all("GC-AWS-KMS-1" in f["controlsNotEvaluated"] for f in failures)
        assert not [f for f in report["findings"] if f["control"] == "GC-AWS-KMS-1"]
        assert report["tenants"] == [{"tenant": tenant, "account": report["tenants"][0]["account"], "complete": False}]
    finally:
        assert run("dev-cloud", "fault", "clear").returncode == 0


def test_a_new_account_waits_in_quarantine_until_its_baseline_passes(cloud):
    """The vending flow for an account that does not exist yet, driven in-process."""
    from govcloud.live import organization as orgs
    from govcloud.live.accounts import vend
    from govcloud.live.clients import Account, Endpoint
    from govcloud.live.replay import replay_tenant
    from tests.plans import sample_plan

    _, _, state = cloud
    mgmt = Account(Endpoint(state["url"], "ap-northeast-1", None, state["accessKey"], state["secretKey"]))
    tenant = {"name": "131016-newsys-prod", "zone": "mynumber", "region": "ap-northeast-1", "environment": "prod",
              "email": "aws+131016-newsys-prod@gc.example.lg.jp", "accountName": "govcloud-131016-newsys-prod",
              "tags": {"tenant": "131016-newsys-prod", "managed-by": "govcloud"}, "role": "OrganizationAccountAccessRole"}
    first = vend(mgmt, tenant)
    assert first.created and first.location == "quarantine"
    assert any("GC-AWS-CT-7" in f for f in first.baseline_failures)           # no trail yet
    assert "deleted 1 default VPC(s)" in " ".join(first.steps) or "deleted 2 default VPC(s)" in " ".join(first.steps)
    again = vend(mgmt, tenant)
    assert not again.created and again.account_id == first.account_id and again.location == "quarantine"

    replay_tenant(mgmt.assume(first.account_id, tenant["role"]), sample_plan("tenant-131016-juki-prod"), first.account_id,
                  state["managementAccount"], "ap-northeast-1")
    released = vend(mgmt, tenant)
    assert released.account_id == first.account_id and released.location == "tenants-prod/mynumber" and not released.baseline_failures
    tree = orgs.ou_tree(mgmt)
    assert orgs.parent_of(mgmt, first.account_id) == tree["tenants-prod/mynumber"]
    assert vend(mgmt, tenant).location == "tenants-prod/mynumber"             # and stays there


def test_a_restarted_dev_cloud_keeps_the_account_ids(cloud):
    """moto draws account ids at random; the dev cloud derives them from the e-mail address, so a
    workspace that recorded an account id can still vend after a restart."""
    root, run, state = cloud
    tenant = "141003-koseki-staging"
    assert run("accounts", "vend", tenant).returncode == 0
    recorded = state["accounts"][tenant]
    assert run("dev-cloud", "stop").returncode == 0
    started = run("dev-cloud", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    restarted = json.loads((root / ".govcloud" / "dev-cloud.json").read_text())
    assert restarted["port"] != state["port"] or restarted["pid"] != state["pid"]
    assert restarted["accounts"] == state["accounts"]
    again = run("accounts", "vend", tenant)
    assert again.returncode == 0 and f"account {recorded}" in again.stdout and "(already recorded)" in again.stdout, again.stderr
    assert run("validate").returncode == 0 and run("history", "verify").returncode == 0
    assert "tenant.account-recorded" in (root / "tenants" / "history.jsonl").read_text()

"""The pure parts of the live commands: failure classification, endpoint resolution, request
identification in the dev server, drift diffs, and which controls the live audit judges."""

from __future__ import annotations

import re

import botocore.exceptions
import pytest

from govcloud.diagnostics import UsageError
from govcloud.live.audit import audited_controls
from govcloud.live.clients import classify, resolve_endpoint
from govcloud.live.devserver import identify
from govcloud.live.drift import _ports, compiled_rules, diff_sg, diff_tgw, sg_rules
from govcloud.policies.catalogue import load_controls


def client_error(code: str, message: str, status: int = 400) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message},
                                            "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def test_failures_say_which_call_and_which_permission():
    denied = classify("cloudtrail", "GetTrailStatus", client_error(
        "AccessDeniedException", "User: arn:aws:sts::111122223333:assumed-role/govcloud-audit/x is not authorized to perform: "
        "cloudtrail:GetTrailStatus on resource: trail", 403))
    assert (denied.call, denied.kind, denied.permission) == ("cloudtrail:GetTrailStatus", "access-denied", "cloudtrail:GetTrailStatus")
    ec2 = classify("ec2", "DescribeVpcs", client_error("UnauthorizedOperation", "You are not authorized to perform this operation.", 403))
    assert ec2.kind == "access-denied" and ec2.permission == "ec2:DescribeVpcs"
    assert classify("s3control", "GetPublicAccessBlock", client_error("AccessDenied", "Access Denied", 403)).permission == \
        "s3:GetPublicAccessBlock"
    assert classify("guardduty", "ListDetectors", client_error("ThrottlingException", "Rate exceeded")).kind == "throttled"
    timeout = classify("config", "DescribeDeliveryChannels", botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"))
    assert timeout.kind == "timeout" and timeout.call == "config:DescribeDeliveryChannels"
    assert classify("sts", "AssumeRole", botocore.exceptions.EndpointConnectionError(endpoint_url="http://x")).kind == "unreachable"
    assert classify("ec2", "DescribeVpcs", client_error("InvalidParameterValue", "bad")).kind == "error"


def test_nothing_leaves_the_machine_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("GOVCLOUD_ENDPOINT_URL", raising=False)
    with pytest.raises(UsageError, match="govcloud dev-cloud start"):
        resolve_endpoint(tmp_path, None, False, None)
    assert resolve_endpoint(tmp_path, None, True, "prod").url is None                      # --aws: real AWS, asked for
    assert resolve_endpoint(tmp_path, "http://127.0.0.1:4566/", False, None).url == "http://127.0.0.1:4566"
    with pytest.raises(UsageError, match="not both"):
        resolve_endpoint(tmp_path, "http://127.0.0.1:4566", True, None)
    with pytest.raises(UsageError, match="http"):
        resolve_endpoint(tmp_path, "127.0.0.1:4566", False, None)
    monkeypatch.setenv("GOVCLOUD_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert resolve_endpoint(tmp_path, None, False, None).url == "http://127.0.0.1:5000"
    monkeypatch.setenv("GOVCLOUD_AWS_READ_TIMEOUT", "soon")
    with pytest.raises(UsageError, match="GOVCLOUD_AWS_READ_TIMEOUT"):
        resolve_endpoint(tmp_path, None, False, None)


def auth(service: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261122/ap-northeast-1/{service}/aws4_request, SignedHeaders=host"


def test_the_dev_server_names_calls_as_iam_does():
    rest = {"HTTP_AUTHORIZATION": auth("guardduty"), "PATH_INFO": "/detector", "REQUEST_METHOD": "GET"}
    assert identify(rest, b"")[1:3] == ("guardduty", "ListDetectors")
    one = {"HTTP_AUTHORIZATION": auth("guardduty"), "PATH_INFO": "/detector/abc123", "REQUEST_METHOD": "GET"}
    assert identify(one, b"")[2] == "GetDetector"
    target = {"HTTP_AUTHORIZATION": auth("cloudtrail"), "HTTP_X_AMZ_TARGET": "CloudTrail_20131101.GetTrailStatus"}
    assert identify(target, b"{}")[1:] == ("cloudtrail", "GetTrailStatus", "json")
    query = {"HTTP_AUTHORIZATION": auth("ec2"), "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8"}
    assert identify(query, b"Action=DescribeSecurityGroups&Version=2016-11-15")[1:] == ("ec2", "DescribeSecurityGroups", "ec2")
    s3control = {"HTTP_AUTHORIZATION": auth("s3"), "PATH_INFO": "/v20180820/configuration/publicAccessBlock", "REQUEST_METHOD": "GET"}
    assert identify(s3control, b"")[2] == "GetPublicAccessBlock"
    assert identify({}, b"")[1] is None                                                     # unsigned: nobody's call


def rule(sg, cidr, port, description="", direction="ingress"):
    kind = "Ingress" if direction == "ingress" else "Egress"
    return {"type": f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule", "urn": "x",
            "inputs": {"securityGroupId": sg, "cidrIpv4": cidr, "ipProtocol": "tcp", "fromPort": port, "toPort": port,
                       "description": description}}


def test_security_group_drift_is_added_removed_or_changed():
    groups = [{"type": "aws:ec2/securityGroup:SecurityGroup", "urn": "arn:x:security-group/sg-1", "id": "sg-1",
               "inputs": {"name": "t-flows-0", "vpcId": "vpc-1"}}]
    declared = sg_rules(groups + [rule("sg-1", "10.64.0.0/24", 443.0, "api"), rule("sg-1", "172.16.0.0/20", 443.0, "site")])
    live = sg_rules(groups + [rule("sg-1", "10.64.0.0/24", 443, "api (edited)"), rule("sg-1", "0.0.0.0/0", 22, "debug")])
    changes = {(c.kind, c.declared, c.live) for c in diff_sg("t", declared, live)}
    assert changes == {("changed", "tcp/443 from 10.64.0.0/24 (api)", "tcp/443 from 10.64.0.0/24 (api (edited))"),
                       ("removed", "tcp/443 from 172.16.0.0/20", None), ("added", None, "tcp/22 from 0.0.0.0/0 (debug)")}
    groups_out, egress = compiled_rules(groups + [rule("sg-1", "0.0.0.0/0", 22), rule("sg-1", "10.0.0.0/24", 443, direction="egress")],
                                        "10.0.0.0/24")
    assert groups_out == [{"name": "t-flows-0", "ingress": [{"cidr": "0.0.0.0/0", "protocol": "tcp", "port": 22, "description": ""}]}]
    assert egress == [{"cidr": "10.0.0.0/24", "protocol": "tcp", "port": 443, "description": ""}]
    assert _ports({"ipProtocol": "-1"}) == ["*"] and _ports({"ipProtocol": "tcp", "fromPort": 0, "toPort": 65535}) == ["*"]
    assert _ports({"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8082}) == [8080, 8081, 8082]


def test_transit_gateway_drift():
    declared = {"associations": {"a": "rt-mynumber", "s": "rt-internet"},
                "routeTables": {"rt-mynumber": {"propagations": ["a"], "routes": [{"destination": "10.0.0.0/24", "target": "a"}]},
                                "rt-internet": {"propagations": ["s"], "routes": []}}}
    live = {"associations": {"a": "rt-mynumber", "s": "rt-mynumber"},
            "routeTables": {"rt-mynumber": {"propagations": ["a", "s"], "routes": [{"destination": "10.0.0.0/24", "target": "blackhole"}]},
                            "rt-internet": {"propagations": [], "routes": []}}}
    changes = {(c.kind, c.where, c.declared, c.live) for c in diff_tgw(declared, live)}
    assert changes == {("changed", "attachment s: association", "rt-internet", "rt-mynumber"),
                       ("added", "route table rt-mynumber: propagation", None, "s"),
                       ("removed", "route table rt-internet: propagation", "s", None),
                       ("changed", "route table rt-mynumber: static route 10.0.0.0/24", "10.0.0.0/24 → a", "10.0.0.0/24 → blackhole")}
    assert diff_tgw(declared, declared) == []


def test_the_live_audit_judges_what_it_reads_and_nothing_else():
    audited = audited_controls(load_controls())
    for cid in ("GC-AWS-CT-2", "GC-AWS-CT-5", "GC-AWS-CT-7", "GC-AWS-CFG-2", "GC-AWS-GD-1", "GC-AWS-SH-1", "GC-AWS-EBS-1",
                "GC-AWS-S3-1", "GC-AWS-VPC-2", "GC-AWS-VPC-3", "GC-AWS-VPC-5", "GC-AWS-VPC-6", "GC-GEN-REGION-1"):
        assert cid in audited, cid
    for cid in ("GC-AZ-KV-1", "GC-AWS-S3-3", "GC-AWS-S3-4", "GC-AWS-S3-5"):
        assert cid not in audited, cid                     # not read live: judged on the plan by govcloud check
    assert audited["GC-AWS-CT-2"][1] == {"cloudtrail"} and audited["GC-AWS-VPC-2"][1] == {"ec2-network"}
    # issue 23: KMS rotation, the password policy, the human roles, Access Analyzer, the alarms and the SCPs
    assert audited["GC-AWS-KMS-1"][1] == {"kms"} and audited["GC-AWS-IAM-1"][1] == {"password-policy"}
    assert audited["GC-AWS-IAM-3"][1] == audited["GC-AWS-IAM-4"][1] == {"iam-roles"}
    assert audited["GC-AWS-IAA-1"][1] == {"access-analyzer"} and audited["GC-AWS-EVT-2"][1] == {"events"}
    assert audited["GC-AWS-ORG-1"][1] == {"organizations"} and audited["GC-GEN-REGION-1"][1] == {"elsewhere"}
    aws = {cid for cid, c in load_controls().items() if c.cloud in ("aws", "any")}
    assert aws - set(audited) == {"GC-AWS-S3-3", "GC-AWS-S3-4", "GC-AWS-S3-5"}


def test_dev_cloud_services_without_a_dev_cloud(tmp_path):
    """The dev-cloud services the CLI adapts: typed outcomes, and a UsageError (exit 1) naming what to
    do when no dev cloud runs; nothing is printed or exited here."""
    from govcloud.app.live import FaultRequest, add_fault, clear_faults, dev_cloud_status, list_faults
    from govcloud.diagnostics import UsageError
    from govcloud.workspace import Workspace

    ws = Workspace(tmp_path)
    status = dev_cloud_status(ws)
    assert not status.running and status.as_json() == {"running": False} and status.accounts == {}
    assert status.state_file == tmp_path / ".govcloud" / "dev-cloud.json"
    for call in (lambda: add_fault(ws, FaultRequest("guardduty:ListDetectors", "access-denied", tenant="x")),
                 lambda: list_faults(ws), lambda: clear_faults(ws)):
        with pytest.raises(UsageError, match="no dev cloud is running: govcloud dev-cloud start"):
            call()



def test_the_controls_page_lists_every_control_as_the_audit_judges_it():
    """docs/live-controls.md says, for every control, "read live" (which reader, which regions) or
    "plan only, because ..."; it must say what live/data/audit.yaml and live/readers.py do."""
    import re

    from govcloud.live.audit import every_region_controls
    from govcloud.live.readers import READERS
    from tests.conftest import REPO

    text = (REPO / "docs" / "live-controls.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (GC-[A-Z0-9-]+) \| [^|]+ \| ([^|]+) \|$", text, re.M)}
    controls = load_controls()
    audited = audited_controls(controls)
    assert set(rows) == set(controls)
    every = every_region_controls()
    for cid, says in rows.items():
        if cid in audited:
            assert says.startswith("read live"), cid
            named = set(re.findall(r"`([a-z0-9-]+)`", says))
            assert audited[cid][1] <= named | {"elsewhere"}, cid
            assert ("every allowed region" in says) == (cid in every), cid
        else:
            assert says.startswith("plan only, because "), cid
    perms = {m.group(1): set(m.group(2).split(", ")) for m in re.finditer(r"^\| `([a-z0-9-]+)` \| [^|]+ \| ([^|]+?) \|$", text, re.M)}
    assert perms == {name: set(r.permissions) for name, r in READERS.items()}


def test_every_reader_declares_its_permissions_and_the_audit_role_grants_them():
    from govcloud.live.readers import AUDIT_PERMISSIONS, READERS, permissions

    for name, reader in READERS.items():
        assert reader.permissions, name
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", p) for p in reader.permissions), name
    tenant = {p for r in READERS.values() if r.scope != "management" for p in r.permissions}
    assert tenant <= set(AUDIT_PERMISSIONS)
    assert not set(READERS["organizations"].permissions) & set(permissions("tenant"))
    assert set(permissions("management")) == set(READERS["organizations"].permissions)


def test_a_region_is_judged_with_what_was_read_there():
    """Per-region judging: a failed regional read leaves its controls unevaluated in that region only;
    a region other than the home one is judged only on the every-region stack controls."""
    from govcloud.live.audit import every_region_controls, region_controls
    from govcloud.live.clients import CallFailure
    from govcloud.live.readers import LiveAccount

    live = LiveAccount("111122223333", "ap-northeast-1", regions=("ap-northeast-1", "ap-northeast-3"))
    live.failures["kms@ap-northeast-3"] = CallFailure("kms:GetKeyRotationStatus", "access-denied", "denied", "kms:GetKeyRotationStatus")
    live.failures["password-policy"] = CallFailure("iam:GetAccountPasswordPolicy", "not-implemented", "no such API")
    audited, every = audited_controls(load_controls()), every_region_controls()
    tokyo, left_tokyo = region_controls(audited, live, "ap-northeast-1", every)
    osaka, left_osaka = region_controls(audited, live, "ap-northeast-3", every)
    assert "GC-AWS-KMS-1" in tokyo and "GC-AWS-KMS-1" in left_osaka and "GC-AWS-KMS-1" not in osaka
    assert {"GC-AWS-IAM-1", "GC-AWS-IAM-2"} <= left_tokyo and {"GC-AWS-IAM-1", "GC-AWS-IAM-2"} <= left_osaka
    assert "GC-AWS-CT-7" in tokyo and "GC-AWS-CT-7" not in osaka and "GC-AWS-GD-2" in osaka
    assert "GC-AWS-ORG-1" in tokyo and "GC-AWS-ORG-1" not in osaka

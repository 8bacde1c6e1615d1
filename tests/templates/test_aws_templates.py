"""The AWS templates, asserted on the recorded plan of sample tenants (mynumber and internet zones)."""

import json

import pytest

from govcloud.templates.aws.network import subnet_layout
from govcloud.templates.base import REQUIRED_TAGS
from tests.plans import one, resources, sample_plan

MYNUMBER = "tenant-131016-juki-prod"
INTERNET = "tenant-271004-denshi-shinsei-prod"


@pytest.fixture(scope="module")
def plan():
    """The home region's part of the plan: what AwsSecurityBaseline and the other templates place
    with the tenant provider (the second Japan region's baseline is asserted on its own below)."""
    full = sample_plan(MYNUMBER)
    return {**full, "deployment": {**full["deployment"], "resources": [
        r for r in full["deployment"]["resources"] if "pulumi:providers:aws::tenant-ap-northeast-" not in (r.get("provider") or "")
        and not r["type"] == "govcloud:aws:RegionalBaseline"]}}


def test_the_other_japan_region_gets_the_regional_baseline():
    """Issue 23: GuardDuty, Config, Security Hub and EBS encryption by default in the other Japan
    region too, through a second provider into the same account; a Tokyo tenant's is Osaka, an Osaka
    tenant's is Tokyo."""
    for stack, other in ((MYNUMBER, "ap-northeast-3"), (INTERNET, "ap-northeast-1")):
        full = sample_plan(stack)
        provider = next(r for r in resources(full, "pulumi:providers:aws") if r["urn"].endswith(f"::tenant-{other}"))
        assert provider["inputs"]["region"] == other and "assumeRoles" in provider["inputs"]
        placed = [r for r in resources(full) if (r.get("provider") or "").startswith(provider["urn"] + "::")]
        types = {r["type"] for r in placed}
        assert {"aws:guardduty/detector:Detector", "aws:cfg/recorder:Recorder", "aws:cfg/recorderStatus:RecorderStatus",
                "aws:cfg/deliveryChannel:DeliveryChannel", "aws:securityhub/account:Account",
                "aws:ebs/encryptionByDefault:EncryptionByDefault", "aws:ebs/defaultKmsKey:DefaultKmsKey",
                "aws:kms/key:Key"} <= types, stack
        standards = {r["inputs"]["standardsArn"] for r in placed if r["type"].endswith("StandardsSubscription")}
        assert all(f"arn:aws:securityhub:{other}::" in a for a in standards) and len(standards) == 2
        assert all(r["inputs"]["enableKeyRotation"] for r in placed if r["type"] == "aws:kms/key:Key")


def test_cloudtrail(plan):
    trail = one(plan, "aws:cloudtrail/trail:Trail")
    assert trail["isMultiRegionTrail"] and trail["enableLogFileValidation"] and trail["enableLogging"]
    assert trail["includeGlobalServiceEvents"]
    assert trail["kmsKeyId"].startswith("arn:aws:kms:ap-northeast-1:")
    assert trail["s3BucketName"] == "govcloud-log-archive-333333333333"  # the central log archive
    assert trail["cloudWatchLogsGroupArn"].endswith("/cloudtrail:*") and trail["cloudWatchLogsRoleArn"]


def test_config_guardduty_securityhub_analyzer(plan):
    recorder = one(plan, "aws:cfg/recorder:Recorder")
    assert recorder["recordingGroup"] == {"allSupported": True, "includeGlobalResourceTypes": True}
    assert one(plan, "aws:cfg/deliveryChannel:DeliveryChannel")["s3BucketName"] == "govcloud-log-archive-333333333333"
    assert one(plan, "aws:cfg/recorderStatus:RecorderStatus")["isEnabled"] is True
    assert one(plan, "aws:guardduty/detector:Detector")["enable"] is True
    standards = {r["inputs"]["standardsArn"] for r in resources(plan, "aws:securityhub/standardsSubscription:StandardsSubscription")}
    assert any("aws-foundational-security-best-practices" in s for s in standards)
    assert any("cis-aws-foundations-benchmark" in s for s in standards)
    assert one(plan, "aws:accessanalyzer/analyzer:Analyzer")["type"] == "ACCOUNT"


def test_account_defaults_and_key(plan):
    assert one(plan, "aws:ebs/encryptionByDefault:EncryptionByDefault")["enabled"] is True
    pab = one(plan, "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock")
    assert all(pab[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    pw = one(plan, "aws:iam/accountPasswordPolicy:AccountPasswordPolicy")
    assert pw["minimumPasswordLength"] >= 14 and pw["passwordReusePrevention"] >= 24
    key = one(plan, "aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    account = plan["deployment"]["resources"][0]["outputs"]["accountId"]
    # the mocked invoke answered with the tenant's account id, which lands in the key policy
    assert f"arn:aws:iam::{account}:root" in key["policy"]
    assert one(plan, "aws:sns/topic:Topic")["kmsMasterKeyId"]
    patterns = [json.loads(r["inputs"]["eventPattern"]) for r in resources(plan, "aws:cloudwatch/eventRule:EventRule")]
    sources = {s for p in patterns for s in p["source"]}
    assert {"aws.guardduty", "aws.securityhub", "aws.iam", "aws.ec2", "aws.cloudtrail"} <= sources
    assert len(resources(plan, "aws:cloudwatch/eventTarget:EventTarget")) == len(patterns)


def test_closed_zone_network(plan):
    assert not resources(plan, "aws:ec2/internetGateway:InternetGateway")
    subnets = resources(plan, "aws:ec2/subnet:Subnet")
    assert len({s["inputs"]["availabilityZoneId"] for s in subnets}) >= 2
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in subnets)
    sg = one(plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.get("ingress", []) == [] and sg.get("egress", []) == []
    flow = one(plan, "aws:ec2/flowLog:FlowLog")
    assert flow["trafficType"] == "ALL" and flow["logDestination"].startswith("arn:aws:s3:::govcloud-log-archive")
    services = {r["inputs"]["serviceName"].split(".", 3)[-1] for r in resources(plan, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert {"ssm", "logs", "kms", "sts", "s3"} <= services
    attachment = one(plan, "aws:networkmanager/vpcAttachment:VpcAttachment")
    assert attachment["tags"]["segment"] == "mynumber"
    routes = resources(plan, "aws:ec2/route:Route")
    assert all("gatewayId" not in r["inputs"] for r in routes)
    assert all(r["inputs"].get("coreNetworkArn") for r in routes)


def test_access_roles_need_mfa_and_boundary(plan):
    roles = {r["inputs"]["name"]: r["inputs"] for r in resources(plan, "aws:iam/role:Role")}
    for suffix in ("vendor-operator", "operations-assistant", "security-audit"):
        role = roles[f"131016-juki-prod-{suffix}"]
        trust = json.loads(role["assumeRolePolicy"])
        assert trust["Statement"][0]["Condition"]["Bool"]["aws:MultiFactorAuthPresent"] == "true"
        assert role["permissionsBoundary"].endswith(":policy/131016-juki-prod-boundary")
    vendor_trust = json.loads(roles["131016-juki-prod-vendor-operator"]["assumeRolePolicy"])
    assert vendor_trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:PrincipalTag/vendor": "asuka-systems"}


def test_every_taggable_resource_carries_the_tenant_tags(plan):
    tagged = [r for r in resources(plan) if r["custom"] and "tags" in r["inputs"]]
    assert len(tagged) > 20
    for r in tagged:
        assert set(REQUIRED_TAGS) <= set(r["inputs"]["tags"]), r["urn"]
        assert r["inputs"]["tags"]["tenant"] == "131016-juki-prod"
    provider = next(r for r in resources(plan, "pulumi:providers:aws") if "assumeRoles" in r["inputs"])
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["zone"] == "mynumber"


def test_children_are_parented_to_their_component(plan):
    components = {r["urn"] for r in resources(plan) if r["type"].startswith("govcloud:aws:")}
    assert len(components) == 3          # the home region's; the second region's RegionalBaseline is asserted above
    trail = next(r for r in resources(plan, "aws:cloudtrail/trail:Trail"))
    assert trail["parent"].endswith("govcloud:aws:SecurityBaseline::baseline")
    assert "pulumi:providers:aws::tenant::" in trail["provider"]


def test_open_zone_gets_public_subnets_behind_an_igw():
    plan = sample_plan(INTERNET)
    assert len(resources(plan, "aws:ec2/internetGateway:InternetGateway")) == 1
    assert {s["inputs"]["tags"]["tier"] for s in resources(plan, "aws:ec2/subnet:Subnet")} == {"workload", "endpoints", "public"}
    assert all(s["inputs"]["mapPublicIpOnLaunch"] is False for s in resources(plan, "aws:ec2/subnet:Subnet"))


def test_subnet_layout_fits_the_vpc():
    import ipaddress

    for cidr in ("10.0.0.0/20", "10.0.0.0/24", "10.0.0.0/25"):
        layout = subnet_layout(cidr)
        nets = [ipaddress.ip_network(c) for c in layout.workload + layout.endpoints + layout.public]
        assert all(n.subnet_of(ipaddress.ip_network(cidr)) and n.prefixlen <= 28 for n in nets)
        assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    with pytest.raises(ValueError):
        subnet_layout("10.0.0.0/26")

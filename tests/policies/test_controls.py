"""Every control: the compliant sample plan passes; a minimally broken copy fails exactly that
control and no other."""

import copy
import json

import pytest

from govcloud.policies.catalogue import load_controls
from govcloud.policies.engine import CheckRun, check_plan
from tests.plans import sample_plan

T, A, F = "tenant-131016-juki-prod", "tenant-minato-data-kokuho-prod", "foundation"


def failed(plan) -> set[str]:
    run = CheckRun()
    check_plan(plan, load_controls(), [], run)
    return {f.control for f in run.findings}


def first(plan, type_, pred=lambda r: True):
    return next(r for r in plan["deployment"]["resources"] if r["type"] == type_ and pred(r))


def set_(type_, key, value, pred=lambda r: True):
    def mutate(plan):
        inputs = first(plan, type_, pred)["inputs"]
        *path, last = key.split(".")
        for part in path:
            inputs = inputs.setdefault(part, {})
        if value is DELETE:
            inputs.pop(last, None)
        else:
            inputs[last] = value
    return mutate


def drop(type_, pred=lambda r: True):
    def mutate(plan):
        plan["deployment"]["resources"] = [r for r in plan["deployment"]["resources"] if not (r["type"] == type_ and pred(r))]
    return mutate


def add(type_, inputs=None):
    def mutate(plan):
        tags = next(r["inputs"]["tags"] for r in plan["deployment"]["resources"] if "tags" in r.get("inputs", {}))
        plan["deployment"]["resources"].append({"urn": f"urn:pulumi:x::govcloud::{type_}::added", "custom": True,
                                                "type": type_, "inputs": {"tags": dict(tags), **(inputs or {})}})
    return mutate


DELETE = object()
TRAIL, KEY = "aws:cloudtrail/trail:Trail", "aws:kms/key:Key"


def pattern_has(source):
    return lambda r: source in json.loads(r["inputs"]["eventPattern"])["source"]


def arn_has(text):
    return lambda r: text in r["inputs"]["standardsArn"]


def without_mfa(plan):
    role = first(plan, "aws:iam/role:Role", lambda r: r["inputs"].get("tags", {}).get("access") == "vendor")["inputs"]
    doc = json.loads(role["assumeRolePolicy"])
    del doc["Statement"][0]["Condition"]["Bool"]
    role["assumeRolePolicy"] = json.dumps(doc)


def scp_allows_virginia(plan):
    policy = first(plan, "aws:organizations/policy:Policy", lambda r: "outside-japan" in r["inputs"]["name"])["inputs"]
    doc = json.loads(policy["content"])
    doc["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"].append("us-east-1")
    policy["content"] = json.dumps(doc)


def nsg(change):
    def mutate(plan):
        rules = first(plan, "azure-native:network:NetworkSecurityGroup")["inputs"]["securityRules"]
        change(rules)
    return mutate


CASES = {
    "GC-AWS-CT-1": (T, set_(TRAIL, "isMultiRegionTrail", False)),
    "GC-AWS-CT-2": (T, set_(TRAIL, "enableLogFileValidation", False)),
    "GC-AWS-CT-3": (T, set_(TRAIL, "kmsKeyId", DELETE)),
    "GC-AWS-CT-4": (T, set_(TRAIL, "cloudWatchLogsGroupArn", DELETE)),
    "GC-AWS-CT-5": (T, set_(TRAIL, "enableLogging", False)),
    "GC-AWS-CT-6": (T, set_(TRAIL, "includeGlobalServiceEvents", False)),
    "GC-AWS-CT-7": (T, drop(TRAIL)),
    "GC-AWS-CFG-1": (T, set_("aws:cfg/recorder:Recorder", "recordingGroup.allSupported", False)),
    "GC-AWS-CFG-2": (T, set_("aws:cfg/recorderStatus:RecorderStatus", "isEnabled", False)),
    "GC-AWS-GD-1": (T, set_("aws:guardduty/detector:Detector", "enable", False)),
    "GC-AWS-GD-2": (T, drop("aws:guardduty/detector:Detector")),
    "GC-AWS-SH-1": (T, drop("aws:securityhub/standardsSubscription:StandardsSubscription", arn_has("foundational"))),
    "GC-AWS-SH-2": (T, drop("aws:securityhub/standardsSubscription:StandardsSubscription", arn_has("cis-"))),
    "GC-AWS-IAA-1": (T, drop("aws:accessanalyzer/analyzer:Analyzer")),
    "GC-AWS-EBS-1": (T, set_("aws:ebs/encryptionByDefault:EncryptionByDefault", "enabled", False)),
    "GC-AWS-EBS-2": (T, drop("aws:ebs/encryptionByDefault:EncryptionByDefault")),
    "GC-AWS-MN-1": (T, drop("aws:ebs/defaultKmsKey:DefaultKmsKey")),
    "GC-AWS-S3-1": (T, set_("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "blockPublicAcls", False)),
    "GC-AWS-S3-2": (T, drop("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock")),
    "GC-AWS-S3-3": (F, set_("aws:s3/bucket:Bucket", "objectLockEnabled", False)),
    "GC-AWS-S3-4": (F, set_("aws:s3/bucketVersioning:BucketVersioning", "versioningConfiguration.status", "Suspended")),
    "GC-AWS-S3-5": (F, set_("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "rules",
                            [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])),
    "GC-AWS-IAM-1": (T, set_("aws:iam/accountPasswordPolicy:AccountPasswordPolicy", "minimumPasswordLength", 8)),
    "GC-AWS-IAM-2": (T, set_("aws:iam/accountPasswordPolicy:AccountPasswordPolicy", "passwordReusePrevention", 5)),
    "GC-AWS-IAM-3": (T, without_mfa),
    "GC-AWS-IAM-4": (T, set_("aws:iam/role:Role", "permissionsBoundary", DELETE, lambda r: r["inputs"].get("tags", {}).get("access") == "security")),
    "GC-AWS-KMS-1": (T, set_(KEY, "enableKeyRotation", False)),
    "GC-AWS-SNS-1": (T, set_("aws:sns/topic:Topic", "kmsMasterKeyId", DELETE)),
    "GC-AWS-LOG-1": (T, set_("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", 30)),
    "GC-AWS-LOG-2": (T, set_("aws:cloudwatch/logGroup:LogGroup", "kmsKeyId", DELETE)),
    "GC-AWS-EVT-1": (T, drop("aws:cloudwatch/eventRule:EventRule", pattern_has("aws.guardduty"))),
    "GC-AWS-EVT-2": (T, drop("aws:cloudwatch/eventRule:EventRule", pattern_has("aws.iam"))),
    "GC-AWS-EVT-3": (T, drop("aws:cloudwatch/eventRule:EventRule", pattern_has("aws.ec2"))),
    "GC-AWS-EVT-4": (T, drop("aws:cloudwatch/eventRule:EventRule", pattern_has("aws.cloudtrail"))),
    "GC-AWS-VPC-1": (T, set_("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "ingress",
                             [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])),
    "GC-AWS-VPC-2": (T, set_("aws:ec2/flowLog:FlowLog", "trafficType", "REJECT")),
    "GC-AWS-VPC-3": (T, add("aws:ec2/internetGateway:InternetGateway", {"vpcId": "vpc-1"})),
    "GC-AWS-VPC-4": (T, set_("aws:ec2/subnet:Subnet", "mapPublicIpOnLaunch", True)),
    "GC-AWS-VPC-5": (T, set_("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cidrIpv4", "0.0.0.0/0")),
    "GC-AWS-VPC-6": (T, add("aws:ec2/eip:Eip", {"domain": "vpc"})),
    "GC-AWS-ORG-1": (F, scp_allows_virginia),
    "GC-AZ-KV-1": (A, set_("azure-native:keyvault:Vault", "properties.enablePurgeProtection", False)),
    "GC-AZ-KV-2": (A, set_("azure-native:keyvault:Vault", "properties.enableRbacAuthorization", False)),
    "GC-AZ-KV-3": (A, lambda p: (set_("azure-native:keyvault:Vault", "properties.publicNetworkAccess", "Enabled")(p),
                                 set_("azure-native:keyvault:Vault", "properties.networkAcls.defaultAction", "Allow")(p))),
    "GC-AZ-MN-1": (A, set_("azure-native:keyvault:Vault", "properties.sku.name", "standard")),
    "GC-AZ-DEF-1": (A, set_("azure-native:security:Pricing", "pricingTier", "Free", lambda r: r["inputs"]["pricingName"] == "Containers")),
    "GC-AZ-DEF-2": (A, drop("azure-native:security:Pricing", lambda r: r["inputs"]["pricingName"] == "KeyVaults")),
    "GC-AZ-LOG-1": (A, drop("azure-native:monitor:SubscriptionDiagnosticSetting")),
    "GC-AZ-LOG-2": (A, set_("azure-native:operationalinsights:Workspace", "retentionInDays", 30)),
    "GC-AZ-NSG-1": (A, nsg(lambda rules: rules.remove(next(r for r in rules if r["name"] == "deny-all-inbound")))),
    "GC-AZ-NSG-2": (A, nsg(lambda rules: rules.insert(0, {"name": "open", "direction": "Inbound", "access": "Allow",
                                                          "sourceAddressPrefix": "*", "destinationPortRange": "443"}))),
    "GC-AZ-NET-1": (A, drop("azure-native:network:FlowLog")),
    "GC-AZ-NET-2": (A, add("azure-native:network:PublicIPAddress", {"location": "japaneast"})),
    "GC-AZ-POL-1": (A, drop("azure-native:authorization:PolicyAssignment", lambda r: r["inputs"]["policyAssignmentName"] == "govcloud-allowed-locations")),
    "GC-AZ-POL-2": (A, drop("azure-native:authorization:PolicyAssignment", lambda r: r["inputs"]["policyAssignmentName"] == "govcloud-deny-public-ip")),
    "GC-GEN-REGION-1": (T, set_("pulumi:providers:aws", "region", "us-east-1", lambda r: r["urn"].endswith("::tenant"))),
    "GC-GEN-TAGS-1": (T, set_("aws:ec2/vpc:Vpc", "tags", {"zone": "mynumber"})),
}


def test_every_control_has_a_case_and_there_are_at_least_40():
    assert set(CASES) == set(load_controls()) and len(CASES) >= 40


@pytest.mark.parametrize("stack", [T, A, F, "network", "tenant-011002-zaimu-prod", "tenant-271004-denshi-shinsei-prod"])
def test_compliant_sample_plans_pass(stack):
    assert failed(sample_plan(stack)) == set()


@pytest.mark.parametrize("control", sorted(CASES))
def test_minimally_broken_plan_fails_exactly_that_control(control):
    stack, mutate = CASES[control]
    plan = copy.deepcopy(sample_plan(stack))
    mutate(plan)
    assert failed(plan) == {control}


def test_internet_zone_may_have_an_internet_gateway():
    plan = sample_plan("tenant-271004-denshi-shinsei-prod")
    assert any(r["type"] == "aws:ec2/internetGateway:InternetGateway" for r in plan["deployment"]["resources"])
    assert "GC-AWS-VPC-3" not in failed(plan)


def findings(plan) -> list:
    run = CheckRun()
    check_plan(plan, load_controls(), [], run)
    return run.findings


@pytest.mark.parametrize("stack, provider, key", [(T, "pulumi:providers:aws", "region"),
                                                  (A, "pulumi:providers:azure-native", "location")])
@pytest.mark.parametrize("value", [DELETE, None, "", 5, {"secret": "x"}])
def test_a_provider_without_a_readable_region_fails_the_region_control(stack, provider, key, value):
    """A control that cannot read what it judges fails the resource: a provider with no region
    (or one that is not a region name) cannot be shown to be in Japan."""
    plan = copy.deepcopy(sample_plan(stack))
    set_(provider, key, value)(plan)
    found = [f for f in findings(plan) if f.control == "GC-GEN-REGION-1"]
    assert len(found) == 1 and found[0].resource_type == provider and "cannot evaluate" in found[0].message
    assert failed(plan) == {"GC-GEN-REGION-1"}


def test_a_resource_marked_non_custom_is_judged_all_the_same():
    """The engine judges every resource but the stack and govcloud's components, whatever its
    `custom` says (the plan reader also refuses such a plan: tests/test_plans.py)."""
    plan = copy.deepcopy(sample_plan(T))
    trail = first(plan, TRAIL)
    trail["custom"] = False
    trail["inputs"]["enableLogFileValidation"] = False
    assert "GC-AWS-CT-2" in failed(plan)

"""Read an account's live configuration into the shape of a plan document's resources.

Each reader returns resources as `{"urn", "type", "custom", "inputs"}` with the Pulumi type token
and input property names our templates use, so `policies/controls` judge a live account with the
same functions that judge a plan. The "URN" of a live resource is its ARN (or id), which is what an
operator searches for.

A reader that fails (denied, throttled, timed out) is recorded with its call and the rest go on;
the audit then leaves the controls fed by that reader unevaluated rather than guessing.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Literal

from govcloud.live.clients import Account, CallFailure, call, paginate


@dataclass
class LiveAccount:
    account_id: str
    region: str                                           # the tenant's home region
    resources: list[dict] = field(default_factory=list)   # every region's; each regional one carries inputs.region
    read: set[str] = field(default_factory=set)           # reader keys that completed
    failures: dict[str, CallFailure] = field(default_factory=dict)   # reader key -> what stopped it
    regions: tuple[str, ...] = ()                         # the regions the regional readers read

    def in_region(self, region: str) -> list[dict]:
        """The resources judged as one region's plan: that region's, and (in the home region) the
        account's global ones (IAM, the S3 account block, the organisation's SCPs) and the evidence
        found outside the allowed regions, which carries its own region for GC-GEN-REGION-1."""
        home = region == self.region
        return [r for r in self.resources if r.get("_region", self.region) == region or (home and r.get("_region") is None)]


def reader_key(name: str, region: str | None) -> str:
    """How a reader's run is named in failures: the reader, and for a regional one its region."""
    return name if region is None else f"{name}@{region}"


def _res(urn: str, type_: str, inputs: dict, region: str | None, *, home: str | None = None) -> dict:
    """A plan-shaped resource. A global resource (IAM, Organizations) has no region input, like the
    plan's; ``home`` files evidence from a forbidden region under the home region's plan."""
    if region is None:
        return {"urn": urn, "type": type_, "custom": True, "inputs": dict(inputs), "_region": None}
    return {"urn": urn, "type": type_, "custom": True, "inputs": {**inputs, "region": region},
            "_region": home or region}


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def read_cloudtrail(acct: Account, region: str, account_id: str) -> list[dict]:
    ct = acct.client("cloudtrail", region)
    out = []
    for trail in call(ct, "DescribeTrails", includeShadowTrails=False).get("trailList", []):
        status = call(ct, "GetTrailStatus", Name=trail["TrailARN"])
        out.append(_res(trail["TrailARN"], "aws:cloudtrail/trail:Trail", {
            "name": trail["Name"], "s3BucketName": trail.get("S3BucketName"),
            "isMultiRegionTrail": trail.get("IsMultiRegionTrail", False),
            "enableLogFileValidation": trail.get("LogFileValidationEnabled", False),
            "includeGlobalServiceEvents": trail.get("IncludeGlobalServiceEvents", False),
            "kmsKeyId": trail.get("KmsKeyId"), "cloudWatchLogsGroupArn": trail.get("CloudWatchLogsLogGroupArn"),
            "cloudWatchLogsRoleArn": trail.get("CloudWatchLogsRoleArn"), "enableLogging": status.get("IsLogging", False),
        }, region))
    return out


def read_config(acct: Account, region: str, account_id: str) -> list[dict]:
    cfg = acct.client("config", region)
    out = []
    for rec in call(cfg, "DescribeConfigurationRecorders").get("ConfigurationRecorders", []):
        group = rec.get("recordingGroup", {})
        out.append(_res(f"arn:aws:config:{region}:{account_id}:configuration-recorder/{rec['name']}", "aws:cfg/recorder:Recorder", {
            "name": rec["name"], "roleArn": rec.get("roleARN"),
            "recordingGroup": {"allSupported": group.get("allSupported", False),
                               "includeGlobalResourceTypes": group.get("includeGlobalResourceTypes", False)}}, region))
    for st in call(cfg, "DescribeConfigurationRecorderStatus").get("ConfigurationRecordersStatus", []):
        out.append(_res(f"arn:aws:config:{region}:{account_id}:configuration-recorder-status/{st['name']}",
                        "aws:cfg/recorderStatus:RecorderStatus", {"name": st["name"], "isEnabled": st.get("recording", False)}, region))
    for ch in call(cfg, "DescribeDeliveryChannels").get("DeliveryChannels", []):
        out.append(_res(f"arn:aws:config:{region}:{account_id}:delivery-channel/{ch['name']}", "aws:cfg/deliveryChannel:DeliveryChannel",
                        {"name": ch["name"], "s3BucketName": ch.get("s3BucketName")}, region))
    return out


def read_guardduty(acct: Account, region: str, account_id: str) -> list[dict]:
    gd = acct.client("guardduty", region)
    out = []
    for detector_id in paginate(gd, "ListDetectors", "DetectorIds"):
        detector = call(gd, "GetDetector", DetectorId=detector_id)
        out.append(_res(f"arn:aws:guardduty:{region}:{account_id}:detector/{detector_id}", "aws:guardduty/detector:Detector", {
            "enable": detector.get("Status") == "ENABLED",
            "findingPublishingFrequency": detector.get("FindingPublishingFrequency")}, region))
    return out


def read_securityhub(acct: Account, region: str, account_id: str) -> list[dict]:
    sh = acct.client("securityhub", region)
    try:
        hub = call(sh, "DescribeHub")
    except CallFailure as failure:
        if "not subscribed" in failure.message.lower() or "InvalidAccessException" in failure.message:
            return []
        raise
    out = [_res(hub.get("HubArn", f"arn:aws:securityhub:{region}:{account_id}:hub/default"), "aws:securityhub/account:Account",
                {"autoEnableControls": hub.get("AutoEnableControls", True)}, region)]
    for sub in paginate(sh, "GetEnabledStandards", "StandardsSubscriptions"):
        if sub.get("StandardsStatus") in (None, "READY", "PENDING", "INCOMPLETE"):
            out.append(_res(sub["StandardsSubscriptionArn"], "aws:securityhub/standardsSubscription:StandardsSubscription",
                            {"standardsArn": sub["StandardsArn"]}, region))
    return out


def read_ebs(acct: Account, region: str, account_id: str) -> list[dict]:
    ec2 = acct.client("ec2", region)
    out = [_res(f"arn:aws:ec2:{region}:{account_id}:ebs-encryption-by-default", "aws:ebs/encryptionByDefault:EncryptionByDefault",
                {"enabled": call(ec2, "GetEbsEncryptionByDefault").get("EbsEncryptionByDefault", False)}, region)]
    key = call(ec2, "GetEbsDefaultKmsKeyId").get("KmsKeyId") or ""
    if key and not key.endswith("alias/aws/ebs"):   # the AWS-managed key is not a customer-managed one
        out.append(_res(f"arn:aws:ec2:{region}:{account_id}:ebs-default-kms-key", "aws:ebs/defaultKmsKey:DefaultKmsKey",
                        {"keyArn": key}, region))
    return out


def read_s3_account(acct: Account, region: str, account_id: str) -> list[dict]:
    s3c = acct.client("s3control", region)
    try:
        block = call(s3c, "GetPublicAccessBlock", AccountId=account_id)["PublicAccessBlockConfiguration"]
    except CallFailure as failure:
        if "NoSuchPublicAccessBlockConfiguration" in failure.message:
            return []
        raise
    return [_res(f"arn:aws:s3:::account/{account_id}/public-access-block", "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", {
        "blockPublicAcls": block.get("BlockPublicAcls", False), "blockPublicPolicy": block.get("BlockPublicPolicy", False),
        "ignorePublicAcls": block.get("IgnorePublicAcls", False), "restrictPublicBuckets": block.get("RestrictPublicBuckets", False)}, region)]


def permission_rules(group: dict, direction: str) -> list[dict]:
    """One rule per (permission, source) of a security group, in the shape of
    aws:vpc/securityGroup{Ingress,Egress}Rule inputs."""
    rules = []
    for perm in group.get("IpPermissions" if direction == "ingress" else "IpPermissionsEgress", []):
        base = {"ipProtocol": perm.get("IpProtocol", "-1"), "securityGroupId": group["GroupId"]}
        if "FromPort" in perm:
            base.update(fromPort=perm["FromPort"], toPort=perm.get("ToPort", perm["FromPort"]))
        for r in perm.get("IpRanges", []):
            rules.append({**base, "cidrIpv4": r["CidrIp"], "description": r.get("Description", "")})
        for r in perm.get("Ipv6Ranges", []):
            rules.append({**base, "cidrIpv6": r["CidrIpv6"], "description": r.get("Description", "")})
        for r in perm.get("UserIdGroupPairs", []):
            rules.append({**base, "referencedSecurityGroupId": r["GroupId"], "description": r.get("Description", "")})
        for r in perm.get("PrefixListIds", []):
            rules.append({**base, "prefixListId": r["PrefixListId"], "description": r.get("Description", "")})
    return rules


def read_ec2_network(acct: Account, region: str, account_id: str) -> list[dict]:
    ec2 = acct.client("ec2", region)
    out = []
    arn = f"arn:aws:ec2:{region}:{account_id}"
    for vpc in paginate(ec2, "DescribeVpcs", "Vpcs"):
        out.append(_res(f"{arn}:vpc/{vpc['VpcId']}", "aws:ec2/vpc:Vpc", {"cidrBlock": vpc["CidrBlock"], "vpcId": vpc["VpcId"],
                                                                            "tags": _tags(vpc.get("Tags"))}, region))
    for subnet in paginate(ec2, "DescribeSubnets", "Subnets"):
        out.append(_res(f"{arn}:subnet/{subnet['SubnetId']}", "aws:ec2/subnet:Subnet", {
            "cidrBlock": subnet["CidrBlock"], "vpcId": subnet["VpcId"], "mapPublicIpOnLaunch": subnet.get("MapPublicIpOnLaunch", False),
            "tags": _tags(subnet.get("Tags"))}, region))
    for group in paginate(ec2, "DescribeSecurityGroups", "SecurityGroups"):
        sg_arn = f"{arn}:security-group/{group['GroupId']}"
        if group["GroupName"] == "default":
            out.append(_res(sg_arn, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {
                "vpcId": group.get("VpcId"), "ingress": permission_rules(group, "ingress"),
                "egress": permission_rules(group, "egress")}, region))
            continue
        out.append(_res(sg_arn, "aws:ec2/securityGroup:SecurityGroup", {
            "name": group["GroupName"], "description": group.get("Description"), "vpcId": group.get("VpcId"),
            "tags": _tags(group.get("Tags"))}, region))
        for direction, type_ in (("ingress", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
                                 ("egress", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")):
            for i, rule in enumerate(permission_rules(group, direction)):
                out.append(_res(f"{sg_arn}#{direction}-{i}", type_, rule, region))
    for log in paginate(ec2, "DescribeFlowLogs", "FlowLogs"):
        out.append(_res(f"{arn}:vpc-flow-log/{log['FlowLogId']}", "aws:ec2/flowLog:FlowLog", {
            "vpcId": log.get("ResourceId"), "trafficType": log.get("TrafficType"),
            "logDestinationType": log.get("LogDestinationType"), "logDestination": log.get("LogDestination")}, region))
    for igw in paginate(ec2, "DescribeInternetGateways", "InternetGateways"):
        out.append(_res(f"{arn}:internet-gateway/{igw['InternetGatewayId']}", "aws:ec2/internetGateway:InternetGateway", {
            "vpcId": next((a["VpcId"] for a in igw.get("Attachments", [])), None), "tags": _tags(igw.get("Tags"))}, region))
    for eigw in paginate(ec2, "DescribeEgressOnlyInternetGateways", "EgressOnlyInternetGateways"):
        out.append(_res(f"{arn}:egress-only-internet-gateway/{eigw['EgressOnlyInternetGatewayId']}",
                        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
                        {"vpcId": next((a["VpcId"] for a in eigw.get("Attachments", [])), None)}, region))
    for nat in paginate(ec2, "DescribeNatGateways", "NatGateways"):
        if nat.get("State") not in ("deleted", "deleting", "failed"):
            out.append(_res(f"{arn}:natgateway/{nat['NatGatewayId']}", "aws:ec2/natGateway:NatGateway",
                            {"vpcId": nat.get("VpcId"), "subnetId": nat.get("SubnetId")}, region))
    for address in call(ec2, "DescribeAddresses").get("Addresses", []):
        out.append(_res(f"{arn}:elastic-ip/{address.get('AllocationId', address.get('PublicIp'))}", "aws:ec2/eip:Eip", {
            "domain": address.get("Domain"), "publicIp": address.get("PublicIp"), "tags": _tags(address.get("Tags"))}, region))
    return out


# --- KMS, logs, alarms, Access Analyzer (regional) ---------------------------------------------------------


def read_kms(acct: Account, region: str, account_id: str) -> list[dict]:
    """Customer-managed keys and their rotation. AWS-managed keys (KeyManager AWS) rotate yearly by
    AWS and cannot be changed, so KMS.4 (and GC-AWS-KMS-1) judge only customer-managed symmetric
    keys; a key pending deletion or disabled encrypts nothing new and is left out.
    Source: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html"""
    kms = acct.client("kms", region)
    out = []
    for key in paginate(kms, "ListKeys", "Keys"):
        meta = call(kms, "DescribeKey", KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") == "AWS" or meta.get("KeyState") not in ("Enabled", None):
            continue
        if meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" or meta.get("Origin", "AWS_KMS") != "AWS_KMS":
            continue   # rotation is only possible for symmetric keys with KMS-generated material
        rotation = call(kms, "GetKeyRotationStatus", KeyId=key["KeyId"])
        out.append(_res(meta["Arn"], "aws:kms/key:Key", {
            "description": meta.get("Description", ""), "keyUsage": meta.get("KeyUsage"),
            "enableKeyRotation": bool(rotation.get("KeyRotationEnabled"))}, region))
    return out


def read_logs(acct: Account, region: str, account_id: str) -> list[dict]:
    logs = acct.client("logs", region)
    out = []
    for group in paginate(logs, "DescribeLogGroups", "logGroups"):
        inputs = {"name": group["logGroupName"]}
        if group.get("retentionInDays"):
            inputs["retentionInDays"] = group["retentionInDays"]
        if group.get("kmsKeyId"):
            inputs["kmsKeyId"] = group["kmsKeyId"]
        out.append(_res(group.get("arn", f"arn:aws:logs:{region}:{account_id}:log-group:{group['logGroupName']}").removesuffix(":*"),
                        "aws:cloudwatch/logGroup:LogGroup", inputs, region))
    return out


def read_sns(acct: Account, region: str, account_id: str) -> list[dict]:
    sns = acct.client("sns", region)
    out = []
    for topic in paginate(sns, "ListTopics", "Topics"):
        attrs = call(sns, "GetTopicAttributes", TopicArn=topic["TopicArn"]).get("Attributes", {})
        inputs = {"name": topic["TopicArn"].rsplit(":", 1)[-1]}
        if attrs.get("KmsMasterKeyId"):
            inputs["kmsMasterKeyId"] = attrs["KmsMasterKeyId"]
        out.append(_res(topic["TopicArn"], "aws:sns/topic:Topic", inputs, region))
    return out


def read_events(acct: Account, region: str, account_id: str) -> list[dict]:
    """EventBridge rules, the alarms of GC-AWS-EVT-*: a rule alerts only while its state is
    ENABLED and it has a target (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Rule.html)."""
    events = acct.client("events", region)
    out = []
    for rule in paginate(events, "ListRules", "Rules"):
        if not rule.get("EventPattern"):
            continue   # a scheduled rule alerts on nothing
        targets = paginate(events, "ListTargetsByRule", "Targets", Rule=rule["Name"])
        out.append(_res(rule["Arn"], "aws:cloudwatch/eventRule:EventRule", {
            "name": rule["Name"], "eventPattern": rule["EventPattern"], "state": rule.get("State", "ENABLED"),
            "targets": [t["Arn"] for t in targets]}, region))
    return out


def read_access_analyzer(acct: Account, region: str, account_id: str) -> list[dict]:
    aa = acct.client("accessanalyzer", region)
    out = []
    for analyzer in paginate(aa, "ListAnalyzers", "analyzers"):
        if analyzer.get("status", "ACTIVE") != "ACTIVE":
            continue
        out.append(_res(analyzer["arn"], "aws:accessanalyzer/analyzer:Analyzer",
                        {"analyzerName": analyzer["name"], "type": analyzer.get("type")}, region))
    return out


# --- IAM (global) ------------------------------------------------------------------------------------------

# IAM's default when an account sets no password policy: at least 8 characters, no reuse
# prevention (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html,
# "Default password policy"). Judging that default, not nothing, is what makes a deleted policy a finding.
DEFAULT_PASSWORD_POLICY = {"minimumPasswordLength": 8, "passwordReusePrevention": 0, "requireSymbols": False,
                           "requireNumbers": False, "requireUppercaseCharacters": False, "requireLowercaseCharacters": False,
                           "allowUsersToChangePassword": True, "maxPasswordAge": 0}


def read_password_policy(acct: Account, region: str, account_id: str) -> list[dict]:
    iam = acct.client("iam")
    urn = f"arn:aws:iam::{account_id}:account-password-policy"
    try:
        p = call(iam, "GetAccountPasswordPolicy")["PasswordPolicy"]
    except CallFailure as failure:
        if "NoSuchEntity" not in failure.message:
            raise
        # (the ARN-like name stays a URI, as SARIF's artifactLocation needs)
        return [_res(f"{urn}/none-set-iam-default", "aws:iam/accountPasswordPolicy:AccountPasswordPolicy",
                     DEFAULT_PASSWORD_POLICY, None)]
    return [_res(urn, "aws:iam/accountPasswordPolicy:AccountPasswordPolicy", {
        "minimumPasswordLength": p.get("MinimumPasswordLength", 0), "passwordReusePrevention": p.get("PasswordReusePrevention", 0),
        "requireSymbols": p.get("RequireSymbols", False), "requireNumbers": p.get("RequireNumbers", False),
        "requireUppercaseCharacters": p.get("RequireUppercaseCharacters", False),
        "requireLowercaseCharacters": p.get("RequireLowercaseCharacters", False),
        "allowUsersToChangePassword": p.get("AllowUsersToChangePassword", False), "maxPasswordAge": p.get("MaxPasswordAge", 0)}, None)]


# Roles the tenant stack does not declare: the one Organizations creates in every new account and
# the platform's read-only audit role. Both are trusted from the management account only.
PLATFORM_ROLES = ("OrganizationAccountAccessRole", "govcloud-audit")


def read_roles(acct: Account, region: str, account_id: str) -> list[dict]:
    """Every role but service-linked and platform roles, with its trust policy, tags and permission
    boundary. ListRoles omits tags and the boundary (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html),
    so each role is read with GetRole."""
    import urllib.parse

    iam = acct.client("iam")
    out = []
    for listed in paginate(iam, "ListRoles", "Roles"):
        if listed.get("Path", "/").startswith("/aws-service-role/") or listed["RoleName"] in PLATFORM_ROLES:
            continue
        role = call(iam, "GetRole", RoleName=listed["RoleName"])["Role"]
        trust = role.get("AssumeRolePolicyDocument")
        if isinstance(trust, str):   # the API returns it URL-encoded; boto3 usually decodes it already
            trust = json.loads(urllib.parse.unquote(trust))
        inputs = {"name": role["RoleName"], "assumeRolePolicy": json.dumps(trust, sort_keys=True) if trust else None,
                  "tags": _tags(role.get("Tags"))}
        boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary:
            inputs["permissionsBoundary"] = boundary
        out.append(_res(role["Arn"], "aws:iam/role:Role", inputs, None))
    return out


# --- the organisation, from the management account -------------------------------------------------------


def read_scps(mgmt: Account, region: str, account_id: str) -> list[dict]:
    """The OUs above the account and every SCP that governs it (attached to the account, any of its
    OUs or the root): an SCP applies to every account below its target
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)."""
    org = mgmt.client("organizations")
    out, targets, child = [], [account_id], account_id
    while True:
        parents = call(org, "ListParents", ChildId=child).get("Parents", [])
        if not parents:
            break
        parent = parents[0]
        targets.append(parent["Id"])
        if parent["Type"] == "ROOT":
            break
        ou = call(org, "DescribeOrganizationalUnit", OrganizationalUnitId=parent["Id"])["OrganizationalUnit"]
        out.append(_res(ou["Arn"], "aws:organizations/organizationalUnit:OrganizationalUnit", {"name": ou["Name"]}, None))
        child = parent["Id"]
    seen: set[str] = set()
    for target in targets:
        for summary in paginate(org, "ListPoliciesForTarget", "Policies", TargetId=target, Filter="SERVICE_CONTROL_POLICY"):
            if summary["Id"] in seen:
                continue
            seen.add(summary["Id"])
            policy = call(org, "DescribePolicy", PolicyId=summary["Id"])["Policy"]
            out.append(_res(summary["Arn"], "aws:organizations/policy:Policy", {
                "name": summary["Name"], "type": "SERVICE_CONTROL_POLICY", "content": policy["Content"]}, None))
    return out


# --- evidence outside the allowed regions ------------------------------------------------------------------


def read_elsewhere(acct: Account, allowed: tuple[str, ...], account_id: str, home: str) -> list[dict]:
    """What the account holds in the regions the guardrails forbid: VPCs other than the default one
    AWS creates in every region, security groups other than a VPC's "default", and instances.
    Each keeps its own region, so GC-GEN-REGION-1 names it; it is judged with the home region."""
    ec2 = acct.client("ec2", home)
    regions = sorted(r["RegionName"] for r in call(ec2, "DescribeRegions", AllRegions=False).get("Regions", [])
                     if r["RegionName"] not in allowed)
    clients = {region: acct.client("ec2", region) for region in regions}   # a session is not thread-safe; clients are

    def one(region: str) -> list[dict]:
        client, arn, out = clients[region], f"arn:aws:ec2:{region}:{account_id}", []
        for vpc in paginate(client, "DescribeVpcs", "Vpcs"):
            if not vpc.get("IsDefault"):
                out.append(_res(f"{arn}:vpc/{vpc['VpcId']}", "aws:ec2/vpc:Vpc", {"cidrBlock": vpc["CidrBlock"],
                                "vpcId": vpc["VpcId"]}, region, home=home))
        for group in paginate(client, "DescribeSecurityGroups", "SecurityGroups"):
            if group["GroupName"] != "default":
                out.append(_res(f"{arn}:security-group/{group['GroupId']}", "aws:ec2/securityGroup:SecurityGroup",
                                {"name": group["GroupName"], "vpcId": group.get("VpcId")}, region, home=home))
        for reservation in paginate(client, "DescribeInstances", "Reservations"):
            for instance in reservation.get("Instances", []):
                if instance.get("State", {}).get("Name") not in ("terminated", "shutting-down"):
                    out.append(_res(f"{arn}:instance/{instance['InstanceId']}", "aws:ec2/instance:Instance",
                                    {"instanceType": instance.get("InstanceType")}, region, home=home))
        return out

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(regions)))) as pool:
        return [r for found in pool.map(one, regions) for r in found]


# --- the readers, as data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """One live read: what it produces and the exact IAM actions it needs (its own, not a managed
    policy's). ``scope``: "regional" runs in every allowed region, "global" once in the tenant
    account, "management" once with the organisation's management account, "elsewhere" once over
    every region the guardrails forbid."""
    fn: Callable
    types: tuple[str, ...]
    permissions: tuple[str, ...]
    scope: Literal["regional", "global", "management", "elsewhere"] = "regional"

    def __iter__(self):   # (fn, types), as callers unpacked the readers before they carried permissions
        return iter((self.fn, self.types))


READERS: dict[str, Reader] = {
    "cloudtrail": Reader(read_cloudtrail, ("aws:cloudtrail/trail:Trail",), ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")),
    "config": Reader(read_config, ("aws:cfg/recorder:Recorder", "aws:cfg/recorderStatus:RecorderStatus", "aws:cfg/deliveryChannel:DeliveryChannel"),
                     ("config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels")),
    "guardduty": Reader(read_guardduty, ("aws:guardduty/detector:Detector",), ("guardduty:ListDetectors", "guardduty:GetDetector")),
    "securityhub": Reader(read_securityhub, ("aws:securityhub/account:Account", "aws:securityhub/standardsSubscription:StandardsSubscription"),
                          ("securityhub:DescribeHub", "securityhub:GetEnabledStandards")),
    "ebs": Reader(read_ebs, ("aws:ebs/encryptionByDefault:EncryptionByDefault", "aws:ebs/defaultKmsKey:DefaultKmsKey"),
                  ("ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId")),
    "s3-account": Reader(read_s3_account, ("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",),
                         ("s3:GetAccountPublicAccessBlock",), "global"),
    "ec2-network": Reader(read_ec2_network, ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup",
                                             "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
                                             "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                             "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/flowLog:FlowLog",
                                             "aws:ec2/internetGateway:InternetGateway",
                                             "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
                                             "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"),
                          ("ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeFlowLogs",
                           "ec2:DescribeInternetGateways", "ec2:DescribeEgressOnlyInternetGateways", "ec2:DescribeNatGateways",
                           "ec2:DescribeAddresses")),
    "kms": Reader(read_kms, ("aws:kms/key:Key",), ("kms:ListKeys", "kms:DescribeKey", "kms:GetKeyRotationStatus")),
    "logs": Reader(read_logs, ("aws:cloudwatch/logGroup:LogGroup",), ("logs:DescribeLogGroups",)),
    "sns": Reader(read_sns, ("aws:sns/topic:Topic",), ("sns:ListTopics", "sns:GetTopicAttributes")),
    "events": Reader(read_events, ("aws:cloudwatch/eventRule:EventRule",), ("events:ListRules", "events:ListTargetsByRule")),
    "access-analyzer": Reader(read_access_analyzer, ("aws:accessanalyzer/analyzer:Analyzer",), ("access-analyzer:ListAnalyzers",)),
    "password-policy": Reader(read_password_policy, ("aws:iam/accountPasswordPolicy:AccountPasswordPolicy",),
                              ("iam:GetAccountPasswordPolicy",), "global"),
    "iam-roles": Reader(read_roles, ("aws:iam/role:Role",), ("iam:ListRoles", "iam:GetRole"), "global"),
    "organizations": Reader(read_scps, ("aws:organizations/organizationalUnit:OrganizationalUnit", "aws:organizations/policy:Policy"),
                            ("organizations:ListParents", "organizations:DescribeOrganizationalUnit",
                             "organizations:ListPoliciesForTarget", "organizations:DescribePolicy"), "management"),
    "elsewhere": Reader(read_elsewhere, ("aws:ec2/instance:Instance",),
                        ("ec2:DescribeRegions", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances"), "elsewhere"),
}

# Where the IAM action that authorises a call is not named service:Operation: S3 Control's
# GetPublicAccessBlock needs s3:GetAccountPublicAccessBlock
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_GetPublicAccessBlock.html, "Permissions").
IAM_ACTION = {"s3:GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock"}

# The network drift's reads (live/drift.py, live/tgw.py, live/cloudwan.py) in the network account.
DRIFT_PERMISSIONS = (
    "ec2:DescribeTransitGateways", "ec2:DescribeTransitGatewayAttachments", "ec2:DescribeTransitGatewayRouteTables",
    "ec2:GetTransitGatewayRouteTablePropagations", "ec2:SearchTransitGatewayRoutes", "ec2:DescribeTags",
    "networkmanager:ListCoreNetworks", "networkmanager:ListAttachments", "networkmanager:GetCoreNetworkPolicy",
)


def permissions(scope: str | None = None) -> tuple[str, ...]:
    """The IAM actions the readers need, sorted, optionally of one account's readers: "tenant" (the
    govcloud-audit role) or "management" (the caller in the organisation's management account)."""
    wanted = [r for r in READERS.values() if scope is None or (r.scope == "management") == (scope == "management")]
    return tuple(sorted({p for r in wanted for p in r.permissions}))


# Everything the govcloud-audit role in a tenant account may call (least privilege; AWS's
# SecurityAudit managed policy is a superset), plus the drift's reads.
AUDIT_PERMISSIONS = tuple(sorted(set(permissions("tenant")) | set(DRIFT_PERMISSIONS)))

# The Japan regions the guardrails allow (the deny-outside-japan SCP of stacks/foundation.py).
ALLOWED_REGIONS = ("ap-northeast-1", "ap-northeast-3")


def read_account(acct: Account, account_id: str, region: str, readers: tuple[str, ...] | None = None,
                 regions: tuple[str, ...] | None = None, mgmt: Account | None = None, workers: int = 6) -> LiveAccount:
    """Read the account: each regional reader in each of ``regions`` (default: the home region
    only), global readers once, the management reader with ``mgmt`` (skipped without it: it then
    counts as not read). Reads run in a small pool; boto3 clients are made first, in this thread,
    because a boto3 session is not thread-safe (clients are)."""
    regions = regions or (region,)
    live = LiveAccount(account_id, region, regions=tuple(regions))
    units: list[tuple[str, Callable[[], list[dict]]]] = []
    for name in readers or tuple(READERS):
        reader = READERS[name]
        if reader.scope == "regional":
            for r in regions:
                units.append((reader_key(name, r), _bound(reader.fn, acct, r, account_id)))
        elif reader.scope == "global":
            units.append((name, _bound(reader.fn, acct, region, account_id)))
        elif reader.scope == "management":
            if mgmt is None:
                live.failures[name] = CallFailure("organizations:ListParents", "not-read",
                                                  "the management account was not given: the SCPs cannot be read")
                continue
            units.append((name, _bound(reader.fn, mgmt, region, account_id)))
        else:
            units.append((name, _bound(lambda a, allowed, i, h=region: read_elsewhere(a, allowed, i, h), acct,
                                       tuple(ALLOWED_REGIONS), account_id)))

    def run(unit):
        key, fn = unit
        try:
            return key, fn(), None
        except CallFailure as failure:
            return key, None, failure

    acct.session  # noqa: B018 - the session (and an AssumeRole) once, before threads share it
    if mgmt is not None:
        mgmt.session  # noqa: B018
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(units)))) as pool:
        for key, found, failure in pool.map(run, units):   # in order: the result does not depend on timing
            if failure is None:
                live.resources.extend(found)
                live.read.add(key)
            else:
                live.failures[key] = failure
    return live


def _bound(fn, acct, region, account_id):
    return lambda: fn(acct, region, account_id)

"""Read an account's live configuration into the shape of a plan document's resources.

Each reader returns resources as `{"urn", "type", "custom", "inputs"}` with the Pulumi type token
and input property names our templates use, so `policies/controls` judge a live account with the
same functions that judge a plan. The "URN" of a live resource is its ARN (or id), which is what an
operator searches for.

A reader that fails (denied, throttled, timed out) is recorded with its call and the rest go on;
the audit then leaves the controls fed by that reader unevaluated rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from govcloud.live.clients import Account, CallFailure, call, paginate


@dataclass
class LiveAccount:
    account_id: str
    region: str
    resources: list[dict] = field(default_factory=list)
    read: set[str] = field(default_factory=set)           # readers that completed
    failures: dict[str, CallFailure] = field(default_factory=dict)   # reader -> what stopped it


def _res(urn: str, type_: str, inputs: dict, region: str) -> dict:
    return {"urn": urn, "type": type_, "custom": True, "inputs": {**inputs, "region": region}}


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


# reader name -> (function, resource types it produces). The audit evaluates a resource control only
# when every type it judges is produced by a reader here, and a stack control per live/audit.yaml.
READERS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "cloudtrail": (read_cloudtrail, ("aws:cloudtrail/trail:Trail",)),
    "config": (read_config, ("aws:cfg/recorder:Recorder", "aws:cfg/recorderStatus:RecorderStatus", "aws:cfg/deliveryChannel:DeliveryChannel")),
    "guardduty": (read_guardduty, ("aws:guardduty/detector:Detector",)),
    "securityhub": (read_securityhub, ("aws:securityhub/account:Account", "aws:securityhub/standardsSubscription:StandardsSubscription")),
    "ebs": (read_ebs, ("aws:ebs/encryptionByDefault:EncryptionByDefault", "aws:ebs/defaultKmsKey:DefaultKmsKey")),
    "s3-account": (read_s3_account, ("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",)),
    "ec2-network": (read_ec2_network, ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup",
                                       "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
                                       "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                       "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/flowLog:FlowLog",
                                       "aws:ec2/internetGateway:InternetGateway",
                                       "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
                                       "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip")),
}


# Everything the readers call: the audit role's policy (least privilege; AWS's SecurityAudit
# managed policy is a superset).
AUDIT_PERMISSIONS = (
    "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
    "config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels",
    "guardduty:ListDetectors", "guardduty:GetDetector",
    "securityhub:DescribeHub", "securityhub:GetEnabledStandards",
    "ec2:GetEbsEncryptionByDefault", "ec2:GetEbsDefaultKmsKeyId", "s3:GetAccountPublicAccessBlock",
    "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeFlowLogs",
    "ec2:DescribeInternetGateways", "ec2:DescribeEgressOnlyInternetGateways", "ec2:DescribeNatGateways",
    "ec2:DescribeAddresses", "ec2:DescribeTransitGateways", "ec2:DescribeTransitGatewayAttachments",
    "ec2:DescribeTransitGatewayRouteTables",
    "ec2:GetTransitGatewayRouteTablePropagations", "ec2:SearchTransitGatewayRoutes", "ec2:DescribeTags",
    "networkmanager:ListCoreNetworks", "networkmanager:ListAttachments", "networkmanager:GetCoreNetworkPolicy",
)


def read_account(acct: Account, account_id: str, region: str, readers: tuple[str, ...] | None = None) -> LiveAccount:
    live = LiveAccount(account_id, region)
    for name in readers or tuple(READERS):
        fn, _ = READERS[name]
        try:
            live.resources.extend(fn(acct, region, account_id))
            live.read.add(name)
        except CallFailure as failure:
            live.failures[name] = failure
    return live

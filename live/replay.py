"""Replay a tenant plan into its account: the dev cloud's stand-in for `pulumi up`.

Every service the live audit and drift read is replayed (KMS keys and rotation, log groups, the
trail, Config, GuardDuty, Security Hub, Access Analyzer, EBS defaults, the S3 account block, the
account password policy, the boundary policy and the roles, the alarm topic and EventBridge rules,
the VPC with its subnets, security groups, rules and flow log, and the audit role), each regional
resource in its provider's region; tests/live/test_dev_cloud_is_the_plan.py fails when the seeded
cloud and the plan disagree. Plan ids and the plan's account id are mapped to the live ones as
resources are created, so references (a trail's KMS key, a rule's security group) land on the
live resource. This drives only the dev cloud; real accounts are deployed by `govcloud up`.
"""

from __future__ import annotations

import json

from govcloud.live.clients import AUDIT_ROLE, Account, CallFailure, call, paginate
from govcloud.live.readers import AUDIT_PERMISSIONS

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                              "Principal": {"AWS": "arn:aws:iam::{management}:root"}}]})


class IdMap:
    def __init__(self, plan_account: str | None, live_account: str):
        self.ids: dict[str, str] = {}
        if plan_account:
            self.ids[plan_account] = live_account

    def add(self, plan_id: str | None, live_id: str) -> None:
        if plan_id:
            self.ids[plan_id] = live_id

    def __call__(self, value):
        if isinstance(value, str):
            for old, new in sorted(self.ids.items(), key=lambda kv: -len(kv[0])):
                if old in value:
                    value = value.replace(old, new)
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value


def plan_account_id(plan: dict) -> str | None:
    for r in plan["deployment"]["resources"]:
        if r["type"] == "aws:organizations/account:Account":
            return r.get("id")
    return None


def _tag_list(tags: dict | None) -> list[dict]:
    return [{"Key": k, "Value": str(v)} for k, v in sorted((tags or {}).items())]


def _port(value) -> int:
    return int(float(value))


def delete_default_vpcs(acct: Account, regions: tuple[str, ...]) -> int:
    """What AWS Landing Zone Accelerator does to every new account: a default VPC has public
    subnets, which a closed zone must never have."""
    removed = 0
    for region in regions:
        ec2 = acct.client("ec2", region)
        for vpc in paginate(ec2, "DescribeVpcs", "Vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}]):
            vid = vpc["VpcId"]
            for igw in paginate(ec2, "DescribeInternetGateways", "InternetGateways",
                                Filters=[{"Name": "attachment.vpc-id", "Values": [vid]}]):
                call(ec2, "DetachInternetGateway", InternetGatewayId=igw["InternetGatewayId"], VpcId=vid)
                call(ec2, "DeleteInternetGateway", InternetGatewayId=igw["InternetGatewayId"])
            for subnet in paginate(ec2, "DescribeSubnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vid]}]):
                call(ec2, "DeleteSubnet", SubnetId=subnet["SubnetId"])
            call(ec2, "DeleteVpc", VpcId=vid)
            removed += 1
    return removed


def provider_regions(plan: dict, default: str) -> dict[str, str]:
    """Resource URN -> the region its provider places it in (the plan's second-region provider
    places the other Japan region's baseline there)."""
    resources = plan["deployment"]["resources"]
    providers = {f"{r['urn']}::{r.get('id')}": (r.get("inputs") or {}).get("region") or default
                 for r in resources if r["type"] == "pulumi:providers:aws"}
    return {r["urn"]: providers.get(r.get("provider") or "", default) for r in resources}


def replay_tenant(acct: Account, plan: dict, live_account: str, management_account: str, region: str) -> dict[str, str]:
    """Create the audited part of a tenant plan in its account; returns plan id -> live id.
    Regional resources land in the region of the provider that places them; ``region`` is the
    tenant's home region (global resources, and resources with no provider)."""
    ids = IdMap(plan_account_id(plan), live_account)
    resources = [r for r in plan["deployment"]["resources"] if r.get("custom")]
    where = provider_regions(plan, region)
    by_type: dict[str, list[dict]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)
    regions = list(dict.fromkeys([region, *sorted({where.get(r["urn"], region) for r in resources})]))

    def each(type_, in_region: str | None = None):
        for r in by_type.get(type_, []):
            if in_region is None or where.get(r["urn"], region) == in_region:
                yield r, ids(r.get("inputs") or {})

    iam = acct.client("iam")
    try:
        call(iam, "CreateRole", RoleName=AUDIT_ROLE, AssumeRolePolicyDocument=TRUST.replace("{management}", management_account),
             Description="govcloud live audit: read-only")
        call(iam, "PutRolePolicy", RoleName=AUDIT_ROLE, PolicyName="govcloud-audit-read",
             PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": sorted(AUDIT_PERMISSIONS), "Resource": "*"}]}))
    except CallFailure as failure:
        if "EntityAlreadyExists" not in failure.message:
            raise
    # Global: IAM (the boundary policy before the roles it bounds), the password policy, the S3 account block.
    for r, i in each("aws:iam/policy:Policy"):
        call(iam, "CreatePolicy", PolicyName=i["name"], PolicyDocument=i["policy"], Description=i.get("description", ""))
    for r, i in each("aws:iam/role:Role"):
        params = {"RoleName": i["name"], "AssumeRolePolicyDocument": i.get("assumeRolePolicy") or "{}", "Tags": _tag_list(i.get("tags"))}
        if i.get("permissionsBoundary"):
            params["PermissionsBoundary"] = i["permissionsBoundary"]
        if i.get("maxSessionDuration"):
            params["MaxSessionDuration"] = _port(i["maxSessionDuration"])
        call(iam, "CreateRole", **params)
    for r, i in each("aws:iam/accountPasswordPolicy:AccountPasswordPolicy"):
        params = {"MinimumPasswordLength": "minimumPasswordLength", "PasswordReusePrevention": "passwordReusePrevention",
                  "MaxPasswordAge": "maxPasswordAge"}
        call(iam, "UpdateAccountPasswordPolicy", **{k: _port(i[v]) for k, v in params.items() if i.get(v) is not None},
             **{k: bool(i[v]) for k, v in (("RequireSymbols", "requireSymbols"), ("RequireNumbers", "requireNumbers"),
                                            ("RequireUppercaseCharacters", "requireUppercaseCharacters"),
                                            ("RequireLowercaseCharacters", "requireLowercaseCharacters"),
                                            ("AllowUsersToChangePassword", "allowUsersToChangePassword")) if v in i})
    for r, i in each("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"):
        call(acct.client("s3control", region), "PutPublicAccessBlock", AccountId=live_account, PublicAccessBlockConfiguration={
            "BlockPublicAcls": bool(i.get("blockPublicAcls")), "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
            "BlockPublicPolicy": bool(i.get("blockPublicPolicy")), "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets"))})
    for here in regions:
        _replay_region(acct, each, ids, here, live_account)
    return ids.ids


def _replay_region(acct: Account, each, ids: IdMap, region: str, live_account: str) -> None:
    """One region's part of the plan: keys, logs, trail, Config, GuardDuty, Security Hub, Access
    Analyzer, EBS defaults, alarms and the network."""
    kms, logs = acct.client("kms", region), acct.client("logs", region)
    ec2 = acct.client("ec2", region)
    for r, i in each("aws:kms/key:Key", region):
        key = call(kms, "CreateKey", Description=i.get("description", ""), KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        if i.get("enableKeyRotation"):
            call(kms, "EnableKeyRotation", KeyId=key["KeyId"])
        ids.add(r.get("id"), key["KeyId"])
    for r, i in each("aws:cloudwatch/logGroup:LogGroup", region):
        call(logs, "CreateLogGroup", logGroupName=i["name"], **({"kmsKeyId": i["kmsKeyId"]} if i.get("kmsKeyId") else {}))
        if i.get("retentionInDays"):
            call(logs, "PutRetentionPolicy", logGroupName=i["name"], retentionInDays=int(i["retentionInDays"]))
    ct = acct.client("cloudtrail", region)
    for r, i in each("aws:cloudtrail/trail:Trail", region):
        params = {"Name": i["name"], "S3BucketName": i["s3BucketName"],
                  "IncludeGlobalServiceEvents": bool(i.get("includeGlobalServiceEvents", True)),
                  "IsMultiRegionTrail": bool(i.get("isMultiRegionTrail")),
                  "EnableLogFileValidation": bool(i.get("enableLogFileValidation"))}
        for key, name in (("S3KeyPrefix", "s3KeyPrefix"), ("KmsKeyId", "kmsKeyId"),
                          ("CloudWatchLogsLogGroupArn", "cloudWatchLogsGroupArn"), ("CloudWatchLogsRoleArn", "cloudWatchLogsRoleArn")):
            if i.get(name):
                params[key] = i[name]
        trail = call(ct, "CreateTrail", **params)
        if i.get("enableLogging", True):
            call(ct, "StartLogging", Name=trail["TrailARN"])
    cfg = acct.client("config", region)
    for r, i in each("aws:cfg/recorder:Recorder", region):
        group = i.get("recordingGroup") or {}
        call(cfg, "PutConfigurationRecorder", ConfigurationRecorder={
            "name": i["name"], "roleARN": i["roleArn"],
            "recordingGroup": {"allSupported": bool(group.get("allSupported")),
                               "includeGlobalResourceTypes": bool(group.get("includeGlobalResourceTypes"))}})
    for r, i in each("aws:cfg/deliveryChannel:DeliveryChannel", region):
        call(cfg, "PutDeliveryChannel", DeliveryChannel={"name": i["name"], "s3BucketName": i["s3BucketName"],
                                                         **({"s3KeyPrefix": i["s3KeyPrefix"]} if i.get("s3KeyPrefix") else {})})
    for r, i in each("aws:cfg/recorderStatus:RecorderStatus", region):
        if i.get("isEnabled"):
            call(cfg, "StartConfigurationRecorder", ConfigurationRecorderName=i["name"])
    gd = acct.client("guardduty", region)
    for r, i in each("aws:guardduty/detector:Detector", region):
        call(gd, "CreateDetector", Enable=bool(i.get("enable", True)),
             FindingPublishingFrequency=i.get("findingPublishingFrequency") or "SIX_HOURS")
    sh = acct.client("securityhub", region)
    for r, i in each("aws:securityhub/account:Account", region):
        call(sh, "EnableSecurityHub", EnableDefaultStandards=False)
    standards = [i["standardsArn"] for _, i in each("aws:securityhub/standardsSubscription:StandardsSubscription", region)]
    if standards:
        try:
            call(sh, "BatchEnableStandards", StandardsSubscriptionRequests=[{"StandardsArn": a} for a in standards])
        except CallFailure as failure:
            if failure.kind not in ("not-implemented", "error"):
                raise
    for r, i in each("aws:accessanalyzer/analyzer:Analyzer", region):
        call(acct.client("accessanalyzer", region), "CreateAnalyzer", analyzerName=i["analyzerName"], type=i.get("type", "ACCOUNT"))
    for r, i in each("aws:ebs/encryptionByDefault:EncryptionByDefault", region):
        if i.get("enabled", True):
            call(ec2, "EnableEbsEncryptionByDefault")
    for r, i in each("aws:ebs/defaultKmsKey:DefaultKmsKey", region):
        call(ec2, "ModifyEbsDefaultKmsKeyId", KmsKeyId=i["keyArn"])
    sns = acct.client("sns", region)
    for r, i in each("aws:sns/topic:Topic", region):
        topic = call(sns, "CreateTopic", Name=i["name"], Attributes={"KmsMasterKeyId": i["kmsMasterKeyId"]} if i.get("kmsMasterKeyId") else {},
                     Tags=_tag_list(i.get("tags")))
        ids.add(r.get("id"), topic["TopicArn"].rsplit(":", 1)[-1])
    events = acct.client("events", region)
    for r, i in each("aws:cloudwatch/eventRule:EventRule", region):
        call(events, "PutRule", Name=i["name"], EventPattern=i["eventPattern"], Description=i.get("description", ""),
             State=i.get("state") or "ENABLED", Tags=_tag_list(i.get("tags")))
    for r, i in each("aws:cloudwatch/eventTarget:EventTarget", region):
        call(events, "PutTargets", Rule=i["rule"], Targets=[{"Id": i.get("targetId") or "alarm", "Arn": i["arn"]}])
    _replay_network(ec2, lambda type_: each(type_, region), ids, region)


def _replay_network(ec2, each, ids: IdMap, region: str) -> None:
    for r, i in each("aws:ec2/vpc:Vpc"):
        vpc = call(ec2, "CreateVpc", CidrBlock=i["cidrBlock"],
                   TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag_list(i.get("tags"))}])["Vpc"]
        ids.add(r.get("id"), vpc["VpcId"])
    zones = [z["ZoneName"] for z in call(ec2, "DescribeAvailabilityZones")["AvailabilityZones"]]
    for n, (r, i) in enumerate(each("aws:ec2/subnet:Subnet")):
        vpc_id = ids(i["vpcId"])
        subnet = call(ec2, "CreateSubnet", VpcId=vpc_id, CidrBlock=i["cidrBlock"], AvailabilityZone=zones[n % len(zones)],
                      TagSpecifications=[{"ResourceType": "subnet", "Tags": _tag_list(i.get("tags"))}])["Subnet"]
        if bool(subnet.get("MapPublicIpOnLaunch")) != bool(i.get("mapPublicIpOnLaunch")):  # set it as declared
            call(ec2, "ModifySubnetAttribute", SubnetId=subnet["SubnetId"],
                 MapPublicIpOnLaunch={"Value": bool(i.get("mapPublicIpOnLaunch"))})
        ids.add(r.get("id"), subnet["SubnetId"])
    for r, i in each("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        group = paginate(ec2, "DescribeSecurityGroups", "SecurityGroups",
                         Filters=[{"Name": "vpc-id", "Values": [ids(i["vpcId"])]}, {"Name": "group-name", "Values": ["default"]}])[0]
        if not i.get("ingress") and group.get("IpPermissions"):
            call(ec2, "RevokeSecurityGroupIngress", GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
        if not i.get("egress") and group.get("IpPermissionsEgress"):
            call(ec2, "RevokeSecurityGroupEgress", GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    for r, i in each("aws:ec2/securityGroup:SecurityGroup"):
        group_id = call(ec2, "CreateSecurityGroup", GroupName=i["name"], Description=i.get("description") or i["name"],
                        VpcId=ids(i["vpcId"]),
                        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(i.get("tags"))}])["GroupId"]
        # Pulumi's (Terraform's) security group removes the allow-all egress AWS adds; so does the replay.
        group = paginate(ec2, "DescribeSecurityGroups", "SecurityGroups", GroupIds=[group_id])[0]
        if group.get("IpPermissionsEgress"):
            call(ec2, "RevokeSecurityGroupEgress", GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])
        ids.add(r.get("id"), group_id)
    for type_, operation in (("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "AuthorizeSecurityGroupIngress"),
                             ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "AuthorizeSecurityGroupEgress")):
        for r, i in each(type_):
            call(ec2, operation, GroupId=i["securityGroupId"], IpPermissions=[permission(i)])
    for r, i in each("aws:ec2/flowLog:FlowLog"):
        params = {"ResourceIds": [i["vpcId"]], "ResourceType": "VPC", "TrafficType": i.get("trafficType", "ALL"),
                  "LogDestinationType": i.get("logDestinationType", "s3")}
        if i.get("logDestination"):
            # moto takes an S3 destination's key prefix for part of the bucket name; the dev cloud
            # delivers to the bucket itself.
            params["LogDestination"] = i["logDestination"].split("/", 1)[0] if i["logDestination"].startswith("arn:aws:s3:::") \
                else i["logDestination"]
        if i.get("maxAggregationInterval"):
            params["MaxAggregationInterval"] = _port(i["maxAggregationInterval"])
        created = call(ec2, "CreateFlowLogs", **params)
        if created.get("Unsuccessful"):
            error = created["Unsuccessful"][0]["Error"]
            raise CallFailure("ec2:CreateFlowLogs", "error", f"{error.get('Code')}: {error.get('Message')}")
    for r, i in each("aws:ec2/internetGateway:InternetGateway"):
        igw = call(ec2, "CreateInternetGateway", TagSpecifications=[{"ResourceType": "internet-gateway",
                                                                      "Tags": _tag_list(i.get("tags"))}])["InternetGateway"]
        if i.get("vpcId"):
            call(ec2, "AttachInternetGateway", InternetGatewayId=igw["InternetGatewayId"], VpcId=i["vpcId"])


def permission(rule: dict) -> dict:
    """An aws:vpc/securityGroup{Ingress,Egress}Rule's inputs as an EC2 IpPermission."""
    perm = {"IpProtocol": str(rule.get("ipProtocol", "-1"))}
    if perm["IpProtocol"] != "-1" and rule.get("fromPort") is not None:
        perm.update(FromPort=_port(rule["fromPort"]), ToPort=_port(rule.get("toPort", rule["fromPort"])))
    desc = {"Description": rule["description"]} if rule.get("description") else {}
    if rule.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": rule["cidrIpv4"], **desc}]
    elif rule.get("cidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": rule["cidrIpv6"], **desc}]
    elif rule.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [{"GroupId": rule["referencedSecurityGroupId"], **desc}]
    elif rule.get("prefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": rule["prefixListId"], **desc}]
    return perm


"""AWS controls (BLEA baseline, CIS AWS Foundations, AWS FSBP, Government Cloud specifics)."""

from __future__ import annotations

import json

from . import resource_control, stack_control

CLOSED_ZONES = ("mynumber", "lgwan")


def _json(value):
    """A policy document given as JSON text or as a mapping. Unparseable text raises: a control
    must not judge a policy it cannot read as an empty one (the caller reports it as a failure)."""
    if isinstance(value, str):
        doc = json.loads(value)
    else:
        doc = value or {}
    if not isinstance(doc, dict):
        raise ValueError("a policy document must be a JSON object")
    return doc


def _of(resources, type_):
    return [r for r in resources if r.get("type") == type_]


# --- CloudTrail -------------------------------------------------------------------------------

@resource_control("GC-AWS-CT-1")
def trail_multi_region(i, ctx):
    return None if i.get("isMultiRegionTrail") is True else "trail does not record all regions (isMultiRegionTrail)"


@resource_control("GC-AWS-CT-2")
def trail_log_file_validation(i, ctx):
    return None if i.get("enableLogFileValidation") is True else "log file validation is off (enableLogFileValidation)"


@resource_control("GC-AWS-CT-3")
def trail_kms(i, ctx):
    return None if i.get("kmsKeyId") else "trail logs are not encrypted with a KMS key (kmsKeyId)"


@resource_control("GC-AWS-CT-4")
def trail_cloudwatch(i, ctx):
    ok = i.get("cloudWatchLogsGroupArn") and i.get("cloudWatchLogsRoleArn")
    return None if ok else "trail does not deliver to CloudWatch Logs (cloudWatchLogsGroupArn, cloudWatchLogsRoleArn)"


@resource_control("GC-AWS-CT-5")
def trail_logging(i, ctx):
    return None if i.get("enableLogging", True) is not False else "trail logging is stopped (enableLogging)"


@resource_control("GC-AWS-CT-6")
def trail_global_events(i, ctx):
    return None if i.get("includeGlobalServiceEvents", True) is not False else "global service events are excluded"


@stack_control("GC-AWS-CT-7")
def trail_present(resources, ctx):
    return [] if _of(resources, "aws:cloudtrail/trail:Trail") else ["the account has no CloudTrail trail"]


# --- Config, GuardDuty, Security Hub, Access Analyzer ---------------------------------------------------

@resource_control("GC-AWS-CFG-1")
def config_all_resources(i, ctx):
    group = i.get("recordingGroup") or {}
    if group.get("allSupported") is True and group.get("includeGlobalResourceTypes") is True:
        return None
    return "Config does not record all resource types including global ones (recordingGroup)"


@stack_control("GC-AWS-CFG-2")
def config_enabled(resources, ctx):
    statuses = _of(resources, "aws:cfg/recorderStatus:RecorderStatus")
    channels = _of(resources, "aws:cfg/deliveryChannel:DeliveryChannel")
    if not statuses:
        return ["no enabled AWS Config recorder (RecorderStatus.isEnabled)"]
    # Every recorder, not any: the baseline records in each Japan region (one recorder per region),
    # and a stopped one leaves its region unrecorded.
    if not all(s["inputs"].get("isEnabled") is True for s in statuses):
        return ["an AWS Config recorder is not enabled (RecorderStatus.isEnabled)"]
    return [] if channels else ["AWS Config has no delivery channel"]


@resource_control("GC-AWS-GD-1")
def guardduty_enabled(i, ctx):
    return None if i.get("enable", True) is True else "GuardDuty detector is disabled (enable)"


@stack_control("GC-AWS-GD-2")
def guardduty_present(resources, ctx):
    return [] if _of(resources, "aws:guardduty/detector:Detector") else ["the account has no GuardDuty detector"]


@stack_control("GC-AWS-SH-1")
def securityhub_fsbp(resources, ctx):
    arns = [r["inputs"].get("standardsArn", "") for r in _of(resources, "aws:securityhub/standardsSubscription:StandardsSubscription")]
    ok = _of(resources, "aws:securityhub/account:Account") and any("aws-foundational-security-best-practices" in a for a in arns)
    return [] if ok else ["Security Hub with the AWS Foundational Security Best Practices standard is not enabled"]


@stack_control("GC-AWS-SH-2")
def securityhub_cis(resources, ctx):
    arns = [r["inputs"].get("standardsArn", "") for r in _of(resources, "aws:securityhub/standardsSubscription:StandardsSubscription")]
    return [] if any("cis-aws-foundations-benchmark" in a for a in arns) else ["the CIS AWS Foundations standard is not enabled"]


@stack_control("GC-AWS-IAA-1")
def access_analyzer(resources, ctx):
    return [] if _of(resources, "aws:accessanalyzer/analyzer:Analyzer") else ["IAM Access Analyzer is not enabled"]


# --- account defaults -----------------------------------------------------------------------------------

@resource_control("GC-AWS-EBS-1")
def ebs_default_encryption(i, ctx):
    return None if i.get("enabled", True) is True else "EBS encryption by default is off"


@stack_control("GC-AWS-EBS-2")
def ebs_default_encryption_present(resources, ctx):
    return [] if _of(resources, "aws:ebs/encryptionByDefault:EncryptionByDefault") else ["EBS encryption by default is not set"]


@stack_control("GC-AWS-MN-1")
def mynumber_cmk_for_ebs(resources, ctx):
    if ctx.get("zone") != "mynumber":
        return []
    return [] if _of(resources, "aws:ebs/defaultKmsKey:DefaultKmsKey") else ["mynumber: EBS default encryption must use a customer-managed KMS key"]


@resource_control("GC-AWS-S3-1")
def s3_account_public_access_block(i, ctx):
    missing = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets") if i.get(k) is not True]
    return f"S3 public access block is incomplete: {', '.join(missing)}" if missing else None


@stack_control("GC-AWS-S3-2")
def s3_account_public_access_block_present(resources, ctx):
    return [] if _of(resources, "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock") else ["no S3 account public access block"]


@resource_control("GC-AWS-IAM-1")
def password_length(i, ctx):
    return None if (i.get("minimumPasswordLength") or 0) >= 14 else "password policy allows passwords shorter than 14 characters"


@resource_control("GC-AWS-IAM-2")
def password_reuse(i, ctx):
    return None if (i.get("passwordReusePrevention") or 0) >= 24 else "password policy remembers fewer than 24 passwords"


@resource_control("GC-AWS-IAM-3")
def human_roles_need_mfa(i, ctx):
    if (i.get("tags") or {}).get("access") not in ("vendor", "operations", "security"):
        return None
    if not i.get("assumeRolePolicy"):
        return "a human role has no assume-role policy to judge (assumeRolePolicy)"
    for statement in _json(i.get("assumeRolePolicy")).get("Statement", []):
        if statement.get("Effect") == "Allow" and (statement.get("Condition") or {}).get("Bool", {}).get("aws:MultiFactorAuthPresent") != "true":
            return "a human role can be assumed without MFA (aws:MultiFactorAuthPresent)"
    return None


@resource_control("GC-AWS-IAM-4")
def human_roles_bounded(i, ctx):
    if (i.get("tags") or {}).get("access") not in ("vendor", "operations", "security"):
        return None
    return None if i.get("permissionsBoundary") else "a human role has no permission boundary"


@resource_control("GC-AWS-KMS-1")
def kms_rotation(i, ctx):
    return None if i.get("enableKeyRotation") is True else "KMS key rotation is off (enableKeyRotation)"


@resource_control("GC-AWS-SNS-1")
def sns_encrypted(i, ctx):
    return None if i.get("kmsMasterKeyId") else "SNS topic is not encrypted (kmsMasterKeyId)"


@resource_control("GC-AWS-LOG-1")
def log_retention(i, ctx):
    days = i.get("retentionInDays") or 0  # unset keeps logs forever, which satisfies the control
    return None if days == 0 or days >= 365 else f"log group keeps logs {days} days; at least 365 are required"


@resource_control("GC-AWS-LOG-2")
def log_group_kms(i, ctx):
    return None if i.get("kmsKeyId") else "log group is not encrypted with a KMS key"


def _alarm(resources, sources: set[str], what: str) -> list[str]:
    for rule in _of(resources, "aws:cloudwatch/eventRule:EventRule"):
        # A DISABLED rule matches no event (EventBridge PutRule "State"; Pulumi's `state`, or the
        # deprecated `isEnabled`): it alerts on nothing, in a plan or read live.
        if rule["inputs"].get("state") == "DISABLED" or rule["inputs"].get("isEnabled") is False:
            continue
        pattern = _json(rule["inputs"].get("eventPattern"))
        if sources <= set(pattern.get("source", [])):
            return []
    return [f"no EventBridge rule alerts on {what}"]


@stack_control("GC-AWS-EVT-1")
def alarm_findings(resources, ctx):
    return _alarm(resources, {"aws.guardduty", "aws.securityhub"}, "GuardDuty and Security Hub findings")


@stack_control("GC-AWS-EVT-2")
def alarm_iam(resources, ctx):
    return _alarm(resources, {"aws.iam"}, "IAM changes")


@stack_control("GC-AWS-EVT-3")
def alarm_network(resources, ctx):
    return _alarm(resources, {"aws.ec2"}, "network changes (security groups, NACLs, routes, gateways)")


@stack_control("GC-AWS-EVT-4")
def alarm_cloudtrail(resources, ctx):
    return _alarm(resources, {"aws.cloudtrail"}, "CloudTrail changes")


# --- network ------------------------------------------------------------------------------------------------

@resource_control("GC-AWS-VPC-1")
def default_sg_closed(i, ctx):
    return None if not i.get("ingress") and not i.get("egress") else "the default security group has rules"


@stack_control("GC-AWS-VPC-2")
def flow_logs(resources, ctx):
    vpcs = _of(resources, "aws:ec2/vpc:Vpc")
    logs = [r["inputs"] for r in _of(resources, "aws:ec2/flowLog:FlowLog")]
    ok = all(any(l.get("trafficType") == "ALL" for l in logs) for _ in vpcs)
    return [] if ok else ["a VPC has no flow log capturing ALL traffic"]


@resource_control("GC-AWS-VPC-3")
def no_igw_in_closed_zone(i, ctx):
    return "internet gateway in a closed zone" if ctx.get("zone") in CLOSED_ZONES else None


@resource_control("GC-AWS-VPC-4")
def no_public_ip_on_launch(i, ctx):
    return "subnet assigns public IPs on launch (mapPublicIpOnLaunch)" if i.get("mapPublicIpOnLaunch") is True else None


@resource_control("GC-AWS-VPC-5")
def no_open_ingress(i, ctx):
    cidr = i.get("cidrIpv4") or ""
    if cidr in ("0.0.0.0/0",) or i.get("cidrIpv6") == "::/0":
        return f"security group rule admits {cidr or '::/0'}"
    return None


@resource_control("GC-AWS-VPC-6")
def no_public_ip_in_closed_zone(i, ctx):
    return "elastic IP in a closed zone" if ctx.get("zone") in CLOSED_ZONES else None


# --- foundation: log archive and organisation ---------------------------------------------------------------------

@resource_control("GC-AWS-S3-3")
def bucket_object_lock(i, ctx):
    return None if i.get("objectLockEnabled") is True else "log archive bucket has no object lock"


@resource_control("GC-AWS-S3-4")
def bucket_versioning(i, ctx):
    return None if (i.get("versioningConfiguration") or {}).get("status") == "Enabled" else "bucket versioning is not enabled"


@resource_control("GC-AWS-S3-5")
def bucket_kms(i, ctx):
    for rule in i.get("rules") or []:
        if (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse"):
            return None
    return "bucket is not encrypted with KMS by default"


@stack_control("GC-AWS-ORG-1")
def scp_japan_only(resources, ctx):
    if not _of(resources, "aws:organizations/organizationalUnit:OrganizationalUnit"):
        return []  # not an organisation stack
    for policy in _of(resources, "aws:organizations/policy:Policy"):
        doc = _json(policy["inputs"].get("content"))
        for st in doc.get("Statement", []):
            regions = (st.get("Condition") or {}).get("StringNotEquals", {}).get("aws:RequestedRegion")
            if st.get("Effect") == "Deny" and regions and set(regions) <= {"ap-northeast-1", "ap-northeast-3"}:
                return []
    return ["no service control policy denies regions outside Japan"]

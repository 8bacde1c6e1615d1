"""AWS security baseline for one tenant account, after BLEA (Baseline Environment on AWS):
CloudTrail, Config, GuardDuty, Security Hub, Access Analyzer, EBS and S3 defaults, password
policy, a customer-managed KMS key, and alerting on security-relevant changes."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from govcloud.templates.base import TemplateArgs

# The Japan regions the guardrails allow (the deny-outside-japan SCP): the baseline's regional
# services run in both, the tenant's own region and the other one.
JAPAN_REGIONS = ("ap-northeast-1", "ap-northeast-3")

# Security Hub standards ARNs are regional and account-independent.
FSBP = "arn:aws:securityhub:{region}::standards/aws-foundational-security-best-practices/v/1.0.0"
CIS = "arn:aws:securityhub:{region}::standards/cis-aws-foundations-benchmark/v/3.0.0"

# EventBridge patterns BLEA alarms on: findings, and changes to IAM, the network and CloudTrail.
EVENT_PATTERNS: dict[str, dict] = {
    "security-findings": {
        "source": ["aws.guardduty", "aws.securityhub"],
        "detail-type": ["GuardDuty Finding", "Security Hub Findings - Imported"],
    },
    "iam-changes": {
        "source": ["aws.iam"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": [
            "CreateUser", "DeleteUser", "CreateRole", "DeleteRole", "AttachRolePolicy", "DetachRolePolicy",
            "PutRolePolicy", "DeleteRolePolicy", "CreateAccessKey", "UpdateAssumeRolePolicy",
            "CreatePolicyVersion", "DeactivateMFADevice"]},
    },
    "network-changes": {
        "source": ["aws.ec2"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["ec2.amazonaws.com"], "eventName": [
            "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup", "CreateNetworkAcl",
            "CreateNetworkAclEntry", "DeleteNetworkAcl", "ReplaceNetworkAclEntry", "CreateRoute", "DeleteRoute",
            "ReplaceRoute", "CreateRouteTable", "CreateInternetGateway", "AttachInternetGateway",
            "CreateVpc", "DeleteVpc", "CreateVpcPeeringConnection", "AllocateAddress", "AssociateAddress"]},
    },
    "cloudtrail-changes": {
        "source": ["aws.cloudtrail"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["cloudtrail.amazonaws.com"], "eventName": [
            "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]},
    },
}


def key_policy(account_id: str, region: str) -> str:
    statements = [
        {"Sid": "AccountAdministration", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudTrailEncrypt", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*",
         "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account_id}:trail/*"}}},
        {"Sid": "LogsEncrypt", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:*"}}},
        {"Sid": "EventsToEncryptedTopic", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class AwsSecurityBaseline(pulumi.ComponentResource):
    """BLEA-style baseline of one tenant account."""

    kms_key_arn: pulumi.Output[str]
    alarm_topic_arn: pulumi.Output[str]
    trail_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TemplateArgs, account_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("govcloud:aws:SecurityBaseline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tenant, tags = args.tenant, args.tags
        region = tenant.spec.region
        shared = args.shared

        key = aws.kms.Key(f"{name}-key", description=f"govcloud {tenant.name}: logs, alarms, EBS",
                          enable_key_rotation=True, deletion_window_in_days=30,
                          policy=pulumi.Output.from_input(account_id).apply(lambda a: key_policy(a, region)),
                          tags=tags, opts=child)
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/govcloud/{tenant.name}", target_key_id=key.key_id, opts=child)

        trail_logs = aws.cloudwatch.LogGroup(
            f"{name}-trail-logs", name=f"/govcloud/{tenant.name}/cloudtrail",
            retention_in_days=args.settings.log_retention_days, kms_key_id=key.arn, tags=tags, opts=child)
        trail_role = aws.iam.Role(
            f"{name}-trail-role", name=f"{tenant.name}-cloudtrail-logs",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            tags=tags, opts=child)
        aws.iam.RolePolicy(
            f"{name}-trail-role-policy", role=trail_role.id,
            policy=trail_logs.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{arn}:*"}]})),
            opts=child)
        trail = aws.cloudtrail.Trail(
            f"{name}-trail", name=f"{tenant.name}-trail",
            s3_bucket_name=shared.log_archive_bucket, s3_key_prefix=f"cloudtrail/{tenant.name}",
            is_multi_region_trail=True, include_global_service_events=True, enable_log_file_validation=True,
            enable_logging=True, kms_key_id=key.arn,
            cloud_watch_logs_group_arn=trail_logs.arn.apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=trail_role.arn, tags=tags, opts=child)

        config_role = aws.iam.Role(
            f"{name}-config-role", name=f"{tenant.name}-config",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-config-role-policy", role=config_role.name,
                                     policy_arn="arn:aws:iam::aws:policy/service-role/AWS_ConfigRole", opts=child)
        recorder = aws.cfg.Recorder(
            f"{name}-config-recorder", name="govcloud", role_arn=config_role.arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(all_supported=True, include_global_resource_types=True),
            opts=child)
        channel = aws.cfg.DeliveryChannel(
            f"{name}-config-delivery", name="govcloud", s3_bucket_name=shared.log_archive_bucket,
            s3_key_prefix=f"config/{tenant.name}", s3_kms_key_arn=shared.log_archive_kms_key_arn,
            snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(delivery_frequency="TwentyFour_Hours"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder]))
        aws.cfg.RecorderStatus(f"{name}-config-recorder-status", name=recorder.name, is_enabled=True,
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]))

        aws.guardduty.Detector(f"{name}-guardduty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES",
                               tags=tags, opts=child)
        hub = aws.securityhub.Account(f"{name}-securityhub", enable_default_standards=False,
                                      auto_enable_controls=True, opts=child)
        for sid, arn in (("fsbp", FSBP), ("cis", CIS)):
            aws.securityhub.StandardsSubscription(f"{name}-standard-{sid}", standards_arn=arn.format(region=region),
                                                  opts=pulumi.ResourceOptions(parent=self, depends_on=[hub]))
        aws.accessanalyzer.Analyzer(f"{name}-access-analyzer", analyzer_name=f"{tenant.name}-account",
                                    type="ACCOUNT", tags=tags, opts=child)

        aws.ebs.EncryptionByDefault(f"{name}-ebs-encryption", enabled=True, opts=child)
        aws.ebs.DefaultKmsKey(f"{name}-ebs-default-key", key_arn=key.arn, opts=child)
        aws.s3.AccountPublicAccessBlock(f"{name}-s3-public-access-block", block_public_acls=True,
                                        block_public_policy=True, ignore_public_acls=True,
                                        restrict_public_buckets=True, opts=child)
        aws.iam.AccountPasswordPolicy(
            f"{name}-password-policy", minimum_password_length=14, require_lowercase_characters=True,
            require_uppercase_characters=True, require_numbers=True, require_symbols=True,
            allow_users_to_change_password=True, max_password_age=90, password_reuse_prevention=24, opts=child)

        topic = aws.sns.Topic(f"{name}-alarms", name=f"{tenant.name}-security-alarms", kms_master_key_id=key.id,
                              tags=tags, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy", arn=topic.arn,
            policy=topic.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "EventBridgePublish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish", "Resource": arn}]})),
            opts=child)
        for rule_name, pattern in EVENT_PATTERNS.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{rule_name}", name=f"{tenant.name}-{rule_name}",
                                            description=f"govcloud: alert on {rule_name.replace('-', ' ')}",
                                            event_pattern=json.dumps(pattern, sort_keys=True), tags=tags, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{rule_name}-target", rule=rule.name, arn=topic.arn, opts=child)

        self.kms_key_arn = key.arn
        self.alarm_topic_arn = topic.arn
        self.trail_arn = trail.arn
        self.config_role_arn = config_role.arn
        self.register_outputs({"kmsKeyArn": key.arn, "alarmTopicArn": topic.arn, "trailArn": trail.arn})


def other_japan_regions(region: str) -> list[str]:
    return [r for r in JAPAN_REGIONS if r != region]


class AwsRegionalBaseline(pulumi.ComponentResource):
    """The regional part of the baseline in another allowed region of the same account, placed there
    by that region's provider: AWS recommends GuardDuty "in all supported AWS Regions", even unused
    ones (https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html), CIS AWS 3.5
    records Config in every region, and Security Hub and EBS encryption by default are per-region
    settings. The account-wide parts (trail, IAM, S3 block, password policy, alarms) stay with
    AwsSecurityBaseline. A customer-managed key of its own encrypts EBS by default (KMS keys are regional)."""

    def __init__(self, name: str, args: TemplateArgs, region: str, account_id: pulumi.Input[str],
                 config_role_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("govcloud:aws:RegionalBaseline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tenant, tags, shared = args.tenant, args.tags, args.shared
        key = aws.kms.Key(f"{name}-key", description=f"govcloud {tenant.name}: EBS in {region}",
                          enable_key_rotation=True, deletion_window_in_days=30,
                          policy=pulumi.Output.from_input(account_id).apply(lambda a: key_policy(a, region)),
                          tags=tags, opts=child)
        recorder = aws.cfg.Recorder(
            f"{name}-config-recorder", name="govcloud", role_arn=config_role_arn,
            recording_group=aws.cfg.RecorderRecordingGroupArgs(all_supported=True, include_global_resource_types=True),
            opts=child)
        channel = aws.cfg.DeliveryChannel(
            f"{name}-config-delivery", name="govcloud", s3_bucket_name=shared.log_archive_bucket,
            s3_key_prefix=f"config/{tenant.name}", s3_kms_key_arn=shared.log_archive_kms_key_arn,
            snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(delivery_frequency="TwentyFour_Hours"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[recorder]))
        aws.cfg.RecorderStatus(f"{name}-config-recorder-status", name=recorder.name, is_enabled=True,
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[channel]))
        aws.guardduty.Detector(f"{name}-guardduty", enable=True, finding_publishing_frequency="FIFTEEN_MINUTES",
                               tags=tags, opts=child)
        hub = aws.securityhub.Account(f"{name}-securityhub", enable_default_standards=False,
                                      auto_enable_controls=True, opts=child)
        for sid, arn in (("fsbp", FSBP), ("cis", CIS)):
            aws.securityhub.StandardsSubscription(f"{name}-standard-{sid}", standards_arn=arn.format(region=region),
                                                  opts=pulumi.ResourceOptions(parent=self, depends_on=[hub]))
        aws.ebs.EncryptionByDefault(f"{name}-ebs-encryption", enabled=True, opts=child)
        aws.ebs.DefaultKmsKey(f"{name}-ebs-default-key", key_arn=key.arn, opts=child)
        self.register_outputs({"region": region, "kmsKeyArn": key.arn})

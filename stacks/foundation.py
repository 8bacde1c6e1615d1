"""The `foundation` stack: the organisation around every tenant.

AWS: Organizations OUs (security, infrastructure, tenants-prod, tenants-staging — each with one
OU per zone — and quarantine), service control policies, and the central log archive bucket
(versioned, object-locked, KMS-encrypted). Azure: the management group hierarchy with its policy
assignments and the central log storage account."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from govcloud.stacks.settings import platform_settings
from govcloud.tenants.catalogue import load_catalogue

JAPAN_REGIONS = ["ap-northeast-1", "ap-northeast-3"]
GLOBAL_SERVICES = ["iam:*", "organizations:*", "sts:*", "support:*", "health:*", "account:*", "budgets:*",
                   "ce:*", "cloudfront:*", "route53:*", "route53domains:*", "globalaccelerator:*", "waf:*",
                   "shield:*", "trustedadvisor:*", "networkmanager:*", "sso:*", "identitystore:*", "kms:*"]
PLATFORM_ROLE = "arn:aws:iam::*:role/govcloud-platform-*"
ENV_GROUPS = ("prod", "staging")


def _policy(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


SCPS: dict[str, tuple[str, str]] = {
    "deny-outside-japan": ("Municipal data stays in Japan: deny regional services outside Tokyo and Osaka", _policy([{
        "Sid": "DenyOutsideJapan", "Effect": "Deny", "NotAction": GLOBAL_SERVICES, "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": JAPAN_REGIONS},
                      "ArnNotLike": {"aws:PrincipalArn": PLATFORM_ROLE}}}])),
    "protect-security-services": ("Nobody but the platform disables CloudTrail, Config, GuardDuty or Security Hub", _policy([{
        "Sid": "ProtectSecurityServices", "Effect": "Deny", "Resource": "*",
        "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                   "config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder",
                   "config:DeleteDeliveryChannel", "guardduty:DeleteDetector", "guardduty:UpdateDetector",
                   "guardduty:DisassociateFromMasterAccount", "securityhub:DisableSecurityHub",
                   "securityhub:BatchDisableStandards", "access-analyzer:DeleteAnalyzer"],
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": PLATFORM_ROLE}}}])),
    "deny-leave-organization": ("Accounts cannot leave the organisation", _policy([{
        "Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}])),
    "deny-root-user": ("The root user of member accounts does nothing", _policy([{
        "Sid": "DenyRootUser", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}])),
    "deny-internet-in-closed-zones": ("No internet gateways or public IPs in マイナンバー利用事務系 and LGWAN接続系", _policy([
        {"Sid": "DenyInternetGateways", "Effect": "Deny", "Resource": "*",
         "Action": ["ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:CreateEgressOnlyInternetGateway",
                    "ec2:AllocateAddress", "ec2:AssociateAddress", "globalaccelerator:Create*"]},
        {"Sid": "DenyPublicIpOnLaunch", "Effect": "Deny", "Action": "ec2:RunInstances",
         "Resource": "arn:aws:ec2:*:*:network-interface/*",
         "Condition": {"Bool": {"ec2:AssociatePublicIpAddress": "true"}}},
        {"Sid": "DenyPublicSubnets", "Effect": "Deny", "Action": "ec2:ModifySubnetAttribute", "Resource": "*",
         "Condition": {"Bool": {"ec2:MapPublicIpOnLaunch": "true"}}}])),
    "quarantine": ("Accounts waiting for their baseline: only the platform acts", _policy([{
        "Sid": "DenyAllButPlatform", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": [PLATFORM_ROLE, "arn:aws:iam::*:role/OrganizationAccountAccessRole"]}}}])),
}


def foundation_program() -> None:
    settings = platform_settings()
    cfg = pulumi.Config("govcloud")
    zones = load_catalogue().zones
    management = aws.Provider("management", region="ap-northeast-1", default_tags=aws.ProviderDefaultTagsArgs(tags={"managed-by": "govcloud"}))
    mgmt = pulumi.ResourceOptions(provider=management)
    org = aws.organizations.get_organization(opts=pulumi.InvokeOptions(provider=management))
    root_id = org.roots[0].id

    def ou(name: str, parent) -> aws.organizations.OrganizationalUnit:
        return aws.organizations.OrganizationalUnit(f"ou-{name}", name=name, parent_id=parent, opts=mgmt)

    for top in ("security", "infrastructure"):
        ou(top, root_id)
    quarantine = ou("quarantine", root_id)
    tenant_ous: dict[str, pulumi.Output[str]] = {}
    zone_ous: dict[str, aws.organizations.OrganizationalUnit] = {}
    for group in ENV_GROUPS:
        parent = ou(f"tenants-{group}", root_id)
        for zone in zones:
            child = aws.organizations.OrganizationalUnit(f"ou-tenants-{group}-{zone}", name=zone, parent_id=parent.id, opts=mgmt)
            tenant_ous[f"{group}/{zone}"] = child.id
            zone_ous[f"{group}/{zone}"] = child

    for name, (description, document) in SCPS.items():
        policy = aws.organizations.Policy(f"scp-{name}", name=f"govcloud-{name}", description=description,
                                          type="SERVICE_CONTROL_POLICY", content=document, opts=mgmt)
        if name == "deny-internet-in-closed-zones":
            targets = {k: v.id for k, v in zone_ous.items() if zones[k.split("/")[1]].closed}
        elif name == "quarantine":
            targets = {"quarantine": quarantine.id}
        else:
            targets = {"root": root_id}
        for key, target in targets.items():
            aws.organizations.PolicyAttachment(f"scp-{name}-{key.replace('/', '-')}", policy_id=policy.id,
                                               target_id=target, opts=mgmt)

    bucket, bucket_arn, key_arn = _log_archive(settings, cfg)
    azure = _azure_foundation(cfg, zones)
    pulumi.export("logArchiveBucket", bucket)
    pulumi.export("logArchiveBucketArn", bucket_arn)
    pulumi.export("logArchiveKmsKeyArn", key_arn)
    pulumi.export("tenantOuIds", tenant_ous)
    pulumi.export("quarantineOuId", quarantine.id)
    pulumi.export("azureLogStorageId", azure["storage_id"])
    pulumi.export("azureManagementGroupIds", azure["management_groups"])


def _log_archive(settings, cfg: pulumi.Config):
    """Central, tamper-resistant log archive in its own account (BLEA's log archive)."""
    provider = aws.Provider("log-archive", region="ap-northeast-1",
                            assume_roles=[aws.ProviderAssumeRoleArgs(
                                role_arn=f"arn:aws:iam::{settings.log_archive_account_id}:role/OrganizationAccountAccessRole",
                                session_name="govcloud")],
                            default_tags=aws.ProviderDefaultTagsArgs(tags={"managed-by": "govcloud"}))
    opts = pulumi.ResourceOptions(provider=provider)
    name = cfg.get("logArchiveBucket") or f"govcloud-log-archive-{settings.log_archive_account_id}"
    retention_days = cfg.get_int("logArchiveRetentionDays") or 2557  # 7 years
    key = aws.kms.Key("log-archive-key", description="govcloud central log archive", enable_key_rotation=True,
                      deletion_window_in_days=30, policy=_archive_key_policy(settings.log_archive_account_id), opts=opts)
    aws.kms.Alias("log-archive-key-alias", name="alias/govcloud/log-archive", target_key_id=key.key_id, opts=opts)
    bucket = aws.s3.Bucket("log-archive", bucket=name, object_lock_enabled=True, force_destroy=False,
                           opts=pulumi.ResourceOptions(provider=provider, protect=True))
    aws.s3.BucketVersioning("log-archive-versioning", bucket=bucket.id,
                            versioning_configuration={"status": "Enabled"}, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        "log-archive-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn},
                "bucket_key_enabled": True}], opts=opts)
    aws.s3.BucketObjectLockConfiguration(
        "log-archive-object-lock", bucket=bucket.id, object_lock_enabled="Enabled",
        rule={"default_retention": {"mode": "COMPLIANCE", "days": retention_days}}, opts=opts)
    aws.s3.BucketPublicAccessBlock("log-archive-public-access-block", bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    aws.s3.BucketPolicy("log-archive-policy", bucket=bucket.id,
                        policy=bucket.arn.apply(_archive_bucket_policy), opts=opts)
    return bucket.bucket, bucket.arn, key.arn


def _archive_key_policy(account_id: str) -> str:
    return _policy([
        {"Sid": "AccountAdministration", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "LogDeliveryEncrypt", "Effect": "Allow",
         "Principal": {"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com", "delivery.logs.amazonaws.com"]},
         "Action": ["kms:GenerateDataKey*", "kms:DescribeKey", "kms:Decrypt"], "Resource": "*"},
    ])


def _archive_bucket_policy(arn: str) -> str:
    services = ["cloudtrail.amazonaws.com", "config.amazonaws.com", "delivery.logs.amazonaws.com"]
    return _policy([
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "LogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": services},
         "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": arn},
        {"Sid": "LogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": services}, "Action": "s3:PutObject",
         "Resource": f"{arn}/*", "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
    ])


def _azure_foundation(cfg: pulumi.Config, zones) -> dict:
    import pulumi_azure_native as azure_native
    from pulumi_azure_native import authorization, management, resources, storage

    from govcloud.templates.azure.baseline import ALLOWED_LOCATIONS, JAPAN_LOCATIONS, NOT_ALLOWED_RESOURCE_TYPES

    provider = azure_native.Provider("platform", subscription_id=cfg.get("azurePlatformSubscriptionId")
                                     or "00000000-0000-4000-8000-000000000001", location="japaneast")
    opts = pulumi.ResourceOptions(provider=provider)
    root = management.ManagementGroup("mg-govcloud", group_id="govcloud", display_name="Government Cloud", opts=opts)

    def mg(group_id: str, display: str, parent) -> management.ManagementGroup:
        return management.ManagementGroup(f"mg-{group_id}", group_id=group_id, display_name=display,
                                          details={"parent": {"id": parent.id}}, opts=opts)

    mg("govcloud-platform", "Platform", root)
    mg("govcloud-quarantine", "Quarantine", root)
    landing = mg("govcloud-landing-zones", "Landing zones", root)
    ids: dict[str, pulumi.Output[str]] = {}
    for group in ENV_GROUPS:
        parent = mg(f"govcloud-tenants-{group}", f"Tenants {group}", landing)
        for zone, entry in zones.items():
            child = mg(f"govcloud-tenants-{group}-{zone}", f"{entry.ja} ({group})", parent)
            ids[f"{group}/{zone}"] = child.id
            if entry.closed:
                authorization.PolicyAssignment(
                    f"mg-{group}-{zone}-deny-public-ip", policy_assignment_name=f"deny-pip-{group}-{zone}"[:24],
                    scope=child.id, policy_definition_id=NOT_ALLOWED_RESOURCE_TYPES,
                    display_name="No public IP addresses in closed zones",
                    parameters={"listOfResourceTypesNotAllowed": {"value": ["Microsoft.Network/publicIPAddresses"]}},
                    opts=opts)
    authorization.PolicyAssignment("mg-govcloud-allowed-locations", policy_assignment_name="allowed-locations",
                                   scope=root.id, policy_definition_id=ALLOWED_LOCATIONS,
                                   display_name="Allowed locations: Japan only",
                                   parameters={"listOfAllowedLocations": {"value": JAPAN_LOCATIONS}}, opts=opts)
    rg = resources.ResourceGroup("log-archive-rg", resource_group_name="rg-govcloud-log-archive",
                                 location="japaneast", opts=opts)
    account = storage.StorageAccount(
        "log-archive-storage", account_name=cfg.get("azureLogStorageAccount") or "govcloudlogarchive",
        resource_group_name=rg.name, location="japaneast", kind="StorageV2", sku={"name": "Standard_GRS"},
        enable_https_traffic_only=True, minimum_tls_version="TLS1_2", allow_blob_public_access=False,
        public_network_access="Disabled", encryption={"require_infrastructure_encryption": True,
                                                      "key_source": "Microsoft.Storage",
                                                      "services": {"blob": {"enabled": True}}},
        immutable_storage_with_versioning={"enabled": True},
        opts=pulumi.ResourceOptions(provider=provider, protect=True))
    return {"storage_id": account.id, "management_groups": ids}

"""AWS tenant access: roles for the vendor and the GC operations assistant (運用管理補助者), both
MFA-conditioned and bounded, and a read-only audit role for the security team."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from govcloud.templates.base import TemplateArgs

JAPAN_REGIONS = ["ap-northeast-1", "ap-northeast-3"]
MFA_MAX_AGE_SECONDS = 3600

PROTECTED_ACTIONS = [
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors",
    "config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel",
    "guardduty:DeleteDetector", "guardduty:UpdateDetector", "guardduty:DisassociateFromMasterAccount",
    "securityhub:DisableSecurityHub", "securityhub:BatchDisableStandards",
    "access-analyzer:DeleteAnalyzer", "ec2:DisableEbsEncryptionByDefault",
    "s3:PutAccountPublicAccessBlock", "iam:DeleteAccountPasswordPolicy",
    "organizations:LeaveOrganization", "iam:CreateUser", "iam:CreateAccessKey",
]


def boundary_policy(tenant: str) -> str:
    """Permission boundary for every human role in the tenant account."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowWithinBoundary", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "DenyOutsideJapan", "Effect": "Deny", "NotAction": [
            "iam:*", "sts:*", "organizations:*", "support:*", "health:*", "cloudfront:*", "route53:*"],
         "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": JAPAN_REGIONS}}},
        {"Sid": "ProtectBaseline", "Effect": "Deny", "Action": PROTECTED_ACTIONS, "Resource": "*"},
        {"Sid": "ProtectGovcloudRoles", "Effect": "Deny",
         "Action": ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy",
                    "iam:DeleteRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
         "Resource": f"arn:aws:iam::*:role/{tenant}-*"},
    ]}, sort_keys=True)


def trust_policy(principal_account: str, *, session_tags: dict[str, str] | None = None) -> str:
    condition: dict = {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                       "NumericLessThan": {"aws:MultiFactorAuthAge": str(MFA_MAX_AGE_SECONDS)}}
    if session_tags:
        condition["StringEquals"] = {f"aws:PrincipalTag/{k}": v for k, v in session_tags.items()}
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{principal_account}:root"},
        "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": condition}]}, sort_keys=True)


ROLES = {
    # role suffix: (managed policies, who)
    "vendor-operator": (["arn:aws:iam::aws:policy/PowerUserAccess"], "vendor"),
    "operations-assistant": (["arn:aws:iam::aws:policy/AdministratorAccess"], "operations"),
    "security-audit": (["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/ReadOnlyAccess"], "security"),
}


class AwsTenantAccess(pulumi.ComponentResource):
    role_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TemplateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("govcloud:aws:TenantAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tenant, tags, settings = args.tenant, args.tags, args.settings
        boundary = aws.iam.Policy(f"{name}-boundary", name=f"{tenant.name}-boundary",
                                  description="govcloud permission boundary for human roles",
                                  policy=boundary_policy(tenant.name), tags=tags, opts=child)
        self.role_arns = {}
        for suffix, (policies, who) in ROLES.items():
            if who == "security":
                trust = trust_policy(settings.security_account_id)
            else:
                # People sign in once in the identity account; the session tag says whom they work for.
                tag = {"vendor": tenant.spec.vendor} if who == "vendor" else {"team": "gc-operations"}
                trust = trust_policy(settings.identity_account_id, session_tags=tag)
            role = aws.iam.Role(f"{name}-{suffix}", name=f"{tenant.name}-{suffix}", assume_role_policy=trust,
                                permissions_boundary=boundary.arn, max_session_duration=3600,
                                tags={**tags, "access": who}, opts=child)
            for i, policy in enumerate(policies):
                aws.iam.RolePolicyAttachment(f"{name}-{suffix}-{i}", role=role.name, policy_arn=policy, opts=child)
            self.role_arns[suffix] = role.arn
        self.register_outputs({"roleArns": self.role_arns})

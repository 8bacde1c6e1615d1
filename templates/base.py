"""What every template takes: the tenant model plus the platform's shared settings.

AWS and Azure versions of a template take the same ``TemplateArgs``, so a tenant moves between
clouds by changing one field of its request.
"""

from __future__ import annotations

import hashlib
import difflib
import json
from dataclasses import dataclass, field, fields
from typing import Mapping

import pulumi

from govcloud.tenants.models import Tenant

REQUIRED_TAGS = ("municipality", "system", "vendor", "zone", "environment", "tenant")
TAG_VALUE_MAX = 256  # AWS and Azure both cap tag values at 256 characters


@dataclass(frozen=True)
class PlatformSettings:
    """Values shared by every tenant stack (Pulumi config under the ``govcloud:`` namespace)."""

    org: str = "organization"
    security_account_id: str = "111111111111"
    identity_account_id: str = "222222222222"
    log_archive_account_id: str = "333333333333"
    account_email_domain: str = "gc.example.lg.jp"
    log_retention_days: int = 400
    azure_billing_scope: str = ""
    azure_security_principal_id: str = ""
    azure_operations_principal_id: str = ""
    azure_vendor_principal_ids: dict[str, str] = field(default_factory=dict)


# Pulumi config key (``govcloud:<key>``) -> PlatformSettings field.
CONFIG_KEYS = {
    "org": "org", "securityAccountId": "security_account_id", "identityAccountId": "identity_account_id",
    "logArchiveAccountId": "log_archive_account_id", "accountEmailDomain": "account_email_domain",
    "logRetentionDays": "log_retention_days", "azureBillingScope": "azure_billing_scope",
    "azureSecurityPrincipalId": "azure_security_principal_id",
    "azureOperationsPrincipalId": "azure_operations_principal_id", "azureVendorPrincipalIds": "azure_vendor_principal_ids",
}


# CloudWatch Logs PutRetentionPolicy, retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30,
# 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653."
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


def config_kind(key: str) -> type | None:
    """The type of a ``govcloud:`` config value as the program reads it (None: not a key of ours)."""
    key = key.removeprefix("govcloud:")
    if key in STACK_CONFIG_KEYS:
        return STACK_CONFIG_KEYS[key]
    if key in CONFIG_KEYS:
        return {"int": int, "dict[str, str]": dict}.get(str(_FIELD_TYPES[CONFIG_KEYS[key]]), str)
    return None


# Keys one stack's program reads itself, beside the platform settings (stacks/foundation.py,
# stacks/network.py): known, so that they are not refused as misspelt, and type-checked.
STACK_CONFIG_KEYS: dict[str, type] = {
    "logArchiveBucket": str, "logArchiveRetentionDays": int, "azurePlatformSubscriptionId": str,
    "azureLogStorageAccount": str, "attachmentIds": dict, "inspectionCidr": str,
}


_FIELD_TYPES = {f.name: f.type for f in fields(PlatformSettings)}


def _value(key: str, kind: type, raw: str):
    """A config value as the program reads it, or a ValueError naming the key."""
    if kind is int:
        if not (raw.isascii() and raw.isdigit()):
            raise ValueError(f"config govcloud:{key} must be a whole number, not {raw!r}")
        return int(raw)
    if kind is dict:
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ValueError(f"config govcloud:{key} must be a map of names to text")
        return parsed
    return raw


def settings_from_config(values: Mapping[str, str | None]) -> PlatformSettings:
    """PlatformSettings from Pulumi config values as strings (``key`` or ``govcloud:key``), the way
    both the Pulumi runtime and the offline planner see them; unset keys keep their defaults.
    A value of the wrong type is refused (ValueError naming the key), never read as a default."""
    defaults = PlatformSettings()
    chosen: dict = {}
    for key, raw in values.items():
        if ":" in key and not key.startswith("govcloud:"):
            continue                       # another namespace (aws:region, pulumi:tags): not ours
        key = key.removeprefix("govcloud:")
        if key in STACK_CONFIG_KEYS:
            if raw:
                _value(key, STACK_CONFIG_KEYS[key], raw)
            continue
        if key not in CONFIG_KEYS:
            # A misspelt key would otherwise leave the default in place without a word
            # (found in review: govcloud:logRetentionDay: 30 planned with 400 days).
            known = sorted({*CONFIG_KEYS, *STACK_CONFIG_KEYS})
            near = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean govcloud:{near[0]}?)" if near else f" (known: {', '.join(known)})"
            raise ValueError(f"unknown config key govcloud:{key}{hint}")
        if raw is None or raw == "":
            continue
        name = CONFIG_KEYS[key]
        chosen[name] = _value(key, config_kind(key), raw)
        if name == "log_retention_days" and chosen[name] not in LOG_RETENTION_DAYS:
            raise ValueError(f"config govcloud:{key} must be one of CloudWatch Logs' retention periods "
                             f"({', '.join(map(str, LOG_RETENTION_DAYS))}), not {raw}")
    return PlatformSettings(**{**{f.name: getattr(defaults, f.name) for f in fields(PlatformSettings)}, **chosen})


ACCOUNT_ACCESS_ROLE = "OrganizationAccountAccessRole"


@dataclass(frozen=True)
class AwsAccountIdentity:
    """A tenant's AWS account as its stack creates it (the account resource's name, e-mail, tags,
    and the role Organizations creates in it). Live commands find and vend accounts by these, so
    they are computed here once, from the tenant, never read back from plan JSON."""

    name: str
    email: str
    role: str
    tags: dict[str, str]


def aws_account(tenant: Tenant, settings: PlatformSettings) -> AwsAccountIdentity:
    return AwsAccountIdentity(name=f"govcloud-{tenant.name}", email=f"aws+{tenant.name}@{settings.account_email_domain}",
                              role=ACCOUNT_ACCESS_ROLE, tags=tenant_tags(tenant))


@dataclass(frozen=True)
class SharedOutputs:
    """What a tenant stack reads from the foundation and network stacks. At deploy time these are
    StackReference outputs (so ``pulumi.Input``); the offline plan engine mocks them."""

    log_archive_bucket: pulumi.Input[str]
    log_archive_bucket_arn: pulumi.Input[str]
    log_archive_kms_key_arn: pulumi.Input[str]
    tenant_ou_id: pulumi.Input[str]
    core_network_id: pulumi.Input[str]
    core_network_arn: pulumi.Input[str]
    azure_log_storage_id: pulumi.Input[str]
    azure_hub: pulumi.Input[dict]              # {"id", "name", "resourceGroup", "routeTables": {name: id}} of the region
    azure_management_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class FlowRule:
    """One allowed flow into a tenant, as compiled by the network controller."""

    description: str
    cidr: str
    protocol: str
    port: int


@dataclass(frozen=True)
class TemplateArgs:
    tenant: Tenant
    closed_zone: bool
    settings: PlatformSettings
    shared: SharedOutputs

    @property
    def name(self) -> str:
        return self.tenant.name

    @property
    def tags(self) -> dict[str, str]:
        return tenant_tags(self.tenant)


def tenant_tags(tenant: Tenant) -> dict[str, str]:
    spec = tenant.spec
    municipalities = "+".join(spec.municipalities)
    if len(municipalities) > TAG_VALUE_MAX:
        # A tag value cannot hold every code of a very large shared tenant; the tenant document
        # (named by the `tenant` tag) is the full record.
        municipalities = f"shared:{len(spec.municipalities)}"
    return {
        "municipality": municipalities,
        "system": spec.system,
        "vendor": spec.vendor,
        "zone": spec.zone,
        "environment": spec.environment,
        "tenant": tenant.name,
        "managed-by": "govcloud",
    }


def env_group(environment: str) -> str:
    """Production tenants go to the tenants-prod OU, everything else to tenants-staging."""
    return "prod" if environment == "prod" else "staging"


def short_id(text: str, length: int = 10) -> str:
    """Stable short suffix for names with tight limits (Key Vault: 24 characters)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


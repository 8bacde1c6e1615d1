"""Stack settings from Pulumi config (``govcloud:`` namespace) and the StackReferences a tenant
stack reads from the foundation and network stacks."""

from __future__ import annotations

import pulumi

from govcloud.templates.base import PlatformSettings, SharedOutputs, env_group
from govcloud.tenants.models import Tenant

PROJECT = "govcloud"


def platform_settings() -> PlatformSettings:
    cfg = pulumi.Config(PROJECT)
    defaults = PlatformSettings()
    return PlatformSettings(
        org=cfg.get("org") or defaults.org,
        security_account_id=cfg.get("securityAccountId") or defaults.security_account_id,
        identity_account_id=cfg.get("identityAccountId") or defaults.identity_account_id,
        log_archive_account_id=cfg.get("logArchiveAccountId") or defaults.log_archive_account_id,
        account_email_domain=cfg.get("accountEmailDomain") or defaults.account_email_domain,
        log_retention_days=cfg.get_int("logRetentionDays") or defaults.log_retention_days,
        azure_billing_scope=cfg.get("azureBillingScope") or defaults.azure_billing_scope,
        azure_security_principal_id=cfg.get("azureSecurityPrincipalId") or defaults.azure_security_principal_id,
        azure_operations_principal_id=cfg.get("azureOperationsPrincipalId") or defaults.azure_operations_principal_id,
        azure_vendor_principal_ids=cfg.get_object("azureVendorPrincipalIds") or {},
    )


def stack_reference_name(settings: PlatformSettings, stack: str) -> str:
    return f"{settings.org}/{PROJECT}/{stack}"


def shared_outputs(settings: PlatformSettings, tenant: Tenant) -> SharedOutputs:
    foundation = pulumi.StackReference(stack_reference_name(settings, "foundation"))
    network = pulumi.StackReference(stack_reference_name(settings, "network"))
    spec = tenant.spec
    ou_key = f"{env_group(spec.environment)}/{spec.zone}"
    return SharedOutputs(
        log_archive_bucket=foundation.get_output("logArchiveBucket"),
        log_archive_bucket_arn=foundation.get_output("logArchiveBucketArn"),
        log_archive_kms_key_arn=foundation.get_output("logArchiveKmsKeyArn"),
        tenant_ou_id=foundation.get_output("tenantOuIds").apply(lambda ids: ids[ou_key]),
        core_network_id=network.get_output("coreNetworkId"),
        core_network_arn=network.get_output("coreNetworkArn"),
        azure_log_storage_id=foundation.get_output("azureLogStorageId"),
        azure_hub=network.get_output("azureHubs").apply(lambda hubs: hubs[spec.region] if spec.cloud == "azure" else {}),
        azure_management_group_id=foundation.get_output("azureManagementGroupIds").apply(lambda ids: ids[ou_key]),
    )

"""Stack settings from Pulumi config (``govcloud:`` namespace) and the StackReferences a tenant
stack reads from the foundation and network stacks."""

from __future__ import annotations

import pulumi

from govcloud.templates.base import CONFIG_KEYS, PlatformSettings, SharedOutputs, env_group, settings_from_config
from govcloud.tenants.models import Tenant

PROJECT = "govcloud"


def platform_settings() -> PlatformSettings:
    """The same reading as the offline side (templates.base.settings_from_config), from the runtime."""
    cfg = pulumi.Config(PROJECT)
    return settings_from_config({key: cfg.get(key) for key in CONFIG_KEYS})


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

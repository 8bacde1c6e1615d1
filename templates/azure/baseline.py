"""Azure security baseline for one tenant subscription, after Azure Landing Zones: Log Analytics,
activity-log diagnostics, Defender for Cloud, Key Vault (RBAC, purge protection, private only)
and policy assignments pinning Japan locations and forbidding public IPs in closed zones."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, keyvault, monitor, operationalinsights, resources, security

from govcloud.templates.base import TemplateArgs, short_id

JAPAN_LOCATIONS = ["japaneast", "japanwest"]
# Built-in policy definitions (ids are the same in every tenant).
ALLOWED_LOCATIONS = "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
ALLOWED_RG_LOCATIONS = "/providers/Microsoft.Authorization/policyDefinitions/e765b5de-1225-4ba3-bd56-1ac6695af988"
NOT_ALLOWED_RESOURCE_TYPES = "/providers/Microsoft.Authorization/policyDefinitions/6c112d4e-5bc7-47ae-a041-ea2d9dccd749"
NIC_NO_PUBLIC_IP = "/providers/Microsoft.Authorization/policyDefinitions/83a86a26-fd1f-447c-b59d-e51f44264114"
DEFENDER_PLANS = ["VirtualMachines", "StorageAccounts", "KeyVaults", "Arm", "SqlServers", "Containers", "CloudPosture"]
ACTIVITY_LOG_CATEGORIES = ["Administrative", "Security", "ServiceHealth", "Alert", "Recommendation", "Policy", "Autoscale", "ResourceHealth"]


class AzureSecurityBaseline(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]

    def __init__(self, name: str, args: TemplateArgs, subscription_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("govcloud:azure:SecurityBaseline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tenant, tags = args.tenant, args.tags
        location = tenant.spec.region
        scope = pulumi.Output.from_input(subscription_id).apply(lambda s: f"/subscriptions/{s}")

        rg = resources.ResourceGroup(f"{name}-rg", resource_group_name=f"rg-{tenant.name}-security",
                                     location=location, tags=tags, opts=child)
        workspace = operationalinsights.Workspace(
            f"{name}-logs", workspace_name=f"log-{tenant.name}", resource_group_name=rg.name, location=location,
            sku={"name": "PerGB2018"}, retention_in_days=min(args.settings.log_retention_days, 730),
            public_network_access_for_ingestion="Disabled", public_network_access_for_query="Disabled",
            tags=tags, opts=child)
        monitor.SubscriptionDiagnosticSetting(
            f"{name}-activity-log", name="govcloud-activity-log", workspace_id=workspace.id,
            storage_account_id=args.shared.azure_log_storage_id,
            logs=[{"category": c, "enabled": True} for c in ACTIVITY_LOG_CATEGORIES], opts=child)
        for plan in DEFENDER_PLANS:
            security.Pricing(f"{name}-defender-{plan.lower()}", pricing_name=plan, pricing_tier="Standard",
                             scope_id=scope, opts=child)
        vault = keyvault.Vault(
            f"{name}-kv", vault_name=f"kv-{short_id(tenant.name, 18)}", resource_group_name=rg.name,
            location=location, tags=tags,
            properties={
                "tenant_id": authorization.get_client_config_output(
                    opts=pulumi.InvokeOutputOptions(parent=self)).apply(lambda c: c.tenant_id),
                "sku": {"family": "A", "name": "premium" if args.closed_zone else "standard"},
                "enable_rbac_authorization": True, "enable_soft_delete": True,
                "soft_delete_retention_in_days": 90, "enable_purge_protection": True,
                "public_network_access": "Disabled",
                "network_acls": {"default_action": "Deny", "bypass": "AzureServices"},
            }, opts=child)
        monitor.DiagnosticSetting(
            f"{name}-kv-diagnostics", name="govcloud", resource_uri=vault.id, workspace_id=workspace.id,
            logs=[{"category_group": "audit", "enabled": True}], opts=child)

        authorization.PolicyAssignment(
            f"{name}-allowed-locations", policy_assignment_name="govcloud-allowed-locations", scope=scope,
            policy_definition_id=ALLOWED_LOCATIONS, display_name="Allowed locations: Japan only",
            parameters={"listOfAllowedLocations": {"value": JAPAN_LOCATIONS}}, enforcement_mode="Default", opts=child)
        authorization.PolicyAssignment(
            f"{name}-allowed-rg-locations", policy_assignment_name="govcloud-allowed-rg-locations", scope=scope,
            policy_definition_id=ALLOWED_RG_LOCATIONS, display_name="Allowed resource group locations: Japan only",
            parameters={"listOfAllowedLocations": {"value": JAPAN_LOCATIONS}}, enforcement_mode="Default", opts=child)
        if args.closed_zone:
            authorization.PolicyAssignment(
                f"{name}-deny-public-ip", policy_assignment_name="govcloud-deny-public-ip", scope=scope,
                policy_definition_id=NOT_ALLOWED_RESOURCE_TYPES, display_name="No public IP addresses in closed zones",
                parameters={"listOfResourceTypesNotAllowed": {"value": ["Microsoft.Network/publicIPAddresses"]}},
                enforcement_mode="Default", opts=child)
            authorization.PolicyAssignment(
                f"{name}-nic-no-public-ip", policy_assignment_name="govcloud-nic-no-public-ip", scope=scope,
                policy_definition_id=NIC_NO_PUBLIC_IP, display_name="Network interfaces must not have public IPs",
                enforcement_mode="Default", opts=child)

        self.workspace_id = workspace.id
        self.key_vault_id = vault.id
        self.register_outputs({"workspaceId": workspace.id, "keyVaultId": vault.id})


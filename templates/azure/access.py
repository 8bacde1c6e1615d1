"""Azure tenant access: role assignments for the vendor and operations groups and read-only
security roles for the security team. MFA is enforced by Entra ID Conditional Access on these
groups (outside the subscription), which the role assignments' conditions cannot express."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

from govcloud.templates.base import TemplateArgs, short_id

# Built-in role definition ids.
ROLE_IDS = {
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Security Reader": "39bc4728-0917-49c7-9d2c-d95423bc2eb4",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
}


class AzureTenantAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: TemplateArgs, subscription_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("govcloud:azure:TenantAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, tenant = args.settings, args.tenant
        vendor_principal = settings.azure_vendor_principal_ids.get(tenant.spec.vendor)
        if not vendor_principal:
            raise ValueError(f"no Entra ID group for vendor {tenant.spec.vendor}: set govcloud:azureVendorPrincipalIds")
        scope = pulumi.Output.from_input(subscription_id).apply(lambda s: f"/subscriptions/{s}")
        grants = [
            ("vendor-contributor", vendor_principal, "Contributor"),
            ("operations-contributor", settings.azure_operations_principal_id, "Contributor"),
            ("security-reader", settings.azure_security_principal_id, "Reader"),
            ("security-security-reader", settings.azure_security_principal_id, "Security Reader"),
        ]
        for suffix, principal, role in grants:
            role_id = ROLE_IDS[role]
            authorization.RoleAssignment(
                f"{name}-{suffix}", scope=scope, principal_id=principal, principal_type="Group",
                # Role assignment names are GUIDs; derive a stable one so re-runs do not duplicate.
                role_assignment_name=_guid(f"{tenant.name}/{suffix}"),
                role_definition_id=pulumi.Output.from_input(subscription_id).apply(
                    lambda s, r=role_id: f"/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{r}"),
                opts=child)
        self.register_outputs({})


def _guid(text: str) -> str:
    h = short_id(text, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

"""Resource type and property-name mappings between Pulumi and the formats checkov reads.
Standard library only: the exporter and the checkov checks (in checkov's own environment) share it."""

from __future__ import annotations

import re

# Where Terraform's name is not aws_<module>_<resource>.
TF_TYPES = {
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:cfg/recorder:Recorder": "aws_config_configuration_recorder",
    "aws:cfg/recorderStatus:RecorderStatus": "aws_config_configuration_recorder_status",
    "aws:cfg/deliveryChannel:DeliveryChannel": "aws_config_delivery_channel",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
}
# Map-typed attributes stay objects; every other nested object is a Terraform block (a list).
TF_MAPS = {"tags", "tags_all", "default_tags", "parameters"}
ARM_TYPES = {
    "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults",
    "azure-native:network:NetworkSecurityGroup": "Microsoft.Network/networkSecurityGroups",
    "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
    "azure-native:network:PublicIPAddress": "Microsoft.Network/publicIPAddresses",
    "azure-native:network:FlowLog": "Microsoft.Network/networkWatchers/flowLogs",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:security:Pricing": "Microsoft.Security/pricings",
    "azure-native:monitor:SubscriptionDiagnosticSetting": "Microsoft.Insights/diagnosticSettings",
    "azure-native:monitor:DiagnosticSetting": "Microsoft.Insights/diagnosticSettings",
    "azure-native:authorization:PolicyAssignment": "Microsoft.Authorization/policyAssignments",
    "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
    "azure-native:resources:ResourceGroup": "Microsoft.Resources/resourceGroups",
}
# Top-level azure-native inputs that ARM keeps outside `properties`.
ARM_TOP = {"location", "tags", "sku", "kind", "identity", "zones"}


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def tf_type(token: str) -> str | None:
    if token in TF_TYPES:
        return TF_TYPES[token]
    match = re.fullmatch(r"aws:([a-zA-Z0-9]+)/([a-zA-Z0-9]+):[A-Za-z0-9]+", token)
    if not match:
        return None
    module, resource = match.groups()
    return f"aws_{snake(resource)}" if module == "ec2" else f"aws_{module.lower()}_{snake(resource)}"

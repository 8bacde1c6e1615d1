"""Azure controls (Azure Landing Zones, Microsoft cloud security benchmark, Government Cloud)."""

from __future__ import annotations

from . import resource_control, stack_control

CLOSED_ZONES = ("mynumber", "lgwan")
ALLOWED_LOCATIONS_DEFINITION = "e56962a6-4747-49cd-b67b-bf8b01975c4c"
NOT_ALLOWED_TYPES_DEFINITION = "6c112d4e-5bc7-47ae-a041-ea2d9dccd749"


def _of(resources, type_):
    return [r for r in resources if r.get("type") == type_]


@resource_control("GC-AZ-KV-1")
def vault_purge_protection(i, ctx):
    props = i.get("properties") or {}
    return None if props.get("enablePurgeProtection") is True else "Key Vault purge protection is off"


@resource_control("GC-AZ-KV-2")
def vault_rbac(i, ctx):
    props = i.get("properties") or {}
    return None if props.get("enableRbacAuthorization") is True else "Key Vault uses access policies instead of RBAC"


@resource_control("GC-AZ-KV-3")
def vault_private(i, ctx):
    props = i.get("properties") or {}
    acls = props.get("networkAcls") or {}
    if props.get("publicNetworkAccess") == "Disabled" or acls.get("defaultAction") == "Deny":
        return None
    return "Key Vault is reachable from public networks"


@resource_control("GC-AZ-MN-1")
def vault_hsm_for_mynumber(i, ctx):
    if ctx.get("zone") != "mynumber":
        return None
    sku = ((i.get("properties") or {}).get("sku") or {}).get("name")
    return None if sku == "premium" else "mynumber: keys must be HSM-backed (Key Vault premium)"


@resource_control("GC-AZ-DEF-1")
def defender_standard(i, ctx):
    return None if i.get("pricingTier") == "Standard" else f"Defender for Cloud plan {i.get('pricingName')} is not Standard"


@stack_control("GC-AZ-DEF-2")
def defender_plans_present(resources, ctx):
    plans = {r["inputs"].get("pricingName") for r in _of(resources, "azure-native:security:Pricing")}
    missing = {"VirtualMachines", "StorageAccounts", "KeyVaults", "Arm"} - plans
    return [f"Defender for Cloud plans missing: {', '.join(sorted(missing))}"] if missing else []


@stack_control("GC-AZ-LOG-1")
def activity_log(resources, ctx):
    for setting in _of(resources, "azure-native:monitor:SubscriptionDiagnosticSetting"):
        enabled = {l.get("category") for l in setting["inputs"].get("logs") or [] if l.get("enabled")}
        if {"Administrative", "Security", "Policy"} <= enabled:
            return []
    return ["the subscription activity log (Administrative, Security, Policy) is not exported"]


@resource_control("GC-AZ-LOG-2")
def workspace_retention(i, ctx):
    return None if (i.get("retentionInDays") or 0) >= 365 else "Log Analytics keeps logs fewer than 365 days"


@resource_control("GC-AZ-NSG-1")
def nsg_default_deny(i, ctx):
    for rule in i.get("securityRules") or []:
        if (rule.get("direction") == "Inbound" and rule.get("access") == "Deny"
                and rule.get("sourceAddressPrefix") in ("*", "Internet") and rule.get("destinationPortRange") == "*"):
            return None
    return "the NSG has no explicit deny-all inbound rule"


@resource_control("GC-AZ-NSG-2")
def nsg_no_internet_inbound(i, ctx):
    for rule in i.get("securityRules") or []:
        sources = [rule.get("sourceAddressPrefix")] + list(rule.get("sourceAddressPrefixes") or [])
        if rule.get("direction") == "Inbound" and rule.get("access") == "Allow" and {"*", "Internet", "0.0.0.0/0"} & set(sources):
            return f"NSG rule {rule.get('name')} allows inbound traffic from anywhere"
    return None


@stack_control("GC-AZ-NET-1")
def vnet_flow_logs(resources, ctx):
    vnets = _of(resources, "azure-native:network:VirtualNetwork")
    logs = [r for r in _of(resources, "azure-native:network:FlowLog") if r["inputs"].get("enabled") is True]
    return [] if len(logs) >= len(vnets) else ["a virtual network has no enabled flow log"]


@resource_control("GC-AZ-NET-2")
def no_public_ip_in_closed_zone(i, ctx):
    return "public IP address in a closed zone" if ctx.get("zone") in CLOSED_ZONES else None


def _assignments(resources):
    return [r["inputs"] for r in _of(resources, "azure-native:authorization:PolicyAssignment")]


@stack_control("GC-AZ-POL-1")
def allowed_locations(resources, ctx):
    if not _of(resources, "azure-native:subscription:Alias") and not _of(resources, "azure-native:management:ManagementGroup"):
        return []
    for a in _assignments(resources):
        if a.get("policyDefinitionId", "").endswith(ALLOWED_LOCATIONS_DEFINITION):
            allowed = ((a.get("parameters") or {}).get("listOfAllowedLocations") or {}).get("value") or []
            if allowed and set(allowed) <= {"japaneast", "japanwest"}:
                return []
    return ["no policy assignment restricts locations to Japan East and Japan West"]


@stack_control("GC-AZ-POL-2")
def deny_public_ip_policy(resources, ctx):
    if ctx.get("zone") not in CLOSED_ZONES or not _of(resources, "azure-native:subscription:Alias"):
        return []
    for a in _assignments(resources):
        types = ((a.get("parameters") or {}).get("listOfResourceTypesNotAllowed") or {}).get("value") or []
        if a.get("policyDefinitionId", "").endswith(NOT_ALLOWED_TYPES_DEFINITION) and "Microsoft.Network/publicIPAddresses" in types:
            return []
    return ["closed zone: no policy assignment denies public IP addresses"]

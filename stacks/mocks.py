"""Mocked provider behaviour for the offline plan engine: deterministic, realistic values.

Ids and ARNs follow each service's real format (``vpc-`` + 17 hex digits, ``arn:aws:kms:…:key/
<uuid>``, Azure resource ids under the right subscription), account ids are the tenant's (its
recorded one, or a stable one derived from its name), invokes answer per region and account
through the provider they are called with, and StackReferences return outputs with the keys the
foundation and network stacks export.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from govcloud.plans import tenant_of

MANAGEMENT_ACCOUNT = "100000000000"
AZURE_TENANT_ID = "7f3c1e42-1a6b-4c1e-9d6a-0c3b5e2a9f10"
DEFAULT_SUBSCRIPTION = "00000000-0000-4000-8000-000000000000"

AVAILABILITY_ZONES = {
    # AZ names map to different physical zones per account; AZ ids do not. Tokyo has no
    # ap-northeast-1b for accounts created since 2012.
    "ap-northeast-1": (["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"], ["apne1-az4", "apne1-az1", "apne1-az2"]),
    "ap-northeast-3": (["ap-northeast-3a", "ap-northeast-3b", "ap-northeast-3c"], ["apne3-az3", "apne3-az1", "apne3-az2"]),
}

EC2_ID_PREFIX = {
    "vpc": "vpc", "subnet": "subnet", "securityGroup": "sg", "defaultSecurityGroup": "sg", "routeTable": "rtb",
    "internetGateway": "igw", "vpcEndpoint": "vpce", "flowLog": "fl", "route": "r", "routeTableAssociation": "rtbassoc",
    "customerGateway": "cgw", "vpnConnection": "vpn",
}

AZURE_NAMESPACES = {
    "network": "Microsoft.Network", "keyvault": "Microsoft.KeyVault", "operationalinsights": "Microsoft.OperationalInsights",
    "storage": "Microsoft.Storage", "monitor": "Microsoft.Insights", "security": "Microsoft.Security",
    "authorization": "Microsoft.Authorization",
}


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(hex=digest(*parts, length=32), version=4))


def account_id_for(account_name: str) -> str:
    return str(int(digest("account", account_name, length=15), 16) % 10**12).zfill(12)


def reference_outputs(stack: str) -> dict[str, Any]:
    """Outputs of the foundation and network stacks as a tenant stack reads them."""
    short = stack.rsplit("/", 1)[-1]
    if short == "foundation":
        from govcloud.tenants.catalogue import load_catalogue

        zones = list(load_catalogue().zones)
        ou = {f"{g}/{z}": f"ou-{digest('root', length=4)}-{digest(g, z, length=8)}" for g in ("prod", "staging") for z in zones}
        mgs = {f"{g}/{z}": f"/providers/Microsoft.Management/managementGroups/govcloud-tenants-{g}-{z}"
               for g in ("prod", "staging") for z in zones}
        return {
            "logArchiveBucket": "govcloud-log-archive-333333333333",
            "logArchiveBucketArn": "arn:aws:s3:::govcloud-log-archive-333333333333",
            "logArchiveKmsKeyArn": f"arn:aws:kms:ap-northeast-1:333333333333:key/{stable_uuid('log-archive-key')}",
            "tenantOuIds": ou,
            "quarantineOuId": f"ou-{digest('root', length=4)}-{digest('quarantine', length=8)}",
            "azureLogStorageId": f"/subscriptions/{DEFAULT_SUBSCRIPTION[:-1]}1/resourceGroups/rg-govcloud-log-archive"
                                 "/providers/Microsoft.Storage/storageAccounts/govcloudlogarchive",
            "azureManagementGroupIds": mgs,
        }
    if short == "network":
        from govcloud.stacks.network import HUB_PREFIXES
        from govcloud.tenants.catalogue import load_catalogue

        core = f"core-network-0{digest('core-network')}"
        sub = f"{DEFAULT_SUBSCRIPTION[:-1]}2"
        hubs = {}
        for region in HUB_PREFIXES:
            base = f"/subscriptions/{sub}/resourceGroups/rg-govcloud-vwan/providers/Microsoft.Network/virtualHubs/vhub-govcloud-{region}"
            names = [f"rt-{z}{suffix}" for z in [*load_catalogue().zones, "shared-services"] for suffix in ("", "-branches")]
            hubs[region] = {"id": base, "name": f"vhub-govcloud-{region}", "resourceGroup": "rg-govcloud-vwan",
                            "routeTables": {n: f"{base}/hubRouteTables/{n}" for n in [*names, "rt-inspection"]}}
        return {"coreNetworkId": core, "coreNetworkArn": f"arn:aws:networkmanager::{MANAGEMENT_ACCOUNT}:core-network/{core}",
                "azureHubs": hubs}
    if (name := tenant_of(short)) is not None:
        return {"tenant": name, "attachmentId": f"attachment-0{digest('attachment', name)}",
                "accountId": account_id_for(f"govcloud-{name}")}
    raise KeyError(f"no stack {stack} to reference")


class GovcloudMocks(Mocks):
    def __init__(self, stack: str, account_ids: dict[str, str] | None = None):
        self.stack = stack
        self.account_ids = account_ids or {}
        self.providers: dict[str, dict[str, str]] = {}  # provider id -> {"region", "account", "subscription"}

    # --- helpers -------------------------------------------------------------------------------

    def _context(self, provider_ref: str | None) -> dict[str, str]:
        provider_id = (provider_ref or "").rsplit("::", 1)[-1]
        return self.providers.get(provider_id, {"region": "ap-northeast-1", "account": MANAGEMENT_ACCOUNT,
                                                "subscription": DEFAULT_SUBSCRIPTION})

    def _id(self, args: MockResourceArgs) -> str:
        return digest(self.stack, args.typ, args.name)

    # --- Mocks API -------------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        typ, inputs = args.typ, dict(args.inputs)
        if typ == "pulumi:pulumi:StackReference":
            name = inputs["name"]
            return name, {"name": name, "outputs": reference_outputs(name), "secretOutputNames": []}
        if typ.startswith("pulumi:providers:"):
            return self._provider(args, inputs)
        ctx = self._context(args.provider)
        if typ.startswith("aws:"):
            return self._aws(args, inputs, ctx)
        if typ.startswith("azure-native:"):
            return self._azure(args, inputs, ctx)
        return f"{args.name}-{self._id(args)[:8]}", inputs

    def call(self, args: MockCallArgs) -> tuple[dict, list]:
        ctx = self._context(args.provider)
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names, ids = AVAILABILITY_ZONES.get(ctx["region"], ([], []))
            return {"id": ctx["region"], "names": names, "zoneIds": ids, "groupNames": [ctx["region"]], "state": "available"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = ctx["account"]
            return {"accountId": account, "arn": f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/govcloud",
                    "id": account, "userId": f"AROA{digest(account, length=17).upper()}:govcloud"}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": ctx["region"], "region": ctx["region"], "id": ctx["region"],
                    "endpoint": f"ec2.{ctx['region']}.amazonaws.com", "description": "Asia Pacific (Tokyo)"}, []
        if token == "aws:organizations/getOrganization:getOrganization":
            org = f"o-{digest('org', length=10)}"
            root = f"r-{digest('root', length=4)}"
            return {"id": org, "arn": f"arn:aws:organizations::{MANAGEMENT_ACCOUNT}:organization/{org}",
                    "masterAccountId": MANAGEMENT_ACCOUNT, "featureSet": "ALL",
                    "roots": [{"id": root, "name": "Root", "arn": f"arn:aws:organizations::{MANAGEMENT_ACCOUNT}:root/{org}/{root}",
                               "policyTypes": [{"type": "SERVICE_CONTROL_POLICY", "status": "ENABLED"}]}]}, []
        if token == "azure-native:authorization:getClientConfig":
            return {"clientId": stable_uuid("client"), "objectId": stable_uuid("object"),
                    "subscriptionId": ctx["subscription"], "tenantId": AZURE_TENANT_ID}, []
        return {}, []

    # --- per cloud ---------------------------------------------------------------------------------

    def _provider(self, args: MockResourceArgs, inputs: dict) -> tuple[str, dict]:
        provider_id = stable_uuid(self.stack, args.typ, args.name)
        info = {"region": inputs.get("region") or inputs.get("location") or "ap-northeast-1",
                "account": MANAGEMENT_ACCOUNT, "subscription": inputs.get("subscriptionId") or DEFAULT_SUBSCRIPTION}
        allowed = _decoded(inputs.get("allowedAccountIds"))
        if isinstance(allowed, list) and allowed:
            info["account"] = str(allowed[0])
        for role in _decoded(inputs.get("assumeRoles")) or []:
            arn = role.get("roleArn", "") if isinstance(role, dict) else ""
            if arn.startswith("arn:aws:iam::"):
                info["account"] = arn.split(":")[4]
        self.providers[provider_id] = info
        return provider_id, inputs

    def _aws(self, args: MockResourceArgs, inputs: dict, ctx: dict) -> tuple[str, dict]:
        _, module_path, _ = args.typ.split(":")
        service, kind = module_path.split("/")
        region, account, h = ctx["region"], ctx["account"], self._id(args)
        out = dict(inputs)
        if args.typ == "aws:organizations/account:Account":
            rid = self.account_ids.get(inputs.get("name", "")) or account_id_for(inputs.get("name", args.name))
            out["arn"] = f"arn:aws:organizations::{MANAGEMENT_ACCOUNT}:account/o-{digest('org', length=10)}/{rid}"
            out["status"] = "ACTIVE"
            return rid, out
        if service == "ec2" and kind in EC2_ID_PREFIX:
            rid = f"{EC2_ID_PREFIX[kind]}-{h}"
            out["arn"] = f"arn:aws:ec2:{region}:{account}:{_kebab(kind)}/{rid}"
            if kind == "vpc":
                out["defaultSecurityGroupId"] = f"sg-{digest(h, 'default')}"
                out["mainRouteTableId"] = f"rtb-{digest(h, 'main')}"
            return rid, out
        if args.typ == "aws:kms/key:Key":
            key_id = stable_uuid(self.stack, args.name)
            out.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{account}:key/{key_id}")
            return key_id, out
        if args.typ == "aws:s3/bucket:Bucket":
            name = inputs.get("bucket") or f"{args.name}-{h[:8]}"
            out.update(bucket=name, arn=f"arn:aws:s3:::{name}", bucketDomainName=f"{name}.s3.amazonaws.com")
            return name, out
        if service == "iam" and kind in ("role", "policy"):
            name = inputs.get("name") or f"{args.name}-{h[:8]}"
            out.update(name=name, arn=f"arn:aws:iam::{account}:{kind}/{name}", uniqueId=f"AROA{h.upper()}")
            return name, out
        if args.typ == "aws:networkmanager/coreNetwork:CoreNetwork":
            rid = f"core-network-0{h}"
            out["arn"] = f"arn:aws:networkmanager::{account}:core-network/{rid}"
            return rid, out
        if args.typ == "aws:networkmanager/globalNetwork:GlobalNetwork":
            rid = f"global-network-0{h}"
            out["arn"] = f"arn:aws:networkmanager::{account}:global-network/{rid}"
            return rid, out
        if service == "networkmanager" and kind.endswith("Attachment"):
            rid = f"attachment-0{h}"
            out.update(arn=f"arn:aws:networkmanager::{account}:attachment/{rid}", segmentName=(inputs.get("tags") or {}).get("segment", ""),
                       state="AVAILABLE")
            return rid, out
        if args.typ == "aws:networkfirewall/firewall:Firewall":
            name = inputs.get("name", args.name)
            mappings = inputs.get("subnetMappings") or []
            out.update(arn=f"arn:aws:network-firewall:{region}:{account}:firewall/{name}",
                       firewallStatuses=[{"syncStates": [{"availabilityZone": f"az{i}", "attachments": [
                           {"endpointId": f"vpce-{digest(h, str(i))}", "subnetId": m.get("subnetId", "")}]}
                           for i, m in enumerate(mappings)]}])
            return out["arn"], out
        if args.typ == "aws:organizations/organizationalUnit:OrganizationalUnit":
            rid = f"ou-{digest('root', length=4)}-{h[:8]}"
            out["arn"] = f"arn:aws:organizations::{MANAGEMENT_ACCOUNT}:ou/o-{digest('org', length=10)}/{rid}"
            return rid, out
        if args.typ == "aws:organizations/policy:Policy":
            rid = f"p-{h[:8]}"
            out["arn"] = f"arn:aws:organizations::{MANAGEMENT_ACCOUNT}:policy/o-{digest('org', length=10)}/service_control_policy/{rid}"
            return rid, out
        name = inputs.get("name") or f"{args.name}"
        if service == "sns":
            out["arn"] = f"arn:aws:sns:{region}:{account}:{name}"
        elif service == "cloudwatch" and kind == "logGroup":
            out["arn"] = f"arn:aws:logs:{region}:{account}:log-group:{name}"
        elif service == "cloudwatch" and kind == "eventRule":
            out["arn"] = f"arn:aws:events:{region}:{account}:rule/{name}"
        elif service == "cloudtrail":
            out["arn"] = f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"
        else:
            out["arn"] = f"arn:aws:{service}:{region}:{account}:{_kebab(kind)}/{name}"
        return name if inputs.get("name") else f"{args.name}-{h[:8]}", out

    def _azure(self, args: MockResourceArgs, inputs: dict, ctx: dict) -> tuple[str, dict]:
        _, module, kind = args.typ.split(":")
        sub = ctx["subscription"]
        out = dict(inputs)
        if args.typ == "azure-native:subscription:Alias":
            sub_id = stable_uuid("subscription", inputs.get("aliasName", args.name))
            out["properties"] = {**(inputs.get("properties") or {}), "subscriptionId": sub_id, "provisioningState": "Succeeded"}
            return f"/providers/Microsoft.Subscription/aliases/{inputs.get('aliasName')}", out
        if args.typ == "azure-native:management:ManagementGroup":
            rid = f"/providers/Microsoft.Management/managementGroups/{inputs.get('groupId', args.name)}"
            out["name"] = inputs.get("groupId", args.name)
            return rid, out
        if args.typ == "azure-native:resources:ResourceGroup":
            name = inputs.get("resourceGroupName", args.name)
            out["name"] = name
            return f"/subscriptions/{sub}/resourceGroups/{name}", out
        name_key = _name_key(kind, inputs)
        name = str(inputs.get(name_key) or inputs.get("name") or args.name)
        rg = inputs.get("resourceGroupName") or "rg"
        namespace = AZURE_NAMESPACES.get(module, f"Microsoft.{module.capitalize()}")
        type_segment = _azure_type_segment(kind)
        if "scope" in inputs and isinstance(inputs["scope"], str):
            rid = f"{inputs['scope']}/providers/{namespace}/{type_segment}/{name}"
        elif kind == "SubscriptionDiagnosticSetting":
            rid = f"/subscriptions/{sub}/providers/Microsoft.Insights/diagnosticSettings/{name}"
        else:
            parent = ""
            if inputs.get("virtualHubName"):
                parent = f"virtualHubs/{inputs['virtualHubName']}/"
            if inputs.get("networkWatcherName"):
                parent = f"networkWatchers/{inputs['networkWatcherName']}/"
            rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{parent}{type_segment}/{name}"
        out.update(name=name, type=f"{namespace}/{type_segment}")
        if kind == "Workspace":
            out["customerId"] = stable_uuid(rid)
        return rid, out


def _name_key(kind: str, inputs: dict) -> str | None:
    """The input that names an Azure resource: ``<kind>Name`` (vaultName, policyAssignmentName),
    else another ``*Name`` that is not a parent's name or a display name. Inputs arrive in no
    particular order, so the choice must not depend on it."""
    exact = kind[0].lower() + kind[1:] + "Name"
    if exact in inputs:
        return exact
    skip = {"resourceGroupName", "virtualHubName", "networkWatcherName", "displayName"}
    candidates = sorted(k for k in inputs if k.endswith("Name") and k not in skip)
    return candidates[0] if candidates else None


def _decoded(value: Any) -> Any:
    """Provider inputs reach the engine JSON-encoded (provider configuration is strings)."""
    if isinstance(value, str) and value[:1] in "[{":
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


def _azure_type_segment(kind: str) -> str:
    special = {"Vault": "vaults", "Workspace": "workspaces", "VirtualNetwork": "virtualNetworks",
               "NetworkSecurityGroup": "networkSecurityGroups", "FlowLog": "flowLogs", "VirtualWan": "virtualWans",
               "VirtualHub": "virtualHubs", "HubRouteTable": "hubRouteTables",
               "HubVirtualNetworkConnection": "hubVirtualNetworkConnections", "PolicyAssignment": "policyAssignments",
               "RoleAssignment": "roleAssignments", "Pricing": "pricings", "DiagnosticSetting": "diagnosticSettings",
               "StorageAccount": "storageAccounts"}
    return special.get(kind, kind[0].lower() + kind[1:] + "s")

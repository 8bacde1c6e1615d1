"""The `network` stack: the SDN WAN core every tenant attaches to.

AWS Cloud WAN (global network, core network in the Japan edge locations, the core network
policy) and an Azure Virtual WAN with one hub per Japan region and one hub route table per zone.
The core network policy is compiled by the network controller (govcloud.network.compile) from
the workspace's intent; its `attachment:<name>` placeholders are resolved here to real attachment
ids: tenants' from their stacks' outputs, sites' and inter-cloud links' from config."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from govcloud.plans import tenant_stack
from govcloud.tenants.catalogue import load_catalogue

EDGE_LOCATIONS = ["ap-northeast-1", "ap-northeast-3"]
HUB_PREFIXES = {"japaneast": "10.255.0.0/23", "japanwest": "10.255.2.0/23"}
CORE_ASN_RANGE = "64512-64555"


def baseline_core_network_policy(zones: list[str]) -> dict:
    """Every zone is a segment whose attachments are isolated from each other and accepted only
    by the platform; attachments land in the segment named by their `segment` tag."""
    return {
        "version": "2021.12",
        "core-network-configuration": {
            "vpn-ecmp-support": False,
            "asn-ranges": [CORE_ASN_RANGE],
            "edge-locations": [{"location": loc} for loc in EDGE_LOCATIONS],
        },
        "segments": [
            {"name": zone, "edge-locations": EDGE_LOCATIONS, "isolate-attachments": True,
             "require-attachment-acceptance": True}
            for zone in zones
        ],
        "attachment-policies": [
            {"rule-number": 100 + i, "condition-logic": "or",
             "conditions": [{"type": "tag-value", "operator": "equals", "key": "segment", "value": zone}],
             "action": {"association-method": "constant", "segment": zone}}
            for i, zone in enumerate(zones)
        ],
    }


def resolve_attachments(policy: dict, org: str, configured: dict[str, pulumi.Input[str]]) -> pulumi.Output[str]:
    """The policy document with every `attachment:<name>` replaced by the attachment's id."""
    names = sorted({d.removeprefix("attachment:") for a in policy.get("segment-actions", [])
                    for d in a.get("destinations", []) if d.startswith("attachment:")})
    ids: dict[str, pulumi.Input[str]] = {}
    missing = []
    for name in names:
        if name in configured:
            ids[name] = configured[name]
        elif name.startswith("site:") or name.startswith("intercloud-") or name.startswith("external:"):
            missing.append(name)
        else:
            ids[name] = pulumi.StackReference(f"{org}/govcloud/{tenant_stack(name)}").get_output("attachmentId")
    if missing:
        raise ValueError("attachment ids unknown for " + ", ".join(missing)
                         + ": set govcloud:attachmentIds in Pulumi.network.yaml (Direct Connect, VPN and inter-cloud attachments)")

    def render(values: list[str]) -> str:
        lookup = dict(zip(ids, values))
        doc = json.loads(json.dumps(policy))
        for action in doc.get("segment-actions", []):
            if "destinations" in action:
                action["destinations"] = [lookup.get(d.removeprefix("attachment:"), d) if d.startswith("attachment:") else d
                                          for d in action["destinations"]]
        return json.dumps(doc, sort_keys=True)

    return pulumi.Output.all(*ids.values()).apply(render)


INSPECTION_CIDR = "10.255.16.0/24"


def _hub_route(route: dict, hub_id: pulumi.Output[str], firewall_id: pulumi.Output[str], cfg: pulumi.Config):
    """A compiled hub route with its next hop as a resource id: the hub's firewall, a tenant's
    hub connection (named conn-<tenant>), or a configured link (inter-cloud VPN)."""
    hop = route["nextHop"]
    if hop == "inspection-azure":
        next_hop = firewall_id
    elif hop.startswith("intercloud-") or hop.startswith("site:"):
        configured = (cfg.get_object("attachmentIds") or {}).get(hop)
        if configured is None:
            return None  # advertised over BGP by the link itself
        next_hop = configured
    else:
        next_hop = hub_id.apply(lambda h, t=hop: f"{h}/hubVirtualNetworkConnections/conn-{t}")
    return {"name": f"to-{route['destination'].replace('/', '-')}", "destination_type": "CIDR",
            "destinations": [route["destination"]], "next_hop_type": "ResourceId", "next_hop": next_hop}


def network_program(compiled: dict | None = None) -> None:
    """``compiled``: the network controller's output (govcloud.stacks.program.network_inputs);
    None before any tenant exists, which deploys the zone baseline."""
    from govcloud.templates.aws.inspection import AwsInspectionNetwork
    from govcloud.templates.aws.sites import AwsSiteConnections

    compiled = compiled or {}
    compiled_policy = compiled.get("policy")
    cfg = pulumi.Config("govcloud")
    zones = list(load_catalogue().zones)
    provider = aws.Provider("network", region="ap-northeast-1", default_tags=aws.ProviderDefaultTagsArgs(tags={"managed-by": "govcloud"}))
    opts = pulumi.ResourceOptions(provider=provider)
    global_network = aws.networkmanager.GlobalNetwork("global-network", description="govcloud SDN WAN", opts=opts)
    core = aws.networkmanager.CoreNetwork("core-network", global_network_id=global_network.id,
                                          description="govcloud core network", create_base_policy=True,
                                          base_policy_regions=EDGE_LOCATIONS, opts=opts)
    azs = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=provider))
    foundation = pulumi.StackReference(f"{cfg.get('org') or 'organization'}/govcloud/foundation")
    inspection = AwsInspectionNetwork("inspection", cidr=cfg.get("inspectionCidr") or INSPECTION_CIDR,
                                      availability_zones=sorted(azs.zone_ids), core_network_id=core.id,
                                      core_network_arn=core.arn, firewall=compiled.get("firewall", {}),
                                      log_bucket=foundation.get_output("logArchiveBucket"),
                                      log_bucket_arn=foundation.get_output("logArchiveBucketArn"), opts=opts)
    aws_sites = [site for site in compiled.get("sites", []) if site["connection"] != "expressroute"]
    connections = AwsSiteConnections("sites", sites=aws_sites, core_network_id=core.id, opts=opts)
    if compiled_policy is not None:
        ids = {**(cfg.get_object("attachmentIds") or {}), **connections.attachment_ids,
               "inspection-aws": inspection.attachment_id}
        document = resolve_attachments(compiled_policy, cfg.get("org") or "organization", ids)
    else:  # no tenants yet: the zone baseline
        document = json.dumps(baseline_core_network_policy(zones), sort_keys=True)
    aws.networkmanager.CoreNetworkPolicyAttachment("core-network-policy", core_network_id=core.id,
                                                   policy_document=document, opts=opts)

    import pulumi_azure_native as azure_native
    from pulumi_azure_native import network, resources

    az_provider = azure_native.Provider("connectivity", subscription_id=cfg.get("azureConnectivitySubscriptionId")
                                        or "00000000-0000-4000-8000-000000000002", location="japaneast")
    az_opts = pulumi.ResourceOptions(provider=az_provider)
    rg = resources.ResourceGroup("vwan-rg", resource_group_name="rg-govcloud-vwan", location="japaneast", opts=az_opts)
    wan = network.VirtualWan("vwan", virtual_wan_name="vwan-govcloud", resource_group_name=rg.name,
                             location="japaneast", type="Standard",
                             # Branch to branch (an ExpressRoute site to the inter-cloud VPN) carries the
                             # declared cross-cloud site flows; who reaches whom stays decided by the
                             # custom route tables, which the verifier reads from the plan.
                             allow_branch_to_branch_traffic=True,
                             disable_vpn_encryption=False, opts=az_opts)
    from govcloud.templates.azure.hub import AzureHubSecurity

    vwan = compiled.get("vwan") or {"hubRouteTables": {f"rt-{z}": {"labels": [z], "routes": []} for z in zones}}
    express_route = [site for site in compiled.get("sites", []) if site.get("expressRouteCircuitPeeringId")]
    regions = compiled.get("regions", {})   # Azure tenant -> the region (hub) its VNet connects to
    hubs: dict[str, pulumi.Output] = {}
    for region, prefix in HUB_PREFIXES.items():
        hub_name = f"vhub-govcloud-{region}"
        hub = network.VirtualHub(f"vhub-{region}", virtual_hub_name=hub_name, resource_group_name=rg.name,
                                 location=region, address_prefix=prefix, virtual_wan={"id": wan.id},
                                 sku="Standard", opts=az_opts)
        hub_id = hub.id
        # region bound now: a late-bound closure made every hub's routes point at the last hub's firewall
        firewall_id = hub_id.apply(lambda h, r=region: f"{h.rsplit('/virtualHubs/', 1)[0]}/azureFirewalls/afw-{r}")
        tables = {}
        for table_name, table in sorted(vwan["hubRouteTables"].items()):
            # A static route's next hop must be a connection of this hub: routes to a tenant's
            # connection exist only in the hub its VNet connects to.
            routes = [_hub_route(r, hub_id, firewall_id, cfg) for r in table.get("routes", [])
                      if regions.get(r["nextHop"], region) == region]
            rt = network.HubRouteTable(f"vhub-{region}-{table_name}", route_table_name=table_name,
                                       resource_group_name=rg.name, virtual_hub_name=hub.name,
                                       labels=table.get("labels", []), routes=[r for r in routes if r], opts=az_opts)
            tables[table_name] = rt.id
        AzureHubSecurity(region, resource_group=rg.name, location=region, hub_id=hub_id, hub_name=hub.name,
                         firewall=compiled.get("firewall", {}),
                         express_route_sites=express_route if region == "japaneast" else [],
                         route_tables=tables, site_routing=vwan.get("connections", {}), opts=az_opts)
        hubs[region] = pulumi.Output.all(hub.id, rg.name, tables).apply(
            lambda v, n=hub_name: {"id": v[0], "name": n, "resourceGroup": v[1], "routeTables": v[2]})
    pulumi.export("coreNetworkId", core.id)
    pulumi.export("coreNetworkArn", core.arn)
    pulumi.export("azureHubs", hubs)

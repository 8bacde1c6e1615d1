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


def resolve_attachments(policy: dict, org: str, configured: dict[str, str]) -> pulumi.Output[str]:
    """The policy document with every `attachment:<name>` replaced by the attachment's id."""
    from govcloud.stacks.program import TENANT_PREFIX

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
            ids[name] = pulumi.StackReference(f"{org}/govcloud/{TENANT_PREFIX}{name}").get_output("attachmentId")
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


def network_program(compiled_policy: dict | None = None) -> None:
    cfg = pulumi.Config("govcloud")
    zones = list(load_catalogue().zones)
    provider = aws.Provider("network", region="ap-northeast-1", default_tags=aws.ProviderDefaultTagsArgs(tags={"managed-by": "govcloud"}))
    opts = pulumi.ResourceOptions(provider=provider)
    global_network = aws.networkmanager.GlobalNetwork("global-network", description="govcloud SDN WAN", opts=opts)
    core = aws.networkmanager.CoreNetwork("core-network", global_network_id=global_network.id,
                                          description="govcloud core network", create_base_policy=True,
                                          base_policy_regions=EDGE_LOCATIONS, opts=opts)
    if compiled_policy is not None:
        document = resolve_attachments(compiled_policy, cfg.get("org") or "organization",
                                       cfg.get_object("attachmentIds") or {})
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
                             location="japaneast", type="Standard", allow_branch_to_branch_traffic=False,
                             disable_vpn_encryption=False, opts=az_opts)
    hubs: dict[str, pulumi.Output] = {}
    for region, prefix in HUB_PREFIXES.items():
        hub_name = f"vhub-govcloud-{region}"
        hub = network.VirtualHub(f"vhub-{region}", virtual_hub_name=hub_name, resource_group_name=rg.name,
                                 location=region, address_prefix=prefix, virtual_wan={"id": wan.id},
                                 sku="Standard", opts=az_opts)
        tables = {}
        for zone in zones:
            table = network.HubRouteTable(f"vhub-{region}-rt-{zone}", route_table_name=f"rt-{zone}",
                                          resource_group_name=rg.name, virtual_hub_name=hub.name,
                                          labels=[zone], routes=[], opts=az_opts)
            tables[zone] = table.id
        hubs[region] = pulumi.Output.all(hub.id, rg.name, tables).apply(
            lambda v, n=hub_name: {"id": v[0], "name": n, "resourceGroup": v[1], "routeTables": v[2]})
    pulumi.export("coreNetworkId", core.id)
    pulumi.export("coreNetworkArn", core.arn)
    pulumi.export("azureHubs", hubs)

"""Azure tenant network: a VNet whose subnets all carry a default-deny NSG, VNet flow logs, and
the connection to the Virtual WAN hub with the route table of its zone.

Azure routing intent cannot be combined with custom hub route tables, so zone isolation on
Azure is custom route tables (associated and propagated by zone label) plus the NSGs here."""

from __future__ import annotations

import ipaddress

import pulumi
from pulumi_azure_native import network, resources

from govcloud.templates.base import FlowRule, TemplateArgs

DENY_ALL_PRIORITY = 4096


def subnet_plan(cidr: str) -> dict[str, str]:
    net = ipaddress.IPv4Network(cidr)
    first, second = net.subnets(prefixlen_diff=1)
    endpoints, _spare = second.subnets(prefixlen_diff=1)
    return {"workload": str(first), "endpoints": str(endpoints)}


def nsg_rules(vnet_cidr: str, ingress: list[FlowRule]) -> list[dict]:
    rules = [{
        "name": "allow-vnet-to-private-endpoints", "priority": 200, "direction": "Inbound", "access": "Allow",
        "protocol": "Tcp", "source_address_prefix": vnet_cidr, "source_port_range": "*",
        "destination_address_prefix": subnet_plan(vnet_cidr)["endpoints"], "destination_port_range": "443",
    }]
    for i, rule in enumerate(ingress):
        rules.append({
            "name": f"flow-{i}", "priority": 300 + i, "direction": "Inbound", "access": "Allow",
            "protocol": "Tcp" if rule.protocol == "tcp" else "Udp", "source_address_prefix": rule.cidr,
            "source_port_range": "*", "destination_address_prefix": vnet_cidr,
            "destination_port_range": str(rule.port), "description": rule.description[:140],
        })
    # Azure's default rules allow VNet-to-VNet traffic (AllowVnetInBound, 65000), which over a
    # Virtual WAN hub means every connected VNet: deny explicitly before the defaults apply.
    rules.append({
        "name": "deny-all-inbound", "priority": DENY_ALL_PRIORITY, "direction": "Inbound", "access": "Deny",
        "protocol": "*", "source_address_prefix": "*", "source_port_range": "*",
        "destination_address_prefix": "*", "destination_port_range": "*",
    })
    rules.append({
        "name": "deny-internet-outbound", "priority": DENY_ALL_PRIORITY, "direction": "Outbound", "access": "Deny",
        "protocol": "*", "source_address_prefix": "*", "source_port_range": "*",
        "destination_address_prefix": "Internet", "destination_port_range": "*",
    })
    return rules


class AzureTenantNetwork(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: TemplateArgs, *, connectivity: pulumi.ProviderResource,
                 ingress: list[FlowRule] = (), hub_connection: dict | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        """``connectivity`` is the provider of the subscription that owns the Virtual WAN hub:
        a hub connection is a child of the hub, not of the tenant's VNet."""
        super().__init__("govcloud:azure:TenantNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tenant, tags = args.tenant, args.tags
        location, cidr, zone = tenant.spec.region, tenant.spec.network.cidr, tenant.spec.zone

        rg = resources.ResourceGroup(f"{name}-rg", resource_group_name=f"rg-{tenant.name}-network",
                                     location=location, tags=tags, opts=child)
        nsg = network.NetworkSecurityGroup(f"{name}-nsg", network_security_group_name=f"nsg-{tenant.name}",
                                           resource_group_name=rg.name, location=location,
                                           security_rules=nsg_rules(cidr, list(ingress)), tags=tags, opts=child)
        plan = subnet_plan(cidr)
        vnet = network.VirtualNetwork(
            f"{name}-vnet", virtual_network_name=f"vnet-{tenant.name}", resource_group_name=rg.name,
            location=location, address_space={"address_prefixes": [cidr]},
            subnets=[{"name": tier, "address_prefix": prefix, "network_security_group": {"id": nsg.id},
                      "private_endpoint_network_policies": "Enabled", "default_outbound_access": False}
                     for tier, prefix in plan.items()],
            tags={**tags, "segment": zone}, opts=child)
        network.FlowLog(
            f"{name}-flow-log", flow_log_name=f"fl-{tenant.name}", network_watcher_name=f"NetworkWatcher_{location}",
            resource_group_name="NetworkWatcherRG", location=location, target_resource_id=vnet.id,
            storage_id=args.shared.azure_log_storage_id, enabled=True,
            retention_policy={"days": 365, "enabled": True}, format={"type": "JSON", "version": 2}, tags=tags, opts=child)
        hub = pulumi.Output.from_input(args.shared.azure_hub)
        # As compiled (and verified) by the network controller; without it, the zone's own table.
        conn = hub_connection or {"associatedRouteTable": f"rt-{zone}", "propagatedRouteTables": [f"rt-{zone}"]}
        associated = hub.apply(lambda h: h["routeTables"][conn["associatedRouteTable"]])
        propagated = hub.apply(lambda h: [{"id": h["routeTables"][t]} for t in conn["propagatedRouteTables"]])
        network.HubVirtualNetworkConnection(
            f"{name}-hub-connection", connection_name=f"conn-{tenant.name}",
            resource_group_name=hub.apply(lambda h: h["resourceGroup"]), virtual_hub_name=hub.apply(lambda h: h["name"]),
            remote_virtual_network={"id": vnet.id}, enable_internet_security=args.closed_zone,
            allow_hub_to_remote_vnet_transit=True, allow_remote_vnet_to_use_hub_vnet_gateways=False,
            # Exactly the propagation the network controller compiled and the verifier proved: the
            # compiled tables by id in this hub, and by their own labels (one per table) in every
            # hub. The zone label used before ([zone]) propagated mynumber VNets into rt-mynumber,
            # which the compiled configuration deliberately keeps them out of (isolation).
            routing_configuration={
                "associated_route_table": {"id": associated},
                "propagated_route_tables": {"ids": propagated, "labels": list(conn.get("propagatedLabels", []))},
            }, opts=pulumi.ResourceOptions(parent=self, provider=connectivity))
        self.vnet_id = vnet.id
        self.register_outputs({"vnetId": vnet.id, "nsgId": nsg.id})

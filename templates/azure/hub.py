"""Security and site connections of the Virtual WAN hubs: Azure Firewall (the inspection
function on the Azure side) with the compiled exception rules, and ExpressRoute connections of
municipal sites associated with their zone's branch route table."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network


class AzureHubSecurity(pulumi.ComponentResource):
    def __init__(self, name: str, *, resource_group: pulumi.Input[str], location: str, hub_id: pulumi.Input[str],
                 hub_name: pulumi.Input[str], firewall: dict, express_route_sites: list[dict],
                 route_tables: dict[str, pulumi.Input[str]], site_routing: dict[str, dict] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        """``site_routing``: the compiled Virtual WAN connections (attachment name → associated and
        propagated route tables). Each ExpressRoute connection deploys exactly that routing, by
        route table id: a propagation label would also reach every table carrying the label in
        every hub, which the verified configuration does not contain."""
        super().__init__("govcloud:azure:HubSecurity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        policy = network.FirewallPolicy(f"{name}-policy", firewall_policy_name=f"fwp-{name}", resource_group_name=resource_group,
                                        location=location, sku={"tier": "Premium"}, threat_intel_mode="Deny", opts=child)
        # Typed arguments: rule collections and rules are discriminated unions, and plain dicts with
        # snake_case keys reach the API untranslated (`rule_collection_type`), which Azure rejects.
        # Verifying the plans (network/plans.py) is what showed it.
        from pulumi_azure_native.network._inputs import (FirewallPolicyFilterRuleCollectionActionArgs,
                                                         FirewallPolicyFilterRuleCollectionArgs, NetworkRuleArgs)

        rules = [NetworkRuleArgs(rule_type="NetworkRule", name=rule["id"], ip_protocols=[rule["protocol"].upper()],
                                 source_addresses=rule["sources"], destination_addresses=rule["destinations"],
                                 destination_ports=[str(rule["port"])]) for rule in firewall.get("rules", [])]
        network.FirewallPolicyRuleCollectionGroup(
            f"{name}-exceptions", rule_collection_group_name="govcloud-exceptions", firewall_policy_name=policy.name,
            resource_group_name=resource_group, priority=100,
            rule_collections=[FirewallPolicyFilterRuleCollectionArgs(
                rule_collection_type="FirewallPolicyFilterRuleCollection", name="exceptions", priority=100,
                action=FirewallPolicyFilterRuleCollectionActionArgs(type="Allow"), rules=rules)] if rules else [],
            opts=child)
        network.AzureFirewall(f"{name}-firewall", azure_firewall_name=f"afw-{name}", resource_group_name=resource_group,
                              location=location, sku={"name": "AZFW_Hub", "tier": "Premium"},
                              virtual_hub={"id": hub_id}, firewall_policy={"id": policy.id},
                              hub_ip_addresses={"public_ips": {"count": 1}}, opts=child)
        if express_route_sites:
            gateway = network.ExpressRouteGateway(
                f"{name}-er-gateway", express_route_gateway_name=f"ergw-{name}", resource_group_name=resource_group,
                location=location, virtual_hub={"id": hub_id}, auto_scale_configuration={"bounds": {"min": 1}}, opts=child)
            for site in express_route_sites:
                key = site["attachment"].removeprefix("site:").replace(":", "-")
                routing = (site_routing or {}).get(site["attachment"]) or {
                    "associatedRouteTable": f"rt-{site['zone']}-branches",
                    "propagatedRouteTables": [f"rt-{site['zone']}", "rt-inspection"]}
                network.ExpressRouteConnection(
                    f"{key}-er-connection", connection_name=f"er-{key}", express_route_gateway_name=gateway.name,
                    resource_group_name=resource_group, name=f"er-{key}",
                    express_route_circuit_peering={"id": site["expressRouteCircuitPeeringId"]},
                    routing_configuration={
                        "associated_route_table": {"id": route_tables[routing["associatedRouteTable"]]},
                        "propagated_route_tables": {"ids": [{"id": route_tables[t]} for t in routing["propagatedRouteTables"]],
                                                    "labels": list(routing.get("propagatedLabels", []))}},
                    opts=child)
        self.register_outputs({})

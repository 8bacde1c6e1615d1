"""Plan documents → the network model: verify what a deployment creates.

Reads the `network` stack's plan (the Cloud WAN policy document as deployed, site and inspection
attachments with their tags, AWS Network Firewall policy and rule groups, Virtual WAN hub route
tables with labels and static routes, ExpressRoute connections' routing, Azure Firewall policies)
and every tenant stack's plan (VPC, VPC attachment and its tags, route tables and routes,
security groups and their rules; VNet, NSG rules, the hub connection's associated and
propagated route tables *and labels*). Out comes the same set of documents the compiler writes,
so one verifier judges both.

What the plans cannot hold comes from the workspace's inventory (the compiled
attachments.json): which municipalities an attachment serves, a site's address space (advertised
by the site over BGP), the declared flows, and the inter-cloud link (provisioned outside these
stacks, its attachment ids configured in Pulumi.network.yaml).

Resource types in the network families (aws:ec2/, aws:vpc/, aws:networkmanager/,
aws:networkfirewall/, azure-native:network:) are either read, listed in NO_REACHABILITY_EFFECT, or
refused by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from govcloud.network.errors import NetworkInputError, Unsupported, only
from govcloud.network.fabric import parse_json, read_json_text

NETWORK_FAMILIES = ("aws:ec2/", "aws:vpc/", "aws:networkmanager/", "aws:networkfirewall/", "azure-native:network:")
# Resources in the network families that do not change who reaches whom (logs, gateways whose
# routing is read from the route tables that point at them, the hub and WAN containers).
NO_REACHABILITY_EFFECT = {
    "aws:ec2/flowLog:FlowLog", "aws:ec2/subnet:Subnet", "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/customerGateway:CustomerGateway", "aws:ec2/vpnConnection:VpnConnection",
    "aws:networkmanager/globalNetwork:GlobalNetwork", "aws:networkmanager/coreNetwork:CoreNetwork",
    "aws:networkfirewall/firewall:Firewall", "aws:networkfirewall/loggingConfiguration:LoggingConfiguration",
    "aws:ec2/vpc:Vpc", "aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway",
    "azure-native:network:VirtualWan", "azure-native:network:VirtualHub", "azure-native:network:FlowLog",
    "azure-native:network:ExpressRouteGateway", "azure-native:network:AzureFirewall",
    "azure-native:network:VirtualNetwork", "azure-native:network:FirewallPolicy",
}
READ = {
    "aws:networkmanager/coreNetworkPolicyAttachment:CoreNetworkPolicyAttachment",
    "aws:networkmanager/vpcAttachment:VpcAttachment", "aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment",
    "aws:networkmanager/siteToSiteVpnAttachment:SiteToSiteVpnAttachment",
    "aws:networkfirewall/ruleGroup:RuleGroup", "aws:networkfirewall/firewallPolicy:FirewallPolicy",
    "aws:ec2/route:Route", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "azure-native:network:HubRouteTable", "azure-native:network:ExpressRouteConnection",
    "azure-native:network:FirewallPolicyRuleCollectionGroup", "azure-native:network:NetworkSecurityGroup",
    "azure-native:network:HubVirtualNetworkConnection",
}
ATTACHMENT_TYPE = {"VpcAttachment": "vpc", "DxGatewayAttachment": "direct-connect-gateway",
                   "SiteToSiteVpnAttachment": "vpn"}


def _resources(plan: dict, source: str) -> list[dict]:
    try:
        resources = plan["deployment"]["resources"]
    except (KeyError, TypeError):
        raise NetworkInputError(source, "$.deployment.resources", "not a plan document") from None
    if not isinstance(resources, list):
        raise NetworkInputError(source, "$.deployment.resources", "must be a list")
    for i, r in enumerate(resources):
        if not isinstance(r, dict) or not isinstance(r.get("type"), str) or not isinstance(r.get("inputs", {}), dict):
            raise NetworkInputError(source, f"$.deployment.resources[{i}]", "not a resource (type and inputs)")
        typ = r["type"]
        if typ.startswith(NETWORK_FAMILIES) and typ not in READ and typ not in NO_REACHABILITY_EFFECT:
            raise Unsupported(source, f"resource type {typ}", f"$.deployment.resources[{i}]")
        # Inline rules and routes would bypass the separate resources read here: refuse them.
        for inline, types in (("routes", ("aws:ec2/routeTable:RouteTable",)),
                              ("ingress", ("aws:ec2/securityGroup:SecurityGroup",)),
                              ("egress", ("aws:ec2/securityGroup:SecurityGroup",))):
            if typ in types and r["inputs"].get(inline):
                raise Unsupported(source, f"inline {inline} of {typ}", f"$.deployment.resources[{i}].inputs.{inline}")
    return resources


def _of(resources: list[dict], suffix: str) -> list[tuple[int, dict]]:
    return [(i, r) for i, r in enumerate(resources) if r["type"].endswith(suffix)]


def _tail(resource_id: str, kind: str) -> str | None:
    marker = f"/{kind}/"
    return resource_id.rsplit(marker, 1)[1].split("/")[0] if isinstance(resource_id, str) and marker in resource_id else None


def documents_from_plans(plans: dict[str, dict], inventory: dict[str, object],
                         configured_ids: dict[str, str] | None = None, *,
                         stack_outputs: Callable[[str], dict] | None = None) -> dict[str, object]:
    """``plans``: stack name → plan document (``network`` and every ``tenant-<name>``);
    ``inventory``: the compiled documents (attachments, declared flows, inter-cloud links);
    ``configured_ids``: the network stack's `govcloud:attachmentIds` (links made outside it);
    ``stack_outputs``: for offline plans, the outputs a stack reference read (stack name →
    outputs), which is where the network stack's offline plan got each tenant's attachment id."""
    if "network" not in plans:
        raise NetworkInputError("plans", "", "no plan of the network stack: run govcloud plan --all")
    attachments = {a["name"]: dict(a) for a in inventory["attachments.json"]}  # type: ignore[index]
    attachments.setdefault("inspection-aws", {"name": "inspection-aws", "kind": "inspection", "zone": "inspection",
                                              "cloud": "aws", "cidrs": [], "municipalities": [], "tags": {}})
    tenants = {n for n, a in attachments.items() if a["kind"] == "tenant"}
    missing = sorted(f"tenant-{t}" for t in tenants if f"tenant-{t}" not in plans)
    if missing:
        raise NetworkInputError("plans", "", f"no plan for {', '.join(missing)}: the proof needs every tenant stack")
    extra = sorted(s for s in plans if s.startswith("tenant-") and s.removeprefix("tenant-") not in tenants)
    if extra:
        raise NetworkInputError("plans", "", f"plans for tenants the workspace does not hold: {', '.join(extra)}")

    docs: dict[str, object] = {k: inventory[k] for k in ("intercloud.json", "declared-flows.json")}
    net_source = "plan network"
    net = _resources(plans["network"], net_source)
    ids: dict[str, str] = {}          # attachment id -> name
    links = {l[c] for l in (inventory.get("intercloud.json") or {"links": []})["links"] for c in ("aws", "azure")}
    for name, configured in (configured_ids or {}).items():
        if name not in attachments and name not in links:
            raise NetworkInputError("Pulumi.network.yaml", f"govcloud:attachmentIds.{name}",
                                    f"dangling reference: no attachment {name!r} in the workspace")
        ids[str(configured)] = name
    offline = plans["network"].get("govcloud", {}).get("mode") == "offline-mock"

    # --- AWS: attachments and their tags as deployed -------------------------------------------
    # A site attaches through the attachments the plan creates (or one configured as made outside
    # the stacks): the inventory's tags never stand in for a missing attachment.
    for name, a in attachments.items():
        if a["kind"] == "site" and a["cloud"] == "aws" and name not in (configured_ids or {}):
            a["tags"] = {}
    seen: dict[str, int] = {}
    aliases: dict[str, list[str]] = {}
    for i, r in (_of(net, "DxGatewayAttachment") + _of(net, "SiteToSiteVpnAttachment") + _of(net, ":VpcAttachment")):
        tags = r["inputs"].get("tags") or {}
        name = tags.get("site") or ("inspection-aws" if tags.get("network-function") else None)
        if name is None or name not in attachments:
            raise NetworkInputError(net_source, f"$.deployment.resources[{i}].inputs.tags",
                                    f"attachment {r.get('urn', '')} names no attachment of the workspace (tag site)")
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            # Every attachment of a site is a way in and out of it (a backup Direct Connect, a second
            # VPN): each is a place of its own with the site's prefixes and declared flows, never
            # one overwriting the other.
            alias = f"{name}#{seen[name]}"
            attachments[alias] = {**attachments[name], "name": alias}
            aliases.setdefault(name, []).append(alias)
            name = alias
        attachments[name].update(tags={k: v for k, v in tags.items()}, resourceId=r.get("id"),
                                 attachmentType=ATTACHMENT_TYPE[r["type"].rsplit(":", 1)[1]])
        if r.get("id"):
            ids[r["id"]] = name
    if aliases:
        flows = list(docs["declared-flows.json"])  # type: ignore[arg-type]
        docs["declared-flows.json"] = flows + [{**f, end: alias} for f in flows for end in ("source", "destination")
                                               for alias in aliases.get(f[end], [])]
    # --- the Cloud WAN policy (read first: tenants' cross-VPC group references depend on it) ----
    policies = _of(net, "CoreNetworkPolicyAttachment")
    if len(policies) != 1:
        raise NetworkInputError(net_source, "$.deployment.resources", f"expected one core network policy, found {len(policies)}")
    i, r = policies[0]
    where = f"$.deployment.resources[{i}].inputs.policyDocument"
    document = r["inputs"].get("policyDocument")
    if not isinstance(document, str):
        raise NetworkInputError(net_source, where, "not a policy document: expected the policy as JSON text")
    # The bounded loader: a duplicate key in the deployed policy is refused, as in any other input.
    policy = parse_json(document, f"{net_source} {where}")
    filters: dict[str, dict] = {}
    connections: dict[str, dict] = {}
    read = {t: _resources(plans[f"tenant-{t}"], f"plan tenant-{t}") for t in sorted(tenants)}
    resolve = _group_resolver(read, attachments, policy)
    for t in sorted(tenants):
        stack = f"tenant-{t}"
        source = f"plan {stack}"
        res = read[t]
        a = attachments[t]
        if a["cloud"] == "aws":
            filters[t] = _aws_tenant(t, res, source, a, ids, lambda gid, src, path, urn, t=t: resolve(t, gid, src, path, urn))
            if offline:
                if stack_outputs is None:
                    raise NetworkInputError(net_source, "$.govcloud.mode", "an offline plan: the stack outputs it "
                                            "read are needed to name its attachments")
                ids[stack_outputs(stack)["attachmentId"]] = t
        else:
            filters[t], connections[t] = _azure_tenant(t, res, source, a)
    docs["tenants.json"] = filters

    # --- AWS Cloud WAN policy as deployed ---------------------------------------------------------
    for action in policy.get("segment-actions", []) if isinstance(policy, dict) else []:
        if isinstance(action, dict) and isinstance(action.get("destinations"), list):
            action["destinations"] = [ids.get(d, d) if isinstance(d, str) else d for d in action["destinations"]]
    for a in attachments.values():
        a.pop("resourceId", None)   # names are resolved above; the model speaks names
    docs["aws-cloudwan/core-network-policy.json"] = policy
    docs["attachments.json"] = list(attachments.values())

    # --- firewalls ------------------------------------------------------------------------------------
    aws_function = _aws_firewall(net, net_source)
    functions = {"inspection-aws": aws_function, **_azure_firewalls(net, net_source)}
    for name in functions:
        if name.startswith("inspection-azure:"):
            attachments.setdefault(name, {"name": name, "kind": "inspection", "zone": "inspection", "cloud": "azure",
                                          "cidrs": [], "municipalities": [], "tags": {}})
    docs["firewall.json"] = {"defaultAction": "drop", "rules": aws_function["rules"], "functions": functions}
    docs["attachments.json"] = list(attachments.values())

    # --- Azure Virtual WAN ------------------------------------------------------------------------
    docs["azure-vwan/virtual-wan.json"] = _vwan(net, net_source, connections, attachments, inventory,
                                                {str(v): k for k, v in (configured_ids or {}).items()})
    return docs


def _aws_tenant(t: str, res: list[dict], source: str, attachment: dict, ids: dict,
                groups_by_id: Callable[[str, str, str, str], str] | None = None) -> dict:
    entry: dict = {"cloud": "aws", "zone": attachment["zone"], "securityGroups": [], "egress": [], "routes": []}
    vpc_attachments = _of(res, ":VpcAttachment")
    if len(vpc_attachments) != 1:
        raise NetworkInputError(source, "$.deployment.resources", f"expected one VPC attachment, found {len(vpc_attachments)}")
    i, r = vpc_attachments[0]
    attachment["tags"] = dict(r["inputs"].get("tags") or {})
    attachment["attachmentType"] = "vpc"
    if r.get("id"):
        ids[r["id"]] = t
    vpcs = _of(res, ":Vpc")
    for i, v in vpcs:
        cidrs = [c for c in (v["inputs"].get("cidrBlock"), v["inputs"].get("ipv6CidrBlock")) if c]
        if cidrs and cidrs[0] not in attachment["cidrs"]:
            raise NetworkInputError(source, f"$.deployment.resources[{i}].inputs.cidrBlock",
                                    f"VPC {cidrs[0]} is not the tenant's allocated {', '.join(attachment['cidrs'])}")
        attachment["cidrs"] = sorted(set(attachment["cidrs"]) | set(cidrs))
    own = attachment["cidrs"][0]
    if groups_by_id is None:
        groups_by_id = lambda gid, source, path, urn: _own_group(gid, res, own, source, path, urn)  # noqa: E731
    groups: dict[str, list] = {}
    for i, r in _of(res, "SecurityGroupIngressRule") + _of(res, "SecurityGroupEgressRule"):
        inputs = r["inputs"]
        path = f"$.deployment.resources[{i}].inputs"
        only(inputs, {"cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId", "description", "fromPort",
                      "toPort", "ipProtocol", "securityGroupId", "tags", "region"}, source, path)
        if "prefixListId" in inputs:
            raise Unsupported(source, "prefixListId", f"{path}.prefixListId", "the prefix list's entries are not in the plan")
        if "referencedSecurityGroupId" in inputs:
            cidr = groups_by_id(str(inputs["referencedSecurityGroupId"]), source, f"{path}.referencedSecurityGroupId",
                                r.get("urn", ""))
        else:
            cidr = inputs.get("cidrIpv4") or inputs.get("cidrIpv6")
        if cidr is None:
            raise NetworkInputError(source, path, "a security group rule needs cidrIpv4, cidrIpv6 or a referenced group")
        proto = str(inputs.get("ipProtocol", "-1"))
        low, high = inputs.get("fromPort"), inputs.get("toPort")
        # "If the protocol is ICMP or ICMPv6, this is the ICMP type or -1 (all ICMP types)" (Amazon
        # EC2 API, IpPermission FromPort/ToPort): -1 is every type and code, never a port.
        icmp_all = proto in ("icmp", "icmpv6", "1", "58") and (low in (-1, -1.0) or high in (-1, -1.0))
        rule_port = "*" if proto == "-1" or low is None or icmp_all else (
            f"{int(low)}-{int(high)}" if high is not None and int(high) != int(low) else int(low))
        rule = {"cidr": cidr, "protocol": proto, "port": rule_port, "description": inputs.get("description", "")}
        if r["type"].endswith("IngressRule"):
            groups.setdefault(str(inputs.get("securityGroupId")), []).append(rule)
        else:
            entry["egress"].append(rule)
    for i, r in _of(res, "DefaultSecurityGroup"):
        for direction in ("ingress", "egress"):
            if r["inputs"].get(direction):
                raise Unsupported(source, f"default security group {direction} rules",
                                  f"$.deployment.resources[{i}].inputs.{direction}", "keep the default group closed")
    entry["securityGroups"] = [{"name": f"{t} {sg}", "ingress": rules} for sg, rules in sorted(groups.items())]
    for i, r in _of(res, ":Route"):
        path = f"$.deployment.resources[{i}].inputs"
        key, target = _route_target(r, source, path)
        if key == "transitGatewayId":
            # No plan deploys a transit gateway (the type is refused): a route to one leads to
            # nothing the proof can follow. README: "dangling next hop, exit 1".
            raise NetworkInputError(source, f"{path}.transitGatewayId", f"dangling reference: route {r.get('urn', '')} "
                                    f"targets transit gateway {target!r}, which no plan deploys")
        for dest in (r["inputs"].get("destinationCidrBlock"), r["inputs"].get("destinationIpv6CidrBlock")):
            if dest:
                entry["routes"].append({"destination": dest, "target": target})
    return entry


def _group_resolver(read: dict[str, list[dict]], attachments: dict, policy) -> Callable[..., str]:
    """Resolve a referenced security group to its members' addresses: a group of the tenant's
    own plan stands for its VPC; a group of another tenant's VPC only across a core network that
    allows it ("security-group-referencing-support — (Optional) Indicates whether security group
    referencing is enabled for the core network", Cloud WAN core network policy parameters; and
    the VPC attachment's ``securityGroupReferencingSupport`` option, "Enables you to reference a
    security group across VPCs attached"), and then stands for that VPC's range."""
    owners: dict[str, str] = {}
    for t, res in read.items():
        for r in res:
            if r["type"].endswith((":SecurityGroup", ":DefaultSecurityGroup")) and isinstance(r.get("id"), str):
                owners[r["id"]] = t
    config = policy.get("core-network-configuration", {}) if isinstance(policy, dict) else {}
    core_allows = isinstance(config, dict) and config.get("security-group-referencing-support") is True

    def attachment_allows(t: str) -> bool:
        opts = next((r["inputs"].get("options") or {} for r in read.get(t, []) if r["type"].endswith(":VpcAttachment")), {})
        return opts.get("securityGroupReferencingSupport", True) is not False

    def resolve(t: str, group_id: str, source: str, path: str, urn: str) -> str:
        owner = owners.get(group_id)
        if owner == t:
            return attachments[t]["cidrs"][0]
        if owner is None or attachments.get(owner, {}).get("cloud") != "aws":
            raise Unsupported(source, f"referencedSecurityGroupId {group_id}", path,
                              f"rule {urn} references a security group no plan holds: its members are not read")
        if not (core_allows and attachment_allows(t) and attachment_allows(owner)):
            raise NetworkInputError(source, path, f"rule {urn} references {owner}'s security group {group_id} across "
                                    "VPCs, which the core network does not allow (security-group-referencing-support)")
        return attachments[owner]["cidrs"][0]

    return resolve


def _own_group(group_id: str, res: list[dict], own: str, source: str, path: str, urn: str) -> str:
    """The addresses a referenced security group stands for. "When you specify a security group
    as the source or destination for a rule, the rule affects all instances that are associated
    with the security group" (Amazon VPC, Security group rules): its members are network
    interfaces in the VPC that holds the group, so their addresses lie in that VPC's range. A
    group of this tenant's plan stands for the tenant's own VPC. A group of another VPC can only
    be referenced across a Cloud WAN / transit gateway attachment with security group referencing
    enabled ("security-group-referencing-support", Cloud WAN core network policy; "Security group
    referencing", Amazon VPC Transit Gateways), and its members' addresses are not in this plan:
    refused by name, never read as the tenant's own range."""
    if any(r["type"].endswith((":SecurityGroup", ":DefaultSecurityGroup")) and r.get("id") == group_id for r in res):
        return own
    raise Unsupported(source, f"referencedSecurityGroupId {group_id}", path,
                      f"rule {urn} references a security group this tenant's plan does not hold (another VPC's "
                      "group: its members' addresses and the cross-VPC referencing setting are not read)")


def _azure_tenant(t: str, res: list[dict], source: str, attachment: dict) -> tuple[dict, dict]:
    entry: dict = {"cloud": "azure", "zone": attachment["zone"], "nsgRules": [], "routes": []}
    for i, v in _of(res, ":VirtualNetwork"):
        prefixes = (v["inputs"].get("addressSpace") or {}).get("addressPrefixes", [])
        for p in prefixes:
            if p not in attachment["cidrs"]:
                raise NetworkInputError(source, f"$.deployment.resources[{i}].inputs.addressSpace",
                                        f"VNet {p} is not the tenant's allocated {', '.join(attachment['cidrs'])}")
    nsgs = _of(res, "NetworkSecurityGroup")
    for i, r in nsgs:
        entry["nsgRules"] += list(r["inputs"].get("securityRules") or [])
    if not nsgs:
        raise NetworkInputError(source, "$.deployment.resources", "no network security group: the VNet would be open")
    open_subnets = _unprotected_subnets(res, source, {r.get("id") for _, r in nsgs})
    if open_subnets:   # the least protected subnet decides for the VNet (least safe)
        entry["nsgRules"] = open_subnets
    conns = _of(res, "HubVirtualNetworkConnection")
    if len(conns) != 1:
        raise NetworkInputError(source, "$.deployment.resources", f"expected one hub connection, found {len(conns)}")
    i, r = conns[0]
    return entry, _routing(r["inputs"], source, f"$.deployment.resources[{i}].inputs")


def _unprotected_subnets(res: list[dict], source: str, nsg_ids: set) -> list[dict]:
    """Subnet–NSG associations, read from the VNet's subnets. An NSG filters only the subnets (or
    interfaces) it is associated with; "If no network security group is associated ... all
    traffic is allowed" (Azure, "How network security groups filter network traffic"). A subnet
    without one admits everything: it becomes an allow-all rule, so the proof sees it. A subnet
    naming an NSG the plan does not hold, or a route table (user-defined routes, not modelled),
    is refused."""
    out: list[dict] = []
    for i, v in _of(res, ":VirtualNetwork"):
        for k, subnet in enumerate(v["inputs"].get("subnets") or []):
            sp = f"$.deployment.resources[{i}].inputs.subnets[{k}]"
            if subnet.get("routeTable"):
                raise Unsupported(source, "subnet routeTable (user-defined routes)", f"{sp}.routeTable")
            nsg = (subnet.get("networkSecurityGroup") or {}).get("id")
            if nsg is None:
                out += [] if out else [{"name": f"subnet {subnet.get('name', k)} has no NSG (all traffic allowed)", "priority": 100,
                         "access": "Allow", "direction": direction, "protocol": "*", "sourceAddressPrefix": "*",
                         "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "*"}
                        for direction in ("Inbound", "Outbound")]
            elif nsg not in nsg_ids:
                raise NetworkInputError(source, f"{sp}.networkSecurityGroup.id",
                                        f"dangling reference: subnet {subnet.get('name', k)} names NSG {nsg!r}, which "
                                        "its plan does not hold")
    return out


def _table_ref(table_id: str, source: str, path: str) -> str:
    hub, table = _tail(table_id, "virtualHubs"), _tail(table_id, "hubRouteTables")
    if not hub or not table:
        raise NetworkInputError(source, path, f"not a hub route table id: {table_id!r}")
    return f"{hub}/{table}"


def _routing(inputs: dict, source: str, path: str) -> dict:
    rc = inputs.get("routingConfiguration")
    if not isinstance(rc, dict):
        raise NetworkInputError(source, f"{path}.routingConfiguration", "missing: a connection without routing "
                                                                        "configuration lands in the default route table")
    only(rc, {"associatedRouteTable", "propagatedRouteTables", "vnetRoutes", "inboundRouteMap", "outboundRouteMap"},
         source, f"{path}.routingConfiguration")
    for key in ("vnetRoutes", "inboundRouteMap", "outboundRouteMap"):
        if rc.get(key):
            raise Unsupported(source, key, f"{path}.routingConfiguration.{key}")
    assoc = (rc.get("associatedRouteTable") or {}).get("id")
    prop = rc.get("propagatedRouteTables") or {}
    only(prop, {"ids", "labels"}, source, f"{path}.routingConfiguration.propagatedRouteTables")
    return {"associatedRouteTable": _table_ref(assoc, source, f"{path}.routingConfiguration.associatedRouteTable"),
            "propagatedRouteTables": [_table_ref(x.get("id"), source, f"{path}.routingConfiguration.propagatedRouteTables.ids")
                                      for x in prop.get("ids") or []],
            "propagatedLabels": list(prop.get("labels") or [])}


def _urn_index(resources: list[dict]) -> dict[str, tuple[int, dict]]:
    return {r["urn"]: (i, r) for i, r in enumerate(resources) if isinstance(r.get("urn"), str)}


def _depends(r: dict, field: str) -> list[str]:
    """The resources an input came from, as the plan records them (Pulumi's
    ``propertyDependencies``: input name -> the URNs whose outputs it was built from)."""
    deps = (r.get("propertyDependencies") or {}).get(field) or []
    return [d for d in deps if isinstance(d, str)]


def _bound_policy(net: list[dict], source: str) -> tuple[int, dict, int, dict]:
    """The Network Firewall and the firewall policy it runs. "FirewallPolicyArn: The Amazon
    Resource Name (ARN) of the firewall policy" (AWS Network Firewall API, Firewall): the policy
    is the one that ARN names, never "the only policy in the plan". The plan ties the two by the
    input's recorded dependency (the ARN is the policy resource's output) or, for an ARN given as
    text, by its resource name (``…:firewall-policy/<name>``, the ARN format of AWS Network
    Firewall). A policy no plan holds is refused: what it passes is unknown."""
    firewalls = _of(net, "networkfirewall/firewall:Firewall")
    if len(firewalls) != 1:
        raise NetworkInputError(source, "$.deployment.resources",
                                f"expected one Network Firewall in the inspection VPC, found {len(firewalls)}")
    f, fw = firewalls[0]
    policies = {r.get("urn"): (i, r) for i, r in _of(net, "firewallPolicy:FirewallPolicy")}
    arn = fw["inputs"].get("firewallPolicyArn")
    where = f"$.deployment.resources[{f}].inputs.firewallPolicyArn"
    bound = [policies[u] for u in _depends(fw, "firewallPolicyArn") if u in policies]
    if not bound and isinstance(arn, str) and ":firewall-policy/" in arn:
        name = arn.rsplit(":firewall-policy/", 1)[1]
        bound = [(i, p) for i, p in policies.values() if p["inputs"].get("name") == name]
    if len(bound) != 1:
        raise NetworkInputError(source, where, f"firewall {fw.get('urn', '')} runs policy {arn!r}, which no plan "
                                               "holds: what it passes cannot be read")
    return f, fw, *bound[0]


def _aws_firewall(net: list[dict], source: str) -> dict:
    """AWS Network Firewall: the policy the firewall runs, its stateful rule groups by priority,
    each group's rules in order (STRICT_ORDER), then the stateful default actions; and the
    inspection VPC's own routing, which decides whether traffic crosses the firewall at all."""
    f, fw, i, p = _bound_policy(net, source)
    fp = p["inputs"].get("firewallPolicy") or {}
    path = f"$.deployment.resources[{i}].inputs.firewallPolicy"
    only(fp, {"statefulDefaultActions", "statefulEngineOptions", "statefulRuleGroupReferences",
              "statelessDefaultActions", "statelessFragmentDefaultActions", "statelessRuleGroupReferences"}, source, path)
    if (fp.get("statefulEngineOptions") or {}).get("ruleOrder") != "STRICT_ORDER":
        raise Unsupported(source, "ruleOrder (other than STRICT_ORDER)", f"{path}.statefulEngineOptions.ruleOrder")
    if fp.get("statelessRuleGroupReferences"):
        raise Unsupported(source, "statelessRuleGroupReferences", f"{path}.statelessRuleGroupReferences")
    for key in ("statelessDefaultActions", "statelessFragmentDefaultActions"):
        if fp.get(key, ["aws:forward_to_sfe"]) != ["aws:forward_to_sfe"]:
            raise Unsupported(source, f"{key} {fp[key]}", f"{path}.{key}")
    defaults = fp.get("statefulDefaultActions") or []
    if "aws:drop_strict" in defaults or "aws:drop_established" in defaults:
        default = "drop"
    elif not defaults or set(defaults) <= {"aws:alert_strict", "aws:alert_established"}:
        default = "pass"   # nothing drops what no rule matches
    else:
        raise Unsupported(source, f"statefulDefaultActions {defaults}", f"{path}.statefulDefaultActions")
    groups = {r["inputs"].get("name"): (j, r) for j, r in _of(net, "ruleGroup:RuleGroup")}
    rules = []
    for ref in sorted(fp.get("statefulRuleGroupReferences") or [], key=lambda x: x.get("priority", 0)):
        name = str(ref.get("resourceArn", "")).rsplit("/", 1)[-1]
        if name not in groups:
            raise NetworkInputError(source, f"{path}.statefulRuleGroupReferences", f"dangling reference: no rule group {name!r}")
        j, g = groups[name]
        gp = f"$.deployment.resources[{j}].inputs.ruleGroup"
        rg = g["inputs"].get("ruleGroup") or {}
        only(rg, {"rulesSource", "statefulRuleOptions", "ruleVariables"}, source, gp)
        if rg.get("ruleVariables"):
            raise Unsupported(source, "ruleVariables", f"{gp}.ruleVariables")
        src = only(rg.get("rulesSource") or {}, {"statefulRules"}, source, f"{gp}.rulesSource")
        for k, rule in enumerate(src.get("statefulRules") or []):
            rp = f"{gp}.rulesSource.statefulRules[{k}]"
            only(rule, {"action", "header", "ruleOptions"}, source, rp)
            h = only(rule.get("header") or {}, {"protocol", "source", "sourcePort", "destination", "destinationPort",
                                                "direction"}, source, f"{rp}.header")
            if h.get("direction", "FORWARD") != "FORWARD" or h.get("sourcePort", "ANY") != "ANY":
                raise Unsupported(source, "direction ANY / sourcePort", f"{rp}.header")
            proto = {"IP": "*"}.get(h.get("protocol"), str(h.get("protocol", "")).lower())
            sid = next((o.get("keyword", "").removeprefix("sid:") for o in rule.get("ruleOptions") or []
                        if str(o.get("keyword", "")).startswith("sid:")), str(k))
            msg = next((o.get("keyword", "")[5:-1] for o in rule.get("ruleOptions") or []
                        if str(o.get("keyword", "")).startswith("msg:")), "")
            rules.append({"id": msg.removeprefix("govcloud exception ") or f"sid {sid}", "action": str(rule.get("action", "")).lower(),
                          "protocol": proto, "port": str(h.get("destinationPort", "ANY")).replace("ANY", "*"),
                          "sources": [str(h.get("source", "ANY")).replace("ANY", "*")],
                          "destinations": [str(h.get("destination", "ANY")).replace("ANY", "*")]})
    name = f"AWS Network Firewall {fw['inputs'].get('name', '')} (policy {p['inputs'].get('name', '')})"
    return {"defaultAction": default, "rules": rules, "name": name, **_inspection_vpc(net, source, fw)}


ROUTE_TARGET_KEYS = ("gatewayId", "natGatewayId", "coreNetworkArn", "transitGatewayId", "vpcPeeringConnectionId",
                     "networkInterfaceId", "vpcEndpointId", "egressOnlyGatewayId", "localGatewayId", "carrierGatewayId")


def _route_target(r: dict, source: str, path: str) -> tuple[str, str]:
    """(input key, target) of an aws:ec2/route:Route: exactly one target ("You must specify one
    of the following targets", Amazon EC2 CreateRoute)."""
    inputs = r["inputs"]
    only(inputs, {"destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId", "routeTableId",
                  *ROUTE_TARGET_KEYS}, source, path)
    if "destinationPrefixListId" in inputs:
        raise Unsupported(source, "destinationPrefixListId", f"{path}.destinationPrefixListId")
    keys = [k for k in ROUTE_TARGET_KEYS if k in inputs]
    if len(keys) != 1:
        raise NetworkInputError(source, path, f"a route needs exactly one target, has {keys}")
    return keys[0], "core-network" if keys[0] == "coreNetworkArn" else str(inputs[keys[0]])


def _inspection_vpc(net: list[dict], source: str, fw: dict) -> dict:
    """The inspection VPC's routing, read from the plan (Amazon VPC route tables; AWS Network
    Firewall "Simple single zone architecture with an internet gateway" and the Cloud WAN
    inspection examples: the subnets the core network attaches to must send traffic to the
    firewall endpoint, "the firewall endpoint forwards the traffic ... based on the route table of
    the firewall subnet"). Traffic from the WAN enters through the attachment's subnets
    (VpcAttachment subnetArns) and follows their route tables (RouteTableAssociation); what the
    firewall passes follows the firewall subnets' route tables (the firewall's subnetMappings).

    - a route of an attachment subnet that does not lead to this firewall's endpoint (the route's
      vpcEndpointId recorded as the firewall's output) lets traffic by without the firewall:
      ``bypass`` names it, and the function then passes everything (least safe);
    - the firewall subnets' routes say where passed traffic goes: back to the core network, or
      to an internet gateway / NAT gateway (``exits``: the internet).
    A subnet without a route table association would use the VPC's main route table, which is
    not in the plan: refused, never assumed."""
    from govcloud.network.readers import route_target

    fw_urn = fw.get("urn", "")
    attachments = [(i, r) for i, r in _of(net, ":VpcAttachment") if (r["inputs"].get("tags") or {}).get("network-function")]
    if len(attachments) != 1:
        raise NetworkInputError(source, "$.deployment.resources", "expected one inspection VPC attachment "
                                f"(tag network-function), found {len(attachments)}")
    a, attachment = attachments[0]
    entry_subnets = [str(x).rsplit("/", 1)[-1] for x in attachment["inputs"].get("subnetArns") or []]
    firewall_subnets = [str(m.get("subnetId")) for m in fw["inputs"].get("subnetMappings") or []]
    associated: dict[str, str] = {}
    for _, r in _of(net, "routeTableAssociation:RouteTableAssociation"):
        associated[str(r["inputs"].get("subnetId"))] = str(r["inputs"].get("routeTableId"))
    routes: dict[str, list[tuple[int, dict]]] = {}
    for i, r in _of(net, "ec2/route:Route"):
        routes.setdefault(str(r["inputs"].get("routeTableId")), []).append((i, r))
    bypass: list[str] = []
    exits: list[dict] = []
    for subnet, role in [(x, "attachment") for x in entry_subnets] + [(x, "firewall") for x in firewall_subnets]:
        table = associated.get(subnet)
        if table is None:
            where = (f"$.deployment.resources[{a}].inputs.subnetArns" if role == "attachment"
                     else "firewall subnetMappings")
            raise NetworkInputError(source, where, f"inspection {role} subnet {subnet} has no route table association "
                                                   "in the plan: its routing (the VPC's main route table) cannot be read")
        for i, r in routes.get(table, []):
            path = f"$.deployment.resources[{i}].inputs"
            key, target = _route_target(r, source, path)
            dests = [d for d in (r["inputs"].get("destinationCidrBlock"), r["inputs"].get("destinationIpv6CidrBlock")) if d]
            to_firewall = key == "vpcEndpointId" and fw_urn in _depends(r, "vpcEndpointId")
            if role == "attachment":
                if not to_firewall:
                    bypass += [f"inspection VPC route table {table} sends {d} to {target}, not to the firewall "
                               f"({r.get('urn', '')} {key})" for d in dests]
                continue
            leads = "firewall" if to_firewall else route_target(target, source, f"{path}.{key}")
            exits += [{"destination": d, "leads": leads, "target": f"{target} (route table {table})"} for d in dests]
    return {"bypass": bypass, "exits": exits}


def _azure_firewalls(net: list[dict], source: str) -> dict[str, dict]:
    """Each hub's Azure Firewall with the policy it names (AzureFirewall ``firewallPolicy.id``,
    "The firewallPolicy associated with this azure firewall", Azure REST API): one function per
    hub, ``inspection-azure:<hub>``, so a rule of one hub's policy never stands for the other's.
    A firewall whose policy no plan holds is refused. A secured hub's firewall sends traffic to
    public addresses out through its public IPs ("Azure Firewall in a secured virtual hub ...
    internet traffic", Virtual WAN routing intent / hubIPAddresses.publicIPs): ``internet``."""
    policies = {r.get("id"): r["inputs"].get("firewallPolicyName") for _, r in _of(net, ":FirewallPolicy")}
    out: dict[str, dict] = {}
    for i, r in _of(net, ":AzureFirewall"):
        path = f"$.deployment.resources[{i}].inputs"
        hub = _tail((r["inputs"].get("virtualHub") or {}).get("id"), "virtualHubs")
        policy_id = (r["inputs"].get("firewallPolicy") or {}).get("id")
        if hub is None:
            raise NetworkInputError(source, f"{path}.virtualHub", f"firewall {r.get('urn', '')} is in no virtual hub")
        if policy_id not in policies:
            raise NetworkInputError(source, f"{path}.firewallPolicy.id", f"firewall {r.get('urn', '')} runs policy "
                                    f"{policy_id!r}, which no plan holds: what it passes cannot be read")
        public = ((r["inputs"].get("hubIPAddresses") or {}).get("publicIPs") or {}).get("count") or 0
        doc = _azure_firewall(net, source, policies[policy_id])
        doc["name"] = f"Azure Firewall {r['inputs'].get('azureFirewallName', '')} (policy {policies[policy_id]})"
        doc["internetExit"] = (f"Azure Firewall {r['inputs'].get('azureFirewallName', '')} public IP ({int(public)}): "
                               "the internet") if public else ""
        out[f"inspection-azure:{hub}"] = doc
    return out


def _azure_firewall(net: list[dict], source: str, policy_name: str) -> dict:
    """One Azure Firewall policy: rule collection groups by priority, collections by priority,
    the first matching rule applies its collection's action; anything not allowed is denied
    ("Rule processing": collection groups and collections by priority, "If no rules match,
    traffic is denied by default", Azure Firewall rule processing logic)."""
    groups = sorted(((i, g) for i, g in _of(net, "FirewallPolicyRuleCollectionGroup")
                     if g["inputs"].get("firewallPolicyName") == policy_name),
                    key=lambda x: x[1]["inputs"].get("priority", 0))
    rules: list[dict] = []
    for i, g in groups:
        gp = f"$.deployment.resources[{i}].inputs"
        for c, coll in enumerate(sorted(g["inputs"].get("ruleCollections") or [], key=lambda x: x.get("priority", 0))):
            cp = f"{gp}.ruleCollections[{c}]"
            if coll.get("ruleCollectionType") != "FirewallPolicyFilterRuleCollection":
                raise Unsupported(source, f"ruleCollectionType {coll.get('ruleCollectionType')!r}", f"{cp}.ruleCollectionType")
            action = (coll.get("action") or {}).get("type")
            for k, rule in enumerate(coll.get("rules") or []):
                rp = f"{cp}.rules[{k}]"
                only(rule, {"ruleType", "name", "ipProtocols", "sourceAddresses", "destinationAddresses",
                            "destinationPorts", "description"}, source, rp)
                if rule.get("ruleType") != "NetworkRule":
                    raise Unsupported(source, f"ruleType {rule.get('ruleType')!r}", f"{rp}.ruleType")
                for proto in rule.get("ipProtocols") or ["Any"]:
                    for p in rule.get("destinationPorts") or ["*"]:
                        rules.append({"id": rule.get("name", f"rule-{k}"), "action": action or "",
                                      "protocol": proto, "port": p, "sources": rule.get("sourceAddresses") or [],
                                      "destinations": rule.get("destinationAddresses") or []})
    return {"defaultAction": "drop", "rules": rules, "name": "Azure Firewall policy"}


def _vwan(net: list[dict], source: str, connections: dict, attachments: dict, inventory: dict,
          configured: dict[str, str]) -> dict:
    for i, r in _of(net, ":VirtualWan"):
        # "allowBranchToBranchTraffic: False" forbids transit between branch connections (VPN,
        # ExpressRoute) through the hubs whatever the route tables say; not modelled: refused.
        if r["inputs"].get("allowBranchToBranchTraffic") is not True:
            raise Unsupported(source, "allowBranchToBranchTraffic false", f"$.deployment.resources[{i}].inputs."
                              "allowBranchToBranchTraffic", "branch-to-branch restrictions are not modelled")
    hubs = {r["inputs"].get("virtualHubName"): r.get("id") for _, r in _of(net, ":VirtualHub")}
    firewalls = {r["inputs"].get("azureFirewallName"): (r["inputs"].get("virtualHub") or {}).get("id")
                 for _, r in _of(net, ":AzureFirewall")}
    tables: dict[str, dict] = {}
    for i, r in _of(net, ":HubRouteTable"):
        inputs = r["inputs"]
        path = f"$.deployment.resources[{i}].inputs"
        hub = inputs.get("virtualHubName")
        if hub not in hubs:
            raise NetworkInputError(source, f"{path}.virtualHubName", f"dangling reference: no virtual hub {hub!r}")
        routes = []
        for k, route in enumerate(inputs.get("routes") or []):
            rp = f"{path}.routes[{k}]"
            hop = route.get("nextHop", "")
            fw, conn = _tail(hop, "azureFirewalls"), _tail(hop, "hubVirtualNetworkConnections")
            if hop in configured:
                name = configured[hop]
            elif fw is not None:
                if fw not in firewalls or firewalls[fw] != hubs[hub]:
                    raise NetworkInputError(source, f"{rp}.nextHop", f"dangling reference: next hop firewall {fw!r} is "
                                                                     f"not a firewall of hub {hub}")
                name = f"inspection-azure:{hub}"   # this hub's firewall, with this hub's policy
            elif conn is not None:
                name = conn.removeprefix("conn-")
                if name not in connections or _tail(hop, "virtualHubs") != hub \
                        or connections[name]["associatedRouteTable"].split("/")[0] != hub:
                    raise NetworkInputError(source, f"{rp}.nextHop", f"dangling reference: next hop {conn!r} is not a "
                                                                     f"connection of hub {hub}")
            else:
                raise Unsupported(source, f"next hop {hop!r}", f"{rp}.nextHop")
            routes.append({**{k2: v for k2, v in route.items() if k2 != "nextHop"}, "nextHop": name})
        tables[f"{hub}/{inputs.get('routeTableName')}"] = {"labels": list(inputs.get("labels") or []), "routes": routes,
                                                           "propagations": []}
    conns = dict(connections)
    for i, r in _of(net, "ExpressRouteConnection"):
        name = "site:" + str(r["inputs"].get("name", "")).removeprefix("er-").replace("-", ":", 1)
        if name not in attachments:
            raise NetworkInputError(source, f"$.deployment.resources[{i}].inputs.name", f"no site {name!r} in the workspace")
        conns[name] = _routing(r["inputs"], source, f"$.deployment.resources[{i}].inputs")
    # The inter-cloud link and the hub firewall are not connections these stacks create: their
    # routing is the compiled one, in every hub (configured in Pulumi.network.yaml).
    compiled = inventory.get("azure-vwan/virtual-wan.json") or {"connections": {}}
    for name, c in compiled["connections"].items():
        if name.startswith("intercloud-") or name.startswith("inspection-"):
            # The link in the first hub; each hub's firewall in its own hub (what it passes is
            # looked up in that hub's table).
            for hub in sorted(hubs) if name.startswith("inspection-") else sorted(hubs)[:1]:
                key = f"inspection-azure:{hub}" if name.startswith("inspection-") else name
                if key.startswith("inspection-") and key not in attachments:
                    continue
                conns[key] = {"associatedRouteTable": f"{hub}/{c['associatedRouteTable']}",
                              "propagatedRouteTables": [f"{h}/{t}" for h in sorted(hubs) for t in c["propagatedRouteTables"]],
                              "propagatedLabels": []}
    return {"hubRouteTables": tables, "connections": conns}


def load_plans(plan_dir: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(plan_dir.glob("*.json")):
        if path.name == "index.json" or path.stem == "foundation":
            continue
        out[path.stem] = parse_json(read_json_text(path), path)
    return out

"""Readers: each cloud feature's documents into the one model of fabric.py, field by field.

Every field a reader meets is modelled (with the document it follows quoted next to the rule) or
refused with ``Unsupported`` (exit 2); malformed input and dangling references raise
``NetworkInputError`` (exit 1). Nothing is skipped in silence.
"""

from __future__ import annotations

from govcloud.network.cidr import CidrError, check, check_network
from govcloud.network.errors import NetworkInputError, Unsupported, need, only
from govcloud.network.model import BLACKHOLE, Firewall, Table

PROTOCOLS = {"tcp", "udp", "icmp", "icmpv6", "esp", "ah", "*"}
PORT_EXPANSION_LIMIT = 32   # a port range up to this size becomes its ports; wider ranges count as any port


def _cidr(value, source: str, path: str) -> str:
    if not isinstance(value, str):
        raise NetworkInputError(source, path, f"expected a network (string), got {type(value).__name__}")
    try:
        return check(value)
    except CidrError as exc:
        raise NetworkInputError(source, path, str(exc)) from None


def network(value, source: str, path: str) -> str:
    """An address block (an attachment's, a route's destination): host bits must be zero."""
    _cidr(value, source, path)
    try:
        return check_network(value)
    except CidrError as exc:
        raise NetworkInputError(source, path, str(exc)) from None


def _list(obj: dict, key: str, source: str, path: str, default=None) -> list:
    if key not in obj:
        if default is not None:
            return default
        raise NetworkInputError(source, f"{path}.{key}", f"missing field {key}")
    value = obj[key]
    if not isinstance(value, list):
        raise NetworkInputError(source, f"{path}.{key}", f"{key} must be a list, got {type(value).__name__}")
    return value


def _strs(obj: dict, key: str, source: str, path: str, default=None) -> list[str]:
    values = _list(obj, key, source, path, default)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise NetworkInputError(source, f"{path}.{key}[{i}]", f"expected a string, got {type(v).__name__}")
    return values


# IANA numbers the clouds accept: -1 (AWS "all"), 6 tcp, 17 udp, 1 icmp, 58 icmpv6
PROTOCOL_ALIASES = {"-1": "*", "all": "*", "any": "*", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "ip": "*"}


def protocol(value, source: str, path: str) -> str:
    if type(value) is str and value in PROTOCOLS:   # the common case, already a name
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NetworkInputError(source, path, f"protocol must be a name, got {value!r}")
    text = str(value).lower()
    text = PROTOCOL_ALIASES.get(text, text)
    if text not in PROTOCOLS:
        raise Unsupported(source, f"protocol {value!r}", path)
    return text


def port(value, source: str, path: str):
    """An int, "*" or an inclusive (low, high) range."""
    if isinstance(value, bool):
        raise NetworkInputError(source, path, f"port must be a number or range, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if not 0 <= value <= 65535:
            raise NetworkInputError(source, path, f"port {value} is out of range")
        return value
    if value in ("*", "any", "ANY", "Any"):
        return "*"
    if isinstance(value, str):
        low, sep, high = value.partition("-")
        if low.isdigit() and (not sep or high.isdigit()):
            lo, hi = int(low), int(high) if sep else int(low)
            if not 0 <= lo <= hi <= 65535:
                raise NetworkInputError(source, path, f"port range {value!r} is out of range")
            if lo == hi:
                return lo
            return "*" if (lo, hi) == (0, 65535) else (lo, hi)
    raise NetworkInputError(source, path, f"port must be a number, a range or *, got {value!r}")


def candidate_ports(p) -> list:
    """The ports a least-privilege check enumerates for a rule's port."""
    if isinstance(p, tuple):
        return list(range(p[0], p[1] + 1)) if p[1] - p[0] < PORT_EXPANSION_LIMIT else ["*"]
    return [p]


# --- attachments and declarations ----------------------------------------------------------------------------

ATTACHMENT_FIELDS = frozenset({"name", "kind", "zone", "cloud", "region", "cidrs", "municipalities", "connection",
                               "vendor", "internetFacing", "tags", "resourceId", "accountId", "attachmentType",
                               "segment"})
KINDS = {"tenant", "site", "external", "inspection", "intercloud", "function"}
# Cloud WAN attachment types (attachment-policies condition `attachment-type`).
ATTACHMENT_TYPES = {"vpc", "vpn", "connect", "direct-connect-gateway", "transit-gateway-route-table"}
CONNECTION_TYPES = {"directconnect": "direct-connect-gateway", "vpn": "vpn", "lgwan": "vpn",
                    "expressroute": "expressroute"}


# Network functions (the inspection VPC, a network function group member) sit in no trust zone.
FUNCTION_ZONE = "inspection"
FUNCTION_KINDS = ("inspection", "function")


def trust_zones() -> tuple[str, ...]:
    """The trust zones of the zone catalogue (tenants/catalogues/zones.yaml): mynumber, lgwan, internet."""
    from govcloud.tenants.catalogue import load_catalogue

    return tuple(load_catalogue().zones)


def attachment_zone(a: dict, name: str, kind: str, source: str, path: str) -> str:
    """The zone says which invariants apply to an attachment, so it is never guessed: a missing or
    unknown zone (``MyNumber``, ``unzoned``) would exempt a mynumber tenant from every invariant
    and verify clean. Network functions may say ``inspection``."""
    zones = trust_zones()
    allowed = zones + (FUNCTION_ZONE,) if kind in FUNCTION_KINDS else zones
    if "zone" not in a:
        raise NetworkInputError(source, f"{path}.zone", f"attachment {name} has no zone: give one of "
                                                        f"{', '.join(allowed)} (it says which invariants apply)")
    zone = need(a, "zone", str, source, path)
    if zone not in allowed:
        hint = next((f"; did you mean {z!r}?" for z in allowed if z.lower() == zone.strip().lower()), "")
        raise NetworkInputError(source, f"{path}.zone", f"attachment {name}: unknown zone {zone!r} "
                                                        f"(known zones: {', '.join(allowed)}){hint}")
    return zone


def read_attachments(doc, source: str) -> dict[str, dict]:
    if doc is None:
        raise NetworkInputError(source, "", "missing: no attachments")
    if not isinstance(doc, list):
        raise NetworkInputError(source, "$", "expected a list of attachments")
    if not doc:
        raise NetworkInputError(source, "$", "no attachments: there is nothing to prove (an empty list is refused, "
                                             "never passed)")
    out: dict[str, dict] = {}
    for i, a in enumerate(doc):
        path = f"$[{i}]"
        only(a, ATTACHMENT_FIELDS, source, path)
        name = need(a, "name", str, source, path)
        kind = need(a, "kind", str, source, path)
        if kind not in KINDS:
            raise Unsupported(source, f"kind {kind!r}", f"{path}.kind")
        attachment_zone(a, name, kind, source, path)
        cloud = need(a, "cloud", str, source, path)
        if cloud not in ("aws", "azure"):
            raise Unsupported(source, f"cloud {cloud!r}", f"{path}.cloud")
        cidrs = [network(c, source, f"{path}.cidrs[{j}]") for j, c in enumerate(_list(a, "cidrs", source, path))]
        if kind in ("tenant", "site") and not cidrs:
            raise NetworkInputError(source, f"{path}.cidrs", f"attachment {name} has no address space")
        munis = _list(a, "municipalities", source, path, [])
        tags = a.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise NetworkInputError(source, f"{path}.tags", "tags must map strings to strings")
        if name in out:
            raise NetworkInputError(source, f"{path}.name", f"attachment {name} appears twice")
        entry = {**a, "cidrs": cidrs, "municipalities": [str(m) for m in munis], "tags": tags}
        if "attachmentType" not in entry:
            entry["attachmentType"] = "vpc" if kind in ("tenant", "inspection") else \
                CONNECTION_TYPES.get(a.get("connection", ""), "")
        out[name] = entry
    return out


def read_intercloud(doc, source: str, attachments: dict) -> list[dict]:
    only(doc, {"links"}, source, "$")
    links = []
    for i, link in enumerate(_list(doc, "links", source, "$")):
        path = f"$.links[{i}]"
        only(link, {"zone", "aws", "azure"}, source, path)
        entry = {k: need(link, k, str, source, path) for k in ("zone", "aws", "azure")}
        if entry["zone"] not in trust_zones():
            raise NetworkInputError(source, f"{path}.zone", f"unknown zone {entry['zone']!r} "
                                                            f"(known zones: {', '.join(trust_zones())})")
        links.append(entry)
    return links


DECLARED_FIELDS = frozenset({"source", "destination", "protocol", "port", "reason", "viaInspection", "expectBlocked"})


def read_declared(doc, source: str, attachments: dict) -> list[dict]:
    if not isinstance(doc, list):
        raise NetworkInputError(source, "$", "expected a list of declared flows")
    out = []
    for i, f in enumerate(doc):
        path = f"$[{i}]"
        only(f, DECLARED_FIELDS, source, path)
        entry = {"source": need(f, "source", str, source, path), "destination": need(f, "destination", str, source, path),
                 "protocol": protocol(need(f, "protocol", str, source, path), source, f"{path}.protocol"),
                 "port": port(need(f, "port", (int, str), source, path), source, f"{path}.port"),
                 "reason": need(f, "reason", str, source, path) if "reason" in f else "declared",
                 "expectBlocked": need(f, "expectBlocked", bool, source, path) if "expectBlocked" in f else False}
        for end in ("source", "destination"):
            if entry[end] not in attachments:
                raise NetworkInputError(source, f"{path}.{end}", f"dangling reference: no attachment {entry[end]!r}")
        out.append(entry)
    return out


# --- firewalls ---------------------------------------------------------------------------------------------------

FIREWALL_RULE_FIELDS = frozenset({"id", "action", "protocol", "port", "sources", "destinations", "priority",
                                  "description"})
# AWS Network Firewall stateful actions (PASS, DROP, REJECT, ALERT) and Azure Firewall collection
# actions (Allow, Deny).
ACTIONS = {"pass": "pass", "allow": "pass", "drop": "drop", "reject": "drop", "deny": "drop", "alert": "alert"}


def read_firewall(doc, source: str, path: str = "$"):
    """A firewall document; from plans also ``bypass`` (routes of the inspection VPC that let
    traffic by the firewall: then it passes everything, the least safe reading), ``exits`` (the
    firewall subnets' routes: where passed traffic goes) and ``internetExit``."""
    only(doc, {"defaultAction", "rules", "name", "bypass", "exits", "internetExit"}, source, path)
    bypass = _strs(doc, "bypass", source, path, [])
    if bypass:
        return Firewall([], "pass", f"{doc.get('name', 'firewall')} (bypassed: {bypass[0]})",
                        _exits(doc, source, path), str(doc.get("internetExit", "")))
    default = doc.get("defaultAction", "drop")
    if default not in ("drop", "pass"):
        raise Unsupported(source, f"defaultAction {default!r}", f"{path}.defaultAction")
    rules = []
    for i, r in enumerate(_list(doc, "rules", source, path, [])):
        rp = f"{path}.rules[{i}]"
        only(r, FIREWALL_RULE_FIELDS, source, rp)
        action = str(need(r, "action", str, source, rp)).lower() if "action" in r else "pass"
        if action not in ACTIONS:
            raise Unsupported(source, f"action {r['action']!r}", f"{rp}.action")
        rules.append({"id": str(r.get("id", f"rule-{i}")), "action": ACTIONS[action],
                      "protocol": protocol(need(r, "protocol", str, source, rp), source, f"{rp}.protocol"),
                      "port": port(need(r, "port", (int, str), source, rp), source, f"{rp}.port"),
                      "sources": [_cidr(c, source, f"{rp}.sources[{j}]") for j, c in enumerate(_list(r, "sources", source, rp))],
                      "destinations": [_cidr(c, source, f"{rp}.destinations[{j}]")
                                       for j, c in enumerate(_list(r, "destinations", source, rp))]})
    return Firewall(rules, default, doc.get("name", "firewall"), _exits(doc, source, path), str(doc.get("internetExit", "")))


EXIT_LEADS = {"wan": "wan", "internet": "internet", "blackhole": "blackhole", "local": "blackhole",
              "firewall": "blackhole"}


def _exits(doc: dict, source: str, path: str) -> Table | None:
    """The firewall subnets' routes: longest prefix first (Amazon VPC "How route priority
    works"). A route back to the core network returns traffic to the WAN; one to an internet or
    NAT gateway takes it to the internet; local or the firewall itself leads nowhere modelled."""
    if "exits" not in doc:
        return None
    table = Table("firewall exits")
    for i, e in enumerate(_list(doc, "exits", source, path)):
        ep = f"{path}.exits[{i}]"
        only(e, {"destination", "leads", "target"}, source, ep)
        leads = need(e, "leads", str, source, ep)
        if leads not in EXIT_LEADS:
            raise Unsupported(source, f"firewall exit {leads!r}", f"{ep}.leads")
        kind = EXIT_LEADS[leads]
        table.add(_cidr(need(e, "destination", str, source, ep), source, f"{ep}.destination"),
                  f"internet: {e.get('target', '')}" if kind == "internet" else kind, static=True)
    return table


def read_firewalls(doc, source: str) -> dict:
    """``{"defaultAction", "rules"}`` for every function, and optionally ``"functions": {name:
    {...}}`` for functions with their own firewall (the plan reader writes one per cloud)."""
    only(doc, {"defaultAction", "rules", "name", "functions"}, source, "$")
    out = {"default": read_firewall({k: v for k, v in doc.items() if k != "functions"}, source)}
    functions = doc.get("functions", {})
    if not isinstance(functions, dict):
        raise NetworkInputError(source, "$.functions", "functions must be an object")
    for name, fw in functions.items():
        out[name] = read_firewall(fw, source, f"$.functions.{name}")
    return out


# --- tenant filters: security groups, NSGs, egress, VPC/VNet routes ------------------------------------------

FILTER_FIELDS = frozenset({"cloud", "zone", "cidr", "egress", "securityGroups", "nsgRules", "routes", "hubConnection"})
SG_RULE_FIELDS = frozenset({"cidr", "protocol", "port", "description"})
ROUTE_FIELDS = frozenset({"destination", "target", "subnets"})
# VPC/VNet route targets. Amazon VPC "How route priority works": static routes (internet
# gateway, NAT gateway, peering, transit gateway, ...) win over propagated ones; the verifier only
# needs where each target leads: the WAN, the internet, nowhere, or somewhere it cannot follow.
ROUTE_TARGETS = {"core-network": "wan", "transit-gateway": "wan", "virtual-hub": "wan", "local": "local",
                 "blackhole": "blackhole", "internet-gateway": "internet", "egress-only-internet-gateway": "internet",
                 "nat-gateway": "internet", "Internet": "internet", "VirtualNetworkGateway": "wan",
                 "VnetLocal": "local", "None": "blackhole"}
ROUTE_ID_PREFIXES = {"igw-": "internet", "eigw-": "internet", "nat-": "internet", "tgw-": "wan", "local": "local"}
# Targets that lead out of the modelled fabric: a peering (pcx-), an instance or interface, a
# gateway load balancer endpoint, a carrier gateway, a virtual appliance: where traffic goes after
# them is not in the documents, so the proof cannot be made.
UNFOLLOWABLE = ("pcx-", "i-", "eni-", "vpce-", "cagw-", "lgw-", "vgw-", "VirtualAppliance")


def route_target(target, source: str, path: str) -> str:
    if not isinstance(target, str):
        raise NetworkInputError(source, path, f"route target must be a string, got {target!r}")
    if target in ROUTE_TARGETS:
        return ROUTE_TARGETS[target]
    for prefix, kind in ROUTE_ID_PREFIXES.items():
        if target.startswith(prefix):
            return kind
    if target.startswith(UNFOLLOWABLE):
        raise Unsupported(source, f"route target {target}", path, "traffic leaves the modelled fabric there")
    if target.startswith("arn:aws:networkmanager:"):
        return "wan"
    raise Unsupported(source, f"route target {target!r}", path)


def read_filters(doc, source: str, attachments: dict) -> dict[str, dict]:
    if not isinstance(doc, dict):
        raise NetworkInputError(source, "$", "expected an object of tenants")
    out = {}
    for tenant, entry in doc.items():
        path = f"$.{tenant}"
        if tenant not in attachments:
            raise NetworkInputError(source, path, f"dangling reference: rules for {tenant!r}, which is no attachment")
        only(entry, FILTER_FIELDS, source, path)
        norm: dict = {"cloud": entry.get("cloud"), "zone": entry.get("zone")}
        if "securityGroups" in entry:
            groups = []
            for g, sg in enumerate(_list(entry, "securityGroups", source, path)):
                gp = f"{path}.securityGroups[{g}]"
                only(sg, {"name", "ingress"}, source, gp)
                rules = []
                for i, r in enumerate(_list(sg, "ingress", source, gp, [])):
                    rp = f"{gp}.ingress[{i}]"
                    only(r, SG_RULE_FIELDS, source, rp)
                    rules.append({"cidr": _cidr(need(r, "cidr", str, source, rp), source, f"{rp}.cidr"),
                                  "protocol": protocol(r.get("protocol", "tcp"), source, f"{rp}.protocol"),
                                  "port": port(r.get("port", "*"), source, f"{rp}.port"),
                                  "description": str(r.get("description", ""))})
                groups.append({"name": str(sg.get("name", f"sg-{g}")), "ingress": rules})
            norm["securityGroups"] = groups
        if "nsgRules" in entry:
            norm["nsgRules"] = read_nsg_rules(_list(entry, "nsgRules", source, path), source, f"{path}.nsgRules")
            norm["_inbound_denies"] = [r for r in norm["nsgRules"] if r["direction"] == "Inbound" and r["access"] == "Deny"]
        if "egress" in entry:
            egress = []
            for i, r in enumerate(_list(entry, "egress", source, path)):
                rp = f"{path}.egress[{i}]"
                only(r, SG_RULE_FIELDS, source, rp)
                egress.append({"cidr": _cidr(need(r, "cidr", str, source, rp), source, f"{rp}.cidr"),
                               "protocol": protocol(r.get("protocol", "*"), source, f"{rp}.protocol"),
                               "port": port(r.get("port", "*"), source, f"{rp}.port"),
                               "description": str(r.get("description", ""))})
            norm["egress"] = egress
        routes = []
        for i, r in enumerate(_list(entry, "routes", source, path, [])):
            rp = f"{path}.routes[{i}]"
            only(r, ROUTE_FIELDS, source, rp)
            target = need(r, "target", str, source, rp)
            routes.append({"destination": _cidr(need(r, "destination", str, source, rp), source, f"{rp}.destination"),
                           "target": target, "leads": route_target(target, source, f"{rp}.target")})
        norm["routes"] = routes
        out[tenant] = norm
    return out


NSG_FIELDS = frozenset({"name", "priority", "access", "direction", "protocol", "sourceAddressPrefix",
                        "sourceAddressPrefixes", "destinationAddressPrefix", "destinationAddressPrefixes",
                        "sourcePortRange", "sourcePortRanges", "destinationPortRange", "destinationPortRanges",
                        "description", "id", "type", "provisioningState", "etag"})
# Service tags the verifier can place on the address line (Azure "Virtual network service tags").
# VirtualNetwork: "the virtual network address space, all connected on-premises address spaces,
# peered virtual networks, virtual networks connected to a virtual network gateway ... and
# address prefixes used on user-defined routes": over a Virtual WAN hub that is every connected
# network, so as a source it admits everything (least safe) and as a deny it stops nothing it
# cannot prove is inside (see verify). Internet: "the IP address space outside the virtual
# network and reachable by the public internet". AzureLoadBalancer: the host probe address.
SERVICE_TAGS = {"VirtualNetwork": "*", "Internet": "Internet", "AzureLoadBalancer": "168.63.129.16/32", "*": "*"}
# Azure's default security rules, evaluated after the NSG's own rules ("Default security rules",
# Azure network security groups overview): inbound AllowVNetInBound 65000, AllowAzureLoadBalancer
# InBound 65001, DenyAllInBound 65500; outbound AllowVnetOutBound 65000, AllowInternetOutBound
# 65001, DenyAllOutBound 65500.
DEFAULT_NSG_RULES = [
    {"name": "AllowVnetInBound (default)", "priority": 65000, "access": "Allow", "direction": "Inbound",
     "protocol": "*", "sources": ["VirtualNetwork"], "destinations": ["VirtualNetwork"], "ports": ["*"]},
    {"name": "AllowAzureLoadBalancerInBound (default)", "priority": 65001, "access": "Allow", "direction": "Inbound",
     "protocol": "*", "sources": ["AzureLoadBalancer"], "destinations": ["*"], "ports": ["*"]},
    {"name": "DenyAllInBound (default)", "priority": 65500, "access": "Deny", "direction": "Inbound",
     "protocol": "*", "sources": ["*"], "destinations": ["*"], "ports": ["*"]},
    {"name": "AllowVnetOutBound (default)", "priority": 65000, "access": "Allow", "direction": "Outbound",
     "protocol": "*", "sources": ["VirtualNetwork"], "destinations": ["VirtualNetwork"], "ports": ["*"]},
    {"name": "AllowInternetOutBound (default)", "priority": 65001, "access": "Allow", "direction": "Outbound",
     "protocol": "*", "sources": ["*"], "destinations": ["Internet"], "ports": ["*"]},
    {"name": "DenyAllOutBound (default)", "priority": 65500, "access": "Deny", "direction": "Outbound",
     "protocol": "*", "sources": ["*"], "destinations": ["*"], "ports": ["*"]},
]


def _nsg_prefix(value, source: str, path: str) -> str:
    if isinstance(value, str) and value in SERVICE_TAGS:
        return value
    if isinstance(value, str) and value[:1].isalpha() and "." not in value and ":" not in value:
        raise Unsupported(source, f"service tag {value!r}", path, "its address ranges are not in the documents")
    return _cidr(value, source, path)


def read_nsg_rules(rules: list, source: str, path: str) -> list[dict]:
    """NSG rules in evaluation order: "Rules are processed in priority order, with lower numbers
    processed before higher numbers ... Once traffic matches a rule, processing stops" (Azure
    network security groups overview), followed by the default rules."""
    out = []
    seen: dict[tuple[str, int], str] = {}
    for i, r in enumerate(rules):
        rp = f"{path}[{i}]"
        only(r, NSG_FIELDS, source, rp)
        name = str(need(r, "name", str, source, rp))
        priority = need(r, "priority", (int, float), source, rp)
        if not float(priority).is_integer() or not 100 <= int(priority) <= 4096:
            raise NetworkInputError(source, f"{rp}.priority", f"priority must be an integer from 100 to 4096, got {priority}")
        access = need(r, "access", str, source, rp)
        if access not in ("Allow", "Deny"):
            raise NetworkInputError(source, f"{rp}.access", f"access must be Allow or Deny, got {access!r}")
        direction = need(r, "direction", str, source, rp)
        if direction not in ("Inbound", "Outbound"):
            raise NetworkInputError(source, f"{rp}.direction", f"direction must be Inbound or Outbound, got {direction!r}")
        key = (direction, int(priority))
        if key in seen:
            raise NetworkInputError(source, f"{rp}.priority", f"priority {int(priority)} is used twice ({seen[key]}, {name}): "
                                                              "Azure refuses duplicate priorities in one direction")
        seen[key] = name

        def many(single: str, plural: str, what) -> list:
            values = []
            if single in r:
                values.append(r[single])
            if plural in r:
                if not isinstance(r[plural], list):
                    raise NetworkInputError(source, f"{rp}.{plural}", f"{plural} must be a list")
                values += r[plural]
            if not values:
                raise NetworkInputError(source, f"{rp}.{single}", f"missing field {single} (or {plural})")
            return [what(v, f"{rp}.{plural if plural in r else single}") for v in values]

        out.append({"name": name, "priority": int(priority), "access": access, "direction": direction,
                    "protocol": protocol(need(r, "protocol", str, source, rp), source, f"{rp}.protocol"),
                    "sources": many("sourceAddressPrefix", "sourceAddressPrefixes",
                                    lambda v, p: _nsg_prefix(v, source, p)),
                    "destinations": many("destinationAddressPrefix", "destinationAddressPrefixes",
                                         lambda v, p: _nsg_prefix(v, source, p)) if (
                        "destinationAddressPrefix" in r or "destinationAddressPrefixes" in r) else ["*"],
                    "ports": many("destinationPortRange", "destinationPortRanges", lambda v, p: port(v, source, p)),
                    "sourcePortsAny": all(str(v) == "*" for v in ([r["sourcePortRange"]] if "sourcePortRange" in r else [])
                                          + list(r.get("sourcePortRanges", []))),
                    "description": str(r.get("description", ""))})
    defaults = [{**d, "sourcePortsAny": True, "description": ""} for d in DEFAULT_NSG_RULES]
    return sorted(out + defaults, key=lambda x: (x["direction"], x["priority"]))


# --- Transit Gateway -----------------------------------------------------------------------------------------


def read_tgw(doc, attachments: dict, source: str):
    """Transit Gateway route tables: an attachment is associated with one table; propagations
    install its prefixes; static routes win over propagated routes of the same prefix ("Static
    routes take precedence over propagated routes with the same destination", AWS Transit
    Gateway route evaluation)."""
    only(doc, {"routeTables", "associations"}, source, "$")
    raw_tables = need(doc, "routeTables", dict, source, "$")
    tables = {}
    for name, t in raw_tables.items():
        tp = f"$.routeTables.{name}"
        only(t, {"routes", "propagations"}, source, tp)
        table = Table(f"tgw:{name}")
        for i, r in enumerate(_list(t, "routes", source, tp, [])):
            rp = f"{tp}.routes[{i}]"
            only(r, {"destination", "target"}, source, rp)
            target = need(r, "target", str, source, rp)
            if target != BLACKHOLE and target not in attachments:
                raise NetworkInputError(source, f"{rp}.target", f"dangling reference: no attachment {target!r}")
            table.add(_cidr(need(r, "destination", str, source, rp), source, f"{rp}.destination"), target, static=True)
        for i, member in enumerate(_strs(t, "propagations", source, tp, [])):
            if member not in attachments:
                raise NetworkInputError(source, f"{tp}.propagations[{i}]", f"dangling reference: no attachment {member!r}")
            for cidr in attachments[member]["cidrs"]:
                table.add(cidr, member)
        tables[f"tgw:{name}"] = table
    assoc = {}
    for a, t in need(doc, "associations", dict, source, "$").items():
        if a not in attachments:
            raise NetworkInputError(source, f"$.associations.{a}", f"dangling reference: no attachment {a!r}")
        if t not in raw_tables:
            raise NetworkInputError(source, f"$.associations.{a}", f"dangling reference: no route table {t!r}")
        assoc[a] = f"tgw:{t}"
    unattached = [(n, "no Transit Gateway association") for n, a in attachments.items()
                  if a.get("cloud") == "aws" and a.get("kind") in ("tenant", "site") and n not in assoc]
    return tables, assoc, {}, unattached


# --- Azure Virtual WAN ---------------------------------------------------------------------------------------

VWAN_ROUTE_FIELDS = frozenset({"destination", "destinations", "nextHop", "name", "destinationType", "nextHopType"})


def read_vwan(doc, attachments: dict, source: str):
    """Virtual WAN hub route tables ("About virtual hub routing"): a connection is associated
    with one route table (where its traffic is looked up) and propagates its prefixes to route
    tables named by id *and* to every route table that carries one of its propagation labels
    ("Labels provide a mechanism to logically group route tables ... propagation to a label
    propagates to every route table with that label", across the hubs of the virtual WAN). Static
    routes in a hub route table take precedence over propagated ones of the same prefix."""
    only(doc, {"hubRouteTables", "connections"}, source, "$")
    raw_tables = need(doc, "hubRouteTables", dict, source, "$")
    connections = need(doc, "connections", dict, source, "$")
    tables: dict[str, Table] = {}
    labels: dict[str, set[str]] = {}
    propagations: dict[str, set[str]] = {}
    for name, t in raw_tables.items():
        tp = f"$.hubRouteTables.{name}"
        only(t, {"labels", "routes", "propagations"}, source, tp)
        labels[name] = set(_strs(t, "labels", source, tp, []))
        table = Table(f"vwan:{name}")
        for i, r in enumerate(_list(t, "routes", source, tp, [])):
            rp = f"{tp}.routes[{i}]"
            only(r, VWAN_ROUTE_FIELDS, source, rp)
            if r.get("destinationType", "CIDR") != "CIDR":
                raise Unsupported(source, f"destinationType {r['destinationType']!r}", f"{rp}.destinationType")
            if r.get("nextHopType", "ResourceId") != "ResourceId":
                raise Unsupported(source, f"nextHopType {r['nextHopType']!r}", f"{rp}.nextHopType")
            hop = need(r, "nextHop", str, source, rp)
            if hop != BLACKHOLE and hop not in attachments:
                raise NetworkInputError(source, f"{rp}.nextHop", f"dangling reference: no connection {hop!r}")
            dests = [r["destination"]] if "destination" in r else _strs(r, "destinations", source, rp)
            for j, d in enumerate(dests):
                table.add(_cidr(d, source, f"{rp}.destinations[{j}]"), hop, static=True)
        propagations[name] = set()
        for i, member in enumerate(_strs(t, "propagations", source, tp, [])):
            if member not in attachments:
                raise NetworkInputError(source, f"{tp}.propagations[{i}]", f"dangling reference: no connection {member!r}")
            propagations[name].add(member)
        tables[name] = table
    assoc = {}
    for conn, c in connections.items():
        cp = f"$.connections.{conn}"
        only(c, {"associatedRouteTable", "propagatedRouteTables", "propagatedLabels"}, source, cp)
        if conn not in attachments:
            raise NetworkInputError(source, cp, f"dangling reference: no attachment {conn!r}")
        associated = need(c, "associatedRouteTable", str, source, cp)
        if associated not in raw_tables:
            raise NetworkInputError(source, f"{cp}.associatedRouteTable", f"dangling reference: no route table {associated!r}")
        assoc[conn] = f"vwan:{associated}"
        for i, t in enumerate(_strs(c, "propagatedRouteTables", source, cp, [])):
            if t not in raw_tables:
                raise NetworkInputError(source, f"{cp}.propagatedRouteTables[{i}]", f"dangling reference: no route table {t!r}")
            propagations[t].add(conn)
        for label in _strs(c, "propagatedLabels", source, cp, []):
            for t, carried in labels.items():
                if label in carried:
                    propagations[t].add(conn)
    for name, members in propagations.items():
        for member in sorted(members):
            for cidr in attachments[member]["cidrs"]:
                tables[name].add(cidr, member)
    return {f"vwan:{n}": t for n, t in tables.items()}, assoc


# --- AWS Cloud WAN core network policy ------------------------------------------------------------------------


# AWS Cloud WAN core network policies are read in cloudwan.py (one module per feature, same interface).

__all__ = ["read_attachments", "read_declared", "read_filters", "read_firewall", "read_firewalls", "read_intercloud",
           "read_nsg_rules", "read_tgw", "read_vwan"]

"""Compile network intent to cloud configuration. Pure and deterministic: the same intent gives
the same files, byte for byte.

Outputs (one folder, one file each):
  attachments.json          every attachment with its segment tag, CIDRs and municipalities
  tenants.json              per tenant: security groups (AWS, sharded by quota) or NSG rules (Azure),
                            egress rules and the VPC/VNet route table
  firewall.json             the inspection network function's stateful rules (default drop)
  intercloud.json           the AWS ↔ Azure link, one attachment pair per zone
  declared-flows.json       what the intent declares: least privilege is checked against it
  aws-cloudwan/core-network-policy.json   Cloud WAN policy (version 2021.12)
  aws-tgw/transit-gateway.json            the Transit Gateway alternative
  azure-vwan/virtual-wan.json             hub route tables, labels and connection routing

Static routes and attachments name attachments by their govcloud name (``attachment:<name>``);
the network stack substitutes the real attachment ids when it deploys the policy.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections import defaultdict
from dataclasses import dataclass

from govcloud import yamlio
from govcloud.network.intent import DATA, INSPECTION, SHARED_SERVICES, Attachment, Intent

TARGETS = ("aws-cloudwan", "aws-tgw", "azure-vwan")
CLOUDWAN_VERSION = "2021.12"
EDGE_LOCATIONS = ["ap-northeast-1", "ap-northeast-3"]
ISOLATED_ZONES = {"mynumber"}            # tenants must not see each other: routes only per declared flow
ACCEPTANCE_ZONES = {"mynumber", "lgwan"}  # attachments wait for the platform's acceptance
SHARED_WITH = ["lgwan", "internet"]       # screen transfer and mail sanitisation gateways live in shared-services


class QuotaError(ValueError):
    pass


@functools.cache
def quotas() -> dict[str, dict]:
    data, _ = yamlio.load_file(DATA / "quotas.yaml")
    return {q["id"]: q for q in data["quotas"]}


def quota(qid: str, overrides: dict[str, int] | None = None) -> int:
    return (overrides or {}).get(qid, quotas()[qid]["limit"])


def _fail(qid: str, value: int, what: str, overrides: dict[str, int] | None) -> None:
    q = quotas()[qid]
    hint = (f"; the quota is adjustable: request an increase and pass --quota {qid}=N" if q.get("adjustable")
            else "; the quota is fixed: split the fleet")
    raise QuotaError(f"{what}: {value} exceeds {qid} = {quota(qid, overrides)} ({q['source']}){hint}")


def attachment_ref(name: str) -> str:
    return f"attachment:{name}"


def intercloud_name(cloud: str, zone: str) -> str:
    return f"intercloud-{cloud}-{zone}"


def inspection_name(cloud: str) -> str:
    return f"{INSPECTION}-{cloud}"


@dataclass(frozen=True)
class Compiled:
    files: dict[str, object]

    def render(self) -> dict[str, str]:
        return {name: render_json(body) for name, body in self.files.items()}


def render_json(body: object) -> str:
    """One top-level entry per line: diff- and edit-friendly like an indented file, but written by
    the C encoder (indentation forces the pure-Python one, 10x slower on a national fleet)."""
    dump = functools.partial(json.dumps, ensure_ascii=False, sort_keys=True)
    if isinstance(body, dict) and body:
        lines = [f" {dump(k)}: {dump(v)}" for k, v in sorted(body.items())]
        return "{\n" + ",\n".join(lines) + "\n}\n"
    if isinstance(body, list) and body:
        return "[\n" + ",\n".join(f" {dump(v)}" for v in body) + "\n]\n"
    return dump(body) + "\n"


def compile_network(intent: Intent, targets: tuple[str, ...] = TARGETS, *,
                    quota_overrides: dict[str, int] | None = None) -> Compiled:
    zones = sorted({a.zone for a in intent.attachments.values()} | set(ISOLATED_ZONES) | {"lgwan", "internet"})
    segments = zones + [SHARED_SERVICES]
    if len(segments) > quota("cloudwan-segments-per-core-network", quota_overrides):
        _fail("cloudwan-segments-per-core-network", len(segments), "segments", quota_overrides)
    aws_attachments = [a for a in intent.attachments.values() if a.cloud == "aws"]
    count = len(aws_attachments) + len(zones) + 1  # + inter-cloud links and inspection
    for target, qid in (("aws-cloudwan", "cloudwan-attachments-per-core-network"),
                        ("aws-tgw", "tgw-attachments-per-transit-gateway")):
        if target in targets and count > quota(qid, quota_overrides):
            _fail(qid, count, "AWS attachments", quota_overrides)

    files: dict[str, object] = {
        "attachments.json": [_attachment_doc(a) for a in sorted(intent.attachments.values(), key=lambda a: a.name)],
        "tenants.json": compile_filters(intent, quota_overrides),
        "firewall.json": compile_firewall(intent),
        "intercloud.json": {"links": [{"zone": z, "aws": intercloud_name("aws", z), "azure": intercloud_name("azure", z)}
                                      for z in zones]},
        "declared-flows.json": [{"source": f.source, "destination": f.destination, "protocol": f.protocol,
                                 "port": f.port, "reason": f.reason, "viaInspection": f.via_inspection}
                                for f in intent.flows],
        "manifest.json": {"version": 1, "targets": list(targets), "zones": zones,
                          "exceptions": {"active": [e.id for e in intent.exceptions],
                                         "expired": [e.id for e in intent.expired]}},
    }
    if "aws-cloudwan" in targets:
        files["aws-cloudwan/core-network-policy.json"] = compile_cloudwan_policy(intent, zones)
    if "aws-tgw" in targets:
        files["aws-tgw/transit-gateway.json"] = compile_tgw(intent, zones, quota_overrides)
    if "azure-vwan" in targets:
        files["azure-vwan/virtual-wan.json"] = compile_vwan(intent, zones)
    return Compiled(files)


def _attachment_doc(a: Attachment) -> dict:
    return {"name": a.name, "kind": a.kind, "zone": a.zone, "cloud": a.cloud, "region": a.region,
            "cidrs": list(a.cidrs), "municipalities": sorted(a.municipalities), "connection": a.connection,
            "vendor": a.vendor, "internetFacing": a.internet_facing,
            "tags": {"segment": a.zone, "kind": a.kind},
            **({"securityModel": a.security_model} if a.security_model else {})}


# --- flows that need routes in an isolated segment ---------------------------------------------------------


def _isolated_routes(intent: Intent, cloud: str) -> dict[str, dict[str, str]]:
    """{zone: {cidr: target}} static routes so that declared flows work inside isolated zones.

    Both directions: the destination's CIDR for the request, the source's for the reply. A
    peer on the other cloud is reached through the zone's inter-cloud attachment."""
    routes: dict[str, dict[str, str]] = defaultdict(dict)
    atts = intent.attachments
    for f in intent.flows:
        src, dst = atts[f.source], atts[f.destination]
        if src.zone != dst.zone or dst.zone not in ISOLATED_ZONES or f.via_inspection:
            continue
        for end in (src, dst):
            if cloud == end.cloud or (src.cloud == cloud or dst.cloud == cloud):
                target = end.name if end.cloud == cloud else intercloud_name(cloud, end.zone)
                for cidr in end.cidrs:
                    routes[dst.zone][cidr] = target
    return routes


def compile_cloudwan_policy(intent: Intent, zones: list[str]) -> dict:
    segments = [{"name": z, "edge-locations": EDGE_LOCATIONS, "isolate-attachments": z in ISOLATED_ZONES,
                 "require-attachment-acceptance": z in ACCEPTANCE_ZONES} for z in zones]
    segments.append({"name": SHARED_SERVICES, "edge-locations": EDGE_LOCATIONS, "isolate-attachments": False,
                     "require-attachment-acceptance": True})
    actions: list[dict] = [{"action": "share", "mode": "attachment-route", "segment": SHARED_SERVICES,
                            "share-with": [z for z in SHARED_WITH if z in zones]}]
    pairs = sorted({(intent.attachments[f.source].zone, intent.attachments[f.destination].zone)
                    for f in intent.flows if f.via_inspection})
    for src_zone, dst_zone in pairs:
        actions.append({"action": "send-via", "segment": src_zone, "mode": "single-hop",
                        "when-sent-to": {"segments": [dst_zone]},
                        "via": {"network-function-groups": [INSPECTION]}})
    for zone, routes in sorted(_isolated_routes(intent, "aws").items()):
        for cidr, target in sorted(routes.items()):
            actions.append({"action": "create-route", "segment": zone, "destination-cidr-blocks": [cidr],
                            "destinations": [attachment_ref(target)]})
    policies = [{"rule-number": 100 + i, "condition-logic": "or",
                 "conditions": [{"type": "tag-value", "operator": "equals", "key": "segment", "value": seg["name"]}],
                 "action": {"association-method": "constant", "segment": seg["name"]}}
                for i, seg in enumerate(segments)]
    policies.append({"rule-number": 90, "condition-logic": "or",
                     "conditions": [{"type": "tag-value", "operator": "equals", "key": "network-function", "value": INSPECTION}],
                     "action": {"add-to-network-function-group": INSPECTION}})
    return {
        "version": CLOUDWAN_VERSION,
        "core-network-configuration": {"vpn-ecmp-support": False, "asn-ranges": ["64512-64555"],
                                       "edge-locations": [{"location": loc} for loc in EDGE_LOCATIONS]},
        "segments": segments,
        "network-function-groups": [{"name": INSPECTION, "require-attachment-acceptance": True}],
        "segment-actions": actions,
        "attachment-policies": sorted(policies, key=lambda p: p["rule-number"]),
    }


def compile_tgw(intent: Intent, zones: list[str], overrides: dict[str, int] | None) -> dict:
    """One route table per zone (and one for the inspection VPC). Open zones propagate every
    attachment; isolated zones carry only the static routes of declared flows."""
    tables: dict[str, dict] = {f"rt-{z}": {"routes": {}, "propagations": []} for z in zones + [SHARED_SERVICES]}
    tables[f"rt-{INSPECTION}"] = {"routes": {}, "propagations": []}
    associations: dict[str, str] = {}
    aws = sorted((a for a in intent.attachments.values() if a.cloud == "aws"), key=lambda a: a.name)
    for a in aws:
        associations[a.name] = f"rt-{a.zone}"
        if a.zone not in ISOLATED_ZONES:
            tables[f"rt-{a.zone}"]["propagations"].append(a.name)
            for z in SHARED_WITH:
                if a.zone == SHARED_SERVICES:
                    tables[f"rt-{z}"]["propagations"].append(a.name)
        tables[f"rt-{INSPECTION}"]["propagations"].append(a.name)
    for z in zones:
        link = intercloud_name("aws", z)
        associations[link] = f"rt-{z}"
        if z not in ISOLATED_ZONES:
            tables[f"rt-{z}"]["propagations"].append(link)
        tables[f"rt-{INSPECTION}"]["propagations"].append(link)
    associations[inspection_name("aws")] = f"rt-{INSPECTION}"
    for zone, routes in _isolated_routes(intent, "aws").items():
        for cidr, target in routes.items():
            tables[f"rt-{zone}"]["routes"][cidr] = target
    for f in intent.flows:
        if not f.via_inspection:
            continue
        src, dst = intent.attachments[f.source], intent.attachments[f.destination]
        for cidr in dst.cidrs:
            tables[f"rt-{src.zone}"]["routes"][cidr] = inspection_name("aws")
    # An isolated zone gets a blackhole for the whole of every other zone's address space.
    for name, table in tables.items():
        count = len(table["routes"]) + sum(len(intent.attachments[p].cidrs) if p in intent.attachments else 1
                                           for p in table["propagations"])
        if count > quota("tgw-routes-per-route-table", overrides):
            _fail("tgw-routes-per-route-table", count, f"routes in {name}", overrides)
    return {"routeTables": {name: {"routes": [{"destination": c, "target": t} for c, t in sorted(tab["routes"].items())],
                                   "propagations": sorted(tab["propagations"])}
                            for name, tab in sorted(tables.items())},
            "associations": dict(sorted(associations.items()))}


def compile_vwan(intent: Intent, zones: list[str]) -> dict:
    """Azure Virtual WAN with custom route tables (routing intent cannot be combined with them).
    Per zone: `rt-<zone>` for tenant VNets and `rt-<zone>-branches` for sites and the inter-cloud
    link. Isolated zones do not propagate VNets into their own table: tenants there reach each
    other only through static routes of declared flows."""
    tables: dict[str, dict] = {}
    for z in zones + [SHARED_SERVICES]:
        tables[f"rt-{z}"] = {"labels": [z], "routes": {}, "propagations": []}
        tables[f"rt-{z}-branches"] = {"labels": [f"{z}-branches"], "routes": {}, "propagations": []}
    tables[f"rt-{INSPECTION}"] = {"labels": [INSPECTION], "routes": {}, "propagations": []}
    connections: dict[str, dict] = {}
    azure = sorted((a for a in intent.attachments.values() if a.cloud == "azure"), key=lambda a: a.name)
    for a in azure:
        if a.kind == "tenant":
            propagate = [f"rt-{a.zone}-branches", f"rt-{INSPECTION}"] + ([] if a.zone in ISOLATED_ZONES else [f"rt-{a.zone}"])
            connections[a.name] = {"associatedRouteTable": f"rt-{a.zone}", "propagatedRouteTables": propagate}
        else:
            # Branches of an isolated zone do not propagate into its tenants' table either: the
            # static routes of declared flows are the only way in (mynumber-isolation).
            connections[a.name] = {"associatedRouteTable": f"rt-{a.zone}-branches",
                                   "propagatedRouteTables": ([] if a.zone in ISOLATED_ZONES else [f"rt-{a.zone}"])
                                   + [f"rt-{INSPECTION}"]}
    for z in zones:
        connections[intercloud_name("azure", z)] = {"associatedRouteTable": f"rt-{z}-branches",
                                                    "propagatedRouteTables": ([] if z in ISOLATED_ZONES else [f"rt-{z}"])
                                                    + [f"rt-{INSPECTION}"]}
    connections[inspection_name("azure")] = {"associatedRouteTable": f"rt-{INSPECTION}", "propagatedRouteTables": []}
    for name, conn in connections.items():
        for table in conn["propagatedRouteTables"]:
            tables[table]["propagations"].append(name)
    # Inside an isolated zone each declared flow gets exactly two static routes: towards the
    # destination in the table the request starts from, and towards the source in the table the
    # reply starts from. Tenant VNets look up rt-<zone>; sites and everything arriving over the
    # inter-cloud link look up rt-<zone>-branches. (Routes in both tables for both ends let every
    # tenant of the zone route to every other tenant with a declared flow anywhere: the verifier's
    # mynumber-isolation invariant showed it.)
    def origin_table(a: Attachment) -> str:
        return f"rt-{a.zone}" if a.cloud == "azure" and a.kind == "tenant" else f"rt-{a.zone}-branches"

    def azure_target(a: Attachment) -> str:
        return a.name if a.cloud == "azure" else intercloud_name("azure", a.zone)

    # The routes depend on the two ends only, not on protocol or port: each pair once, in the
    # flows' order (the first route of a prefix stays, as before).
    pairs = dict.fromkeys((f.source, f.destination) for f in intent.flows if not f.via_inspection)
    for source, destination in pairs:
        src, dst = intent.attachments[source], intent.attachments[destination]
        if src.zone != dst.zone or dst.zone not in ISOLATED_ZONES or "azure" not in (src.cloud, dst.cloud):
            continue
        for start, end in ((src, dst), (dst, src)):
            if start.cloud == "aws" and end.cloud == "aws":
                continue
            for cidr in end.cidrs:
                tables[origin_table(start)]["routes"].setdefault(cidr, azure_target(end))
    for f in intent.flows:
        if f.via_inspection:
            src, dst = intent.attachments[f.source], intent.attachments[f.destination]
            for cidr in dst.cidrs:
                tables[f"rt-{src.zone}"]["routes"][cidr] = inspection_name("azure")
                tables[f"rt-{src.zone}-branches"]["routes"][cidr] = inspection_name("azure")
    return {"hubRouteTables": {n: {"labels": t["labels"],
                                   "routes": [{"destination": c, "nextHop": h} for c, h in sorted(t["routes"].items())],
                                   "propagations": sorted(t["propagations"])} for n, t in sorted(tables.items())},
            "connections": dict(sorted(connections.items()))}


def compile_firewall(intent: Intent) -> dict:
    rules = []
    for f in intent.flows:
        if not f.via_inspection:
            continue
        src, dst = intent.attachments[f.source], intent.attachments[f.destination]
        rules.append({"id": f.reason.removeprefix("exception:"), "action": "pass", "protocol": f.protocol,
                      "sources": list(src.cidrs), "destinations": list(dst.cidrs), "port": f.port})
    return {"defaultAction": "drop", "rules": rules}


# --- filtering: security groups and NSGs ---------------------------------------------------------------------


def compile_filters(intent: Intent, overrides: dict[str, int] | None = None) -> dict[str, dict]:
    atts = intent.attachments
    inbound: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
    outbound: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
    for f in intent.flows:
        for cidr in atts[f.source].cidrs:
            inbound[f.destination].append((cidr, f.protocol, f.port, f"{f.reason} from {f.source}"))
        if atts[f.source].kind == "tenant":
            for cidr in atts[f.destination].cidrs:
                outbound[f.source].append((cidr, f.protocol, f.port, f"{f.reason} to {f.destination}"))
    per_sg = quota("sg-inbound-rules-per-security-group", overrides)
    per_eni = quota("sg-security-groups-per-interface", overrides)
    out: dict[str, dict] = {}
    for tenant in sorted(intent.tenants(), key=lambda a: a.name):
        cidr = tenant.cidrs[0]
        rules = sorted(set(inbound[tenant.name]))
        egress = [{"cidr": cidr, "protocol": "tcp", "port": 443, "description": "VPC endpoints"}]
        egress += [{"cidr": c, "protocol": p, "port": port, "description": d} for c, p, port, d in sorted(set(outbound[tenant.name]))]
        entry: dict = {"cloud": tenant.cloud, "zone": tenant.zone, "cidr": cidr, "egress": egress}
        if tenant.cloud == "aws":
            shards = [rules[i:i + per_sg] for i in range(0, len(rules), per_sg)] or [[]]
            if len(shards) > per_eni:
                _fail("sg-security-groups-per-interface", len(shards),
                      f"{tenant.name} needs {len(rules)} inbound rules in {len(shards)} security groups", overrides)
            entry["securityGroups"] = [{"name": f"{tenant.name}-flows-{i}",
                                        "ingress": [{"cidr": c, "protocol": p, "port": port, "description": d}
                                                    for c, p, port, d in shard]}
                                       for i, shard in enumerate(shards)]
            entry["routes"] = [{"destination": "0.0.0.0/0", "target": "core-network", "subnets": "private"}]
            if tenant.internet_facing:
                entry["routes"].append({"destination": "0.0.0.0/0", "target": "internet-gateway", "subnets": "public"})
        else:
            by_port: dict[tuple[str, int], list[str]] = defaultdict(list)
            for c, p, port, _ in rules:
                by_port[(p, port)].append(c)
            nsg = [{"name": f"allow-{p}-{port}", "priority": 300 + i, "access": "Allow", "direction": "Inbound",
                    "protocol": p, "sourceAddressPrefixes": sorted(set(cs)), "destinationPortRange": str(port)}
                   for i, ((p, port), cs) in enumerate(sorted(by_port.items()))]
            nsg.append({"name": "deny-all-inbound", "priority": 4096, "access": "Deny", "direction": "Inbound",
                        "protocol": "*", "sourceAddressPrefixes": ["*"], "destinationPortRange": "*"})
            prefixes = sum(len(r["sourceAddressPrefixes"]) for r in nsg)
            if prefixes > quota("azure-nsg-prefixes-per-nsg", overrides):
                _fail("azure-nsg-prefixes-per-nsg", prefixes, f"{tenant.name} NSG source prefixes", overrides)
            entry["nsgRules"] = nsg
            entry["routes"] = [{"destination": "0.0.0.0/0", "target": "virtual-hub", "subnets": "all"}]
        out[tenant.name] = entry
    return out


def contains(outer: str, inner: str) -> bool:
    if outer in ("*", "0.0.0.0/0"):
        return True
    return ipaddress.IPv4Network(inner).subnet_of(ipaddress.IPv4Network(outer))

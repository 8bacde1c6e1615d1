"""Prove the network invariants over compiled configuration (see data/invariants.yaml).

Three layers are computed separately:
- routing: the WAN alone (segments, shares, send-via, static routes, the inspection firewall,
  inter-cloud links, the tenants' own route tables);
- filtering: security groups / NSGs alone, whatever the routes;
- effective: what really gets through (routing and filtering and egress together).
Zone invariants must hold at the routing layer and at the filtering layer independently;
municipality separation and least privilege are judged on effective reachability.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from govcloud.network.cidr import contains, is_internet, overlaps, span
from govcloud.network.fabric import CidrIndex, Fabric, Path_, _port_covers, _port_overlaps, _proto_ok
from govcloud.network.readers import SERVICE_TAGS, candidate_ports

MYNUMBER, INTERNET = "mynumber", "internet"
SOURCE_KINDS = ("tenant", "site", "external")


@dataclass(frozen=True)
class Violation:
    invariant: str
    layer: str
    source: str
    destination: str
    message: str
    path: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"invariant": self.invariant, "layer": self.layer, "source": self.source,
                "destination": self.destination, "message": self.message, "path": list(self.path)}


class Reach:
    """One reachable (source, tenant, protocol, port). Plain slots: there are tens of thousands."""

    __slots__ = ("source", "destination", "protocol", "port", "route", "rule")

    def __init__(self, source: str, destination: str, protocol: str, port, route: Path_, rule: str):
        self.source, self.destination, self.protocol, self.port = source, destination, protocol, port
        self.route, self.rule = route, rule

    @property
    def path(self) -> tuple[str, ...]:
        """Hop by hop, built only when someone asks (there are tens of thousands of these)."""
        return (f"{self.source} (source)", *self.route.hops, self.rule, f"tenant {self.destination}")


@dataclass
class Report:
    variant: str
    violations: list[Violation] = field(default_factory=list)
    reachable: list[Reach] = field(default_factory=list)
    matrix: Counter = field(default_factory=Counter)
    checked_tables: int = 0
    reverified: int = 0
    state: "VerifyState | None" = None
    unreachable_declared: list[tuple[str, str, str, int]] = field(default_factory=list)
    layers: tuple[str, ...] = ("routing", "filtering", "effective")
    routed_pairs: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


def _rules(entry: dict) -> list[tuple[str, str, str, int | str, str, int | None]]:
    """(group, source cidr, protocol, port, description) for every inbound rule that allows
    something: the candidates. Security groups only allow ("Security group rules are always
    permissive; you can't create rules that deny access", Amazon VPC); an NSG allow rule counts
    only where no rule before it decides otherwise (see ``admits``)."""
    out = []
    for sg in entry.get("securityGroups", []):
        for i, r in enumerate(sg.get("ingress", [])):
            for p in candidate_ports(r["port"]):
                out.append((f"security group {sg['name']} rule #{i}", r["cidr"], r["protocol"], p, r.get("description", ""),
                            None))
    # A deny of everything (any source, protocol, port, destination) ends evaluation for all that
    # follows it: rules behind it are never candidates (the default rules behind deny-all-inbound).
    shadow = min((r["priority"] for r in entry.get("nsgRules", []) if r["direction"] == "Inbound" and r["access"] == "Deny"
                  and r["protocol"] == "*" and "*" in r["ports"] and "*" in r["sources"] and "*" in r["destinations"]
                  and r.get("sourcePortsAny", True)), default=None)
    for r in entry.get("nsgRules", []):
        if r["direction"] != "Inbound" or r["access"] != "Allow" or (shadow is not None and r["priority"] > shadow):
            continue
        for prefix in r["sources"]:
            cidr = SERVICE_TAGS.get(prefix, prefix)
            for rp in r["ports"]:
                for p in candidate_ports(rp):
                    out.append((f"NSG rule {r['name']} (priority {r['priority']})", cidr, r["protocol"], p,
                                r.get("description", ""), r["priority"]))
    return out


def _nsg_source_covers(prefix: str, cidr: str, allow: bool) -> bool:
    """Does an NSG address prefix (or service tag) match the traffic of ``cidr``? Allow rules are
    read generously and deny rules strictly, so the least safe reading always counts."""
    if prefix == "*":
        return True
    if prefix == "VirtualNetwork":
        return allow            # every connected network: admits anything, proves no deny
    if prefix == "Internet":
        # One set in an allow and in a deny: "the IP address space that's outside the virtual
        # network and reachable by the public internet" (Azure, Virtual network service tags:
        # Internet), i.e. public addresses. An allow matches traffic with any public address, a
        # deny only traffic that is public throughout ("Internet" as traffic: some public address).
        if cidr == "Internet":
            return True
        return is_internet(cidr) if allow else _public_throughout(cidr)
    if cidr == "Internet":   # public traffic against a prefix: an allow matches a prefix with public addresses
        return is_internet(prefix) if allow else False   # a deny of one family leaves the other public
    return overlaps(prefix, cidr) if allow else contains(prefix, cidr)


def _public_throughout(cidr: str) -> bool:
    from govcloud.network.cidr import PRIVATE

    lo, hi = span(cidr)
    return not any(lo <= p1 and p0 <= hi for p0, p1 in PRIVATE)


def _nsg_decides(rules: list[dict], direction: str, src: str, dst: str, proto: str, port) -> dict | None:
    """The first rule, in priority order, that decides this traffic (Azure: "Once traffic
    matches a rule, processing stops"). A deny decides only traffic it fully covers; an allow
    decides as soon as it could match any part of it."""
    for r in rules:
        if r["direction"] != direction:
            continue
        allow = r["access"] == "Allow"
        if allow:
            if not _proto_ok(r["protocol"], proto) or not any(_port_overlaps(p, port) for p in r["ports"]):
                continue
        else:
            if r["protocol"] not in ("*", proto) or not any(_port_covers(p, port) for p in r["ports"]) \
                    or not r.get("sourcePortsAny", True):
                continue
        if any(_nsg_source_covers(s, src, allow) for s in r["sources"]) and \
                any(_nsg_source_covers(d, dst, allow) for d in r["destinations"]):
            return r
    return None


def _inbound_denies(entry: dict) -> list[dict]:
    cached = entry.get("_inbound_denies")
    if cached is None:
        cached = entry["_inbound_denies"] = [r for r in entry["nsgRules"] if r["direction"] == "Inbound"
                                             and r["access"] == "Deny"]
    return cached


def admits(entry: dict, src_cidr: str, dst_cidr: str, proto: str, port, upto: int | None = None) -> bool:
    """Does the destination's inbound filtering let this traffic in? With ``upto`` (the priority
    of the NSG allow rule a candidate comes from): does any rule before it deny all of it?"""
    if "nsgRules" not in entry:
        # security groups only: the candidate came from a rule that admits it (allow-only, any match)
        return True
    if upto is not None:
        denies = _inbound_denies(entry)
        earlier = [r for r in denies if r["priority"] < upto]
        return not earlier or _nsg_decides(earlier, "Inbound", src_cidr, dst_cidr, proto, port) is None
    if "nsgRules" in entry:
        decided = _nsg_decides(entry["nsgRules"], "Inbound", src_cidr, dst_cidr, proto, port)
        if decided is None or decided["access"] != "Allow":
            return False
        if "securityGroups" not in entry:
            return True
    for sg in entry.get("securityGroups", []):
        for r in sg["ingress"]:
            if _proto_ok(r["protocol"], proto) and _port_overlaps(r["port"], port) and overlaps(r["cidr"], src_cidr):
                return True
    return False


def _egress_allows(entry: dict, dst_cidr: str, protocol: str, port, own_cidr: str = "*") -> bool:
    if "egress" in entry:
        for r in entry["egress"]:
            if not _proto_ok(r["protocol"], protocol) or not _port_overlaps(r["port"], port):
                continue
            if overlaps(r["cidr"], dst_cidr):
                return True
        return False
    if "nsgRules" in entry:
        decided = _nsg_decides(entry["nsgRules"], "Outbound", own_cidr, dst_cidr, protocol, port)
        return decided is not None and decided["access"] == "Allow"
    return True  # no egress filtering read for this tenant: everything leaves (least safe)


def _internet_egress(entry: dict) -> str | None:
    """What lets a tenant send to the internet, if anything."""
    for r in entry.get("egress", []):
        if is_internet(r["cidr"]):
            return f"egress rule {r['cidr']} {r['protocol']}/{r['port']}"
    if "egress" not in entry and "nsgRules" in entry:
        for r in entry["nsgRules"]:
            if r["direction"] != "Outbound":
                continue
            public = any(d in ("*", "Internet") or (d != "VirtualNetwork" and is_internet(d)) for d in r["destinations"])
            if r["access"] == "Allow" and public:
                return f"NSG rule {r['name']} (priority {r['priority']}) allows outbound to {', '.join(r['destinations'])}"
            if r["access"] == "Deny" and r["protocol"] == "*" and "*" in r["ports"] and \
                    any(d in ("*", "Internet") for d in r["destinations"]):
                return None
    return None


@dataclass
class TenantResult:
    violations: list[Violation]
    reachable: list[Reach]
    matrix: Counter = field(default_factory=Counter)       # (source zone, this zone) -> count
    unreachable_declared: list = field(default_factory=list)


@dataclass
class VerifyState:
    """What a verification leaves for the next one (incremental re-verification)."""

    global_key: str
    global_violations: list[Violation]
    tenant_keys: dict[str, str]
    tenants: dict[str, TenantResult]


def _tenant_key(fabric: Fabric, tenant: str, declared_into: dict[str, list]) -> str:
    """The tenant's own inputs (attachments, routing and firewall are in the global key)."""
    rules = fabric.filter_digests.get(tenant) or json.dumps(fabric.filters.get(tenant, {}), sort_keys=True)
    return hashlib.sha256(f"{rules}|{declared_into.get(tenant, [])}".encode()).hexdigest()


def verify(fabric: Fabric, previous: VerifyState | None = None) -> Report:
    """Prove every invariant. With ``previous`` (the state of an earlier run) only tenants whose
    inputs changed — their rules, their declared flows, or a changed tenant their rules admit —
    are verified again, as long as routing, attachments and firewall are unchanged."""
    report = Report(fabric.variant, layers=fabric.layers)
    atts = fabric.attachments
    tenants = sorted(n for n, a in atts.items() if a["kind"] == "tenant")
    index = CidrIndex({n: a for n, a in atts.items() if a["kind"] in SOURCE_KINDS})
    exceptions = {k for k, reason in fabric.declared_reasons.items() if reason.startswith("exception:")}
    declared_into: dict[str, list] = {}
    for key in sorted(fabric.declared):
        declared_into.setdefault(key[1], []).append(key)
    keys = {t: _tenant_key(fabric, t, declared_into) for t in tenants}

    reuse = previous is not None and previous.global_key == fabric.global_key and fabric.global_key
    if reuse:
        global_violations = previous.global_violations
        changed = {t for t in tenants if previous.tenant_keys.get(t) != keys[t]}
        changed |= set(previous.tenant_keys) - set(tenants)
        spans = [span(c) for t in changed if t in atts for c in atts[t]["cidrs"]]
        todo = set(changed) & set(tenants)
        for t in tenants:
            if t in todo or not spans:
                continue
            for _, cidr, _, _, _, _ in _rules(fabric.filters.get(t, {})):
                lo, hi = span(cidr)
                if any(lo <= b and a <= hi for a, b in spans):
                    todo.add(t)
                    break
    else:
        global_violations = _routing_layer(fabric, tenants, index, exceptions)
        todo = set(tenants)
    results: dict[str, TenantResult] = {}
    for t in tenants:
        if reuse and t not in todo and t in previous.tenants:
            results[t] = previous.tenants[t]
        else:
            results[t] = _verify_tenant(fabric, t, index, exceptions, declared_into.get(t, []))
    report.checked_tables = len({fabric.associated[n] for n, a in atts.items() if a["kind"] in SOURCE_KINDS and n in fabric.associated})
    report.violations = sorted(set(global_violations) | {v for r in results.values() for v in r.violations},
                               key=lambda v: (v.invariant, v.layer, v.destination, v.source))
    for t in tenants:
        report.reachable.extend(results[t].reachable)
        report.matrix.update(results[t].matrix)
        report.unreachable_declared.extend(results[t].unreachable_declared)
    report.unreachable_declared.sort()
    if "effective" not in fabric.layers:   # routing only: say how much the routing connects
        report.routed_pairs = sum(1 for t in tenants for s in atts if s != t and atts[s]["kind"] in SOURCE_KINDS
                                  and fabric.route(s, t) is not None)
    report.state = VerifyState(fabric.global_key, global_violations, keys, results)
    report.reverified = len(todo)
    return report


def _routing_layer(fabric: Fabric, tenants: list[str], index: CidrIndex, exceptions: set) -> list[Violation]:
    """Zone invariants at the routing layer, once per (route table, source zone)."""
    atts = fabric.attachments
    out: list[Violation] = []
    for name, why in fabric.unattached:
        out.append(Violation("every-attachment-attached", "routing", name, name,
                             f"attachment {name} is not attached to the WAN: {why}", (f"{name}", why)))
    groups: dict[tuple[str, str], str] = {}
    for name in sorted(atts):
        a = atts[name]
        if a["kind"] in SOURCE_KINDS and name in fabric.associated:
            groups.setdefault((fabric.associated[name], a["zone"]), name)
    # Sites are destinations too: a mynumber LAN routed from another zone is as exposed as a tenant.
    mynumber_places = [n for n in tenants if atts[n]["zone"] == MYNUMBER] + sorted(
        n for n, a in atts.items() if a["kind"] == "site" and a["zone"] == MYNUMBER)
    for (table, zone), example in sorted(groups.items()):
        for t in mynumber_places:
            dst = atts[t]
            if zone == MYNUMBER:
                continue
            path = fabric.route_from_table(table, t)
            if path is None:
                continue
            place = f"{dst['kind']} {t}"
            hops = (f"{example} and every source in {table} ({zone} zone)",) + tuple(path.hops) + (place,)
            if not path.inspected:
                out.append(Violation(
                    "intake-crosses-inspection", "routing", example, t,
                    f"{zone}-zone sources in {table} route to mynumber {place} without crossing inspection", hops))
                if zone == INTERNET:
                    out.append(Violation(
                        "internet-never-reaches-mynumber", "routing", example, t,
                        f"internet-zone sources route to mynumber {place} directly", hops))
                continue
            if zone == INTERNET:
                # Through inspection only what every firewall on the path passes gets in; each must
                # be an exception. Candidates: the pass rules of those firewalls, then the whole
                # ordered evaluation for each candidate (a drop in front of a pass stops it).
                firewalls = [fabric.firewall_for(f) for f in path.functions]
                if any(fw is None or fw.default == "pass" for fw in firewalls):
                    why = "a network function on the path has no firewall modelled" if None in firewalls \
                        else "the firewall's default action passes traffic"
                    out.append(Violation("internet-never-reaches-mynumber", "routing", example, t,
                                         f"internet-zone sources in {table} reach mynumber {place} through "
                                         f"inspection: {why}", hops))
                    continue
                for fw in firewalls:
                    for rule in fw.rules:
                        if rule["action"] != "pass" or not any(overlaps(d, c) for d in rule["destinations"] for c in dst["cidrs"]):
                            continue
                        for src in {s for c in rule["sources"] for s in index.admitted(c)}:
                            if atts[src]["zone"] != INTERNET or fabric.associated.get(src) != table:
                                continue
                            for p in candidate_ports(rule["port"]):
                                key = (src, t, rule["protocol"], p)
                                if key in exceptions:
                                    continue
                                if fabric.firewall_passes(atts[src]["cidrs"][0], dst["cidrs"][0], rule["protocol"], p, path):
                                    out.append(Violation(
                                        "internet-never-reaches-mynumber", "routing", src, t,
                                        f"inspection rule {rule['id']} passes {src} to mynumber {place} "
                                        f"{rule['protocol']}/{p} without a declared exception", hops))
    # Isolation inside the mynumber zone (the zone isolates attachments: "routes only per declared
    # flow"): a table that mynumber sources use routes to a mynumber tenant only if one of those
    # sources has a declared flow with it, in either direction (replies need the route too).
    pairs = {(k[0], k[1]) for k in fabric.declared} | {(k[1], k[0]) for k in fabric.declared}
    # The inter-cloud link carries the other cloud's sources: it stands for them.
    for x, y, _, _ in fabric.declared:
        if x in atts and y in atts and atts[x]["cloud"] != atts[y]["cloud"]:
            pairs.add((f"intercloud-{atts[y]['cloud']}-{atts[y]['zone']}", y))
            pairs.add((f"intercloud-{atts[x]['cloud']}-{atts[x]['zone']}", x))
    members: dict[str, set[str]] = {}
    for name, a in atts.items():
        if a["kind"] in SOURCE_KINDS + ("intercloud",) and a["zone"] == MYNUMBER and name in fabric.associated:
            members.setdefault(fabric.associated[name], set()).add(name)
    partners: dict[str, set[str]] = {}
    for a, b in pairs:
        partners.setdefault(b, set()).add(a)
    mynumber_tenants = [t for t in tenants if atts[t]["zone"] == MYNUMBER]
    for table, sources in sorted(members.items()):
        for t in mynumber_tenants:
            if len(sources) - (t in sources) == 0:
                continue
            if any(p in sources and p != t for p in partners.get(t, ())):
                continue
            path = fabric.route_from_table(table, t)
            if path is not None:
                others = sources - {t}
                example = min(others)
                out.append(Violation("mynumber-isolation", "routing", example, t,
                                     f"mynumber sources in {table} ({', '.join(sorted(others)[:3])}"
                                     f"{', …' if len(others) > 3 else ''}) route to mynumber tenant {t}, "
                                     "and none of them has a declared flow with it",
                                     (f"{example} and every mynumber source in {table}",) + tuple(path.hops)))
    out += _isolation_off(fabric, pairs)
    # The other direction: a table that mynumber tenants use must not route to an internet-zone site
    # or tenant (externals are judged per tenant, in _verify_tenant) except through inspection.
    mynumber_tables = _mynumber_tables(fabric)
    internet = [n for n in sorted(atts) if atts[n]["zone"] == INTERNET and atts[n]["kind"] in ("site", "tenant")
                and atts[n]["cidrs"]]
    for table, example in sorted(mynumber_tables.items()):
        for dst in internet:
            path = fabric.route_from_table(table, dst)
            if path is not None and not path.inspected:
                out.append(Violation("mynumber-never-reaches-internet", "routing", example, dst,
                                     f"mynumber {'tenants' if atts[example]['kind'] == 'tenant' else 'sources'} in "
                                     f"{table} route to internet-zone {dst}",
                                     (f"{example} and every mynumber source in {table}",) + tuple(path.hops)))
    return out + _mynumber_to_internet(fabric, mynumber_tables)


def _isolation_off(fabric: Fabric, pairs: set) -> list[Violation]:
    """mynumber-isolation where the segment itself does not isolate: every attachment's prefixes
    propagate to every other attachment of the segment, whatever the static routes already say
    (the per-table check cannot tell: the declared flows' static routes reach every tenant). One
    violation per segment, naming a pair with no declared flow between them."""
    atts = fabric.attachments
    out: list[Violation] = []
    for table in fabric.unisolated:
        members = sorted(n for n, a in atts.items() if fabric.associated.get(n) == table and a["zone"] == MYNUMBER
                         and a["kind"] in ("tenant", "site"))
        pair = next(((a, b) for a in members for b in members if a != b and atts[b]["kind"] == "tenant"
                     and (a, b) not in pairs), None)
        if pair is None:
            continue
        a, b = pair
        route = atts[b]["cidrs"][0]
        out.append(Violation("mynumber-isolation", "routing", a, b,
                             f"segment {table.removeprefix('cloudwan:')} does not isolate its attachments "
                             f"(isolate-attachments false): {a} receives {b}'s routes with no declared flow between them",
                             (f"{a} (source)", f"route table {table}: {route} → {b} (propagated: isolate-attachments false)",
                              f"tenant {b}")))
    return out


def _mynumber_tables(fabric: Fabric) -> dict[str, str]:
    """The route tables mynumber tenants and sites use, each with an example source."""
    tables: dict[str, str] = {}
    for name in sorted(fabric.attachments):
        a = fabric.attachments[name]
        if a["zone"] == MYNUMBER and a["kind"] in ("tenant", "site") and name in fabric.associated:
            tables.setdefault(fabric.associated[name], name)
    return tables


def _mynumber_to_internet(fabric: Fabric, tables: dict[str, str]) -> list[Violation]:
    """mynumber-never-reaches-internet with the internet as a place (Fabric.internet_paths): no
    table a mynumber source uses may lead to the internet, and a path through inspection only
    if no firewall on it passes a mynumber source to a public address."""
    atts = fabric.attachments
    sources: dict[str, list[str]] = {}
    for name, a in atts.items():
        if a["zone"] == MYNUMBER and a["kind"] in ("tenant", "site") and fabric.associated.get(name) in tables:
            sources.setdefault(fabric.associated[name], []).append(name)
    out: list[Violation] = []
    for table, example in sorted(tables.items()):
        for path in fabric.internet_paths(table):
            if path.inspected:
                passed = next(((src, why) for src in sorted(sources[table]) for c in atts[src]["cidrs"]
                               for public in ("0.0.0.0/0", "::/0")
                               if (why := fabric.firewall_passes(c, public, "*", "*", path))), None)
                if passed is None:
                    continue
                example, why = passed
                message = f"mynumber source {example} in {table} reaches the internet through inspection: {why} passes it"
            else:
                message = f"mynumber sources in {table} route to the internet without inspection"
            out.append(Violation("mynumber-never-reaches-internet", "routing", example, "internet", message,
                                 (f"{example} and every mynumber source in {table}",) + tuple(path.hops)))
    return out


def _internet_externals(fabric: Fabric) -> list[str]:
    cached = fabric._cache.get("internet-externals")
    if cached is None:
        cached = fabric._cache["internet-externals"] = [n for n, a in fabric.attachments.items()
                                                         if a["kind"] == "external" and a["zone"] == INTERNET]
    return cached


def _verify_tenant(fabric: Fabric, t: str, index: CidrIndex, exceptions: set, declared_into: list) -> TenantResult:
    """Everything about one destination tenant: its own routes, its filters, what reaches it."""
    atts = fabric.attachments
    dst, entry = atts[t], fabric.filters.get(t, {})
    out: list[Violation] = []
    reachable: list[Reach] = []
    if dst["zone"] == MYNUMBER:
        for route in entry.get("routes", []):
            if route.get("leads") == "internet":
                out.append(Violation(
                    "mynumber-never-reaches-internet", "routing", t, "internet",
                    f"route table of mynumber tenant {t} sends {route['destination']} to {route['target']}",
                    (f"tenant {t}", f"VPC route {route['destination']} → {route['target']}", "internet")))
        for ext in _internet_externals(fabric):
            path = fabric.route(t, ext)
            if path is not None and not path.inspected:
                out.append(Violation("mynumber-never-reaches-internet", "routing", t, ext,
                                     f"mynumber tenant {t} routes to internet source {ext}", tuple(path.hops)))
        # filtering layer on its own
        for group, cidr, proto, port, _, upto in _rules(entry):
            where = (f"{group}: {cidr} {proto}/{port}", f"tenant {t}")
            if not admits(entry, "Internet" if is_internet(cidr) else cidr, dst["cidrs"][0], proto, port, upto):
                continue
            if is_internet(cidr):
                out.append(Violation("internet-never-reaches-mynumber", "filtering", cidr, t,
                                     f"{group} of mynumber tenant {t} admits {cidr} (the internet)", where))
                continue
            for src in index.admitted(cidr):
                if atts[src]["zone"] == INTERNET and (src, t, proto, port) not in exceptions \
                        and admits(entry, atts[src]["cidrs"][0], dst["cidrs"][0], proto, port, upto):
                    out.append(Violation("internet-never-reaches-mynumber", "filtering", src, t,
                                         f"{group} of mynumber tenant {t} admits internet-zone {src} ({cidr} {proto}/{port})", where))
        leak = _internet_egress(entry)
        if leak:
            out.append(Violation("mynumber-never-reaches-internet", "filtering", t, "internet",
                                 f"{leak} of mynumber tenant {t} lets it send to the internet", (f"tenant {t}", leak)))
    # effective reachability: municipality separation and least privilege
    served = set(dst["municipalities"])
    for group, cidr, proto, port, description, upto in _rules(entry):
        for src in index.admitted(cidr):
            if src == t:
                continue
            a = atts[src]
            table = fabric.associated.get(src)
            path = fabric.route_from_table(table, t) if table else None
            if path is None:
                continue
            if not admits(entry, a["cidrs"][0], dst["cidrs"][0], proto, port, upto):
                continue  # an NSG rule of higher priority decides otherwise
            if path.inspected and not fabric.firewall_passes(a["cidrs"][0], dst["cidrs"][0], proto, port, path):
                continue
            if a["kind"] == "tenant" and not _egress_allows(fabric.filters.get(src, {}), dst["cidrs"][0], proto, port,
                                                            a["cidrs"][0]):
                continue
            reach = Reach(src, t, proto, port, path, f"{group}: {cidr} {proto}/{port} {description}".rstrip())
            reachable.append(reach)
            if (src, t, proto, port) not in fabric.declared:
                out.append(Violation("least-privilege", "effective", src, t,
                                     f"{src} reaches {t} on {proto}/{port}, which nothing declares (excess reachability)",
                                     reach.path))
            municipalities = set(a["municipalities"])
            if a["kind"] == "site" and not municipalities <= served:
                out.append(Violation("municipality-separation", "effective", src, t,
                                     f"site of {', '.join(sorted(municipalities))} reaches {t}, which serves "
                                     f"{', '.join(sorted(served))}", reach.path))
            elif a["kind"] == "tenant" and municipalities and not municipalities & served:
                out.append(Violation("municipality-separation", "effective", src, t,
                                     f"{src} (serving {', '.join(sorted(municipalities))}) reaches {t}, which serves none of them",
                                     reach.path))
    matrix = Counter((atts[r.source]["zone"], dst["zone"]) for r in reachable)
    by_key = {(r.source, r.destination, r.protocol, r.port): r for r in reachable}
    got = set(by_key)
    # A declared flow that does not get through is a failure (an outage the proof must not hide),
    # unless the declaration says it is expected to be blocked; one that is, must not get through.
    blocked = []
    for d in declared_into:
        if d in fabric.expected_blocked:
            if d in got:
                reach = by_key[d]
                out.append(Violation("declared-flows-get-through", "effective", d[0], t,
                                     f"{d[0]} reaches {t} on {d[2]}/{d[3]}, which is declared as expected to be blocked",
                                     reach.path))
            continue
        if d in got and not by_key[d].route.certain:
            reach = by_key[d]
            blocked.append(d)
            out.append(Violation("declared-flows-get-through", "effective", d[0], t,
                                 f"declared flow {d[0]} → {t} {d[2]}/{d[3]} may not get through: a route on the way "
                                 "sends part of it elsewhere", reach.path))
            continue
        if d not in got and not _got_by_wildcard(d, got):
            blocked.append(d)
            out.append(Violation("declared-flows-get-through", "effective", d[0], t,
                                 f"declared flow {d[0]} → {t} {d[2]}/{d[3]} does not get through",
                                 tuple(explain(fabric, d[0], t, d[3] if d[3] != "*" else None))))
    return TenantResult(out, reachable, matrix, blocked)


def _got_by_wildcard(d: tuple, got: set) -> bool:
    return (d[0], d[1], d[2], "*") in got or (d[0], d[1], "*", d[3]) in got or (d[0], d[1], "*", "*") in got


def explain(fabric: Fabric, source: str, destination: str, port: int | None = None) -> list[str]:
    """Hop-by-hop account of whether `source` reaches `destination` (and on which ports)."""
    atts = fabric.attachments
    for name in (source, destination):
        if name not in atts:
            close = sorted(n for n in atts if name in n)[:5]
            raise KeyError(f"no attachment {name!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    lines = [f"{source} ({atts[source]['kind']}, {atts[source]['zone']} zone, {atts[source]['cloud']}) → "
             f"{destination} ({atts[destination]['kind']}, {atts[destination]['zone']} zone, {atts[destination]['cloud']})"]
    path = fabric.route(source, destination)
    if path is None:
        lines.append("routing: no route — the WAN does not connect them")
        return lines
    lines += [f"  {i + 1}. {hop}" for i, hop in enumerate(path.hops)]
    entry = fabric.filters.get(destination, {})
    src_cidr, dst_cidr = atts[source]["cidrs"][0], atts[destination]["cidrs"][0]
    matched = False
    for group, cidr, proto, rport, description, upto in _rules(entry):
        if port is not None and rport not in (port, "*"):
            continue
        if not overlaps(cidr, src_cidr):
            continue
        verdict = "allowed"
        if not admits(entry, src_cidr, dst_cidr, proto, rport, upto):
            verdict = "denied by a filtering rule of higher priority"
        elif path.inspected and not fabric.firewall_passes(src_cidr, dst_cidr, proto, rport, path):
            verdict = "dropped by the inspection firewall"
        elif atts[source]["kind"] == "tenant" and not _egress_allows(fabric.filters.get(source, {}), dst_cidr, proto, rport,
                                                                     src_cidr):
            verdict = "dropped by the source's egress rules"
        declared = fabric.declared_reasons.get((source, destination, proto, rport))
        lines.append(f"  filter: {group}: {cidr} {proto}/{rport} {description} → {verdict}"
                     + (f" (declared: {declared})" if declared else " (NOT declared)"))
        matched = True
    if not matched:
        lines.append(f"  filter: no rule of {destination} admits {src_cidr}" + (f" on port {port}" if port else "")
                     + " → dropped")
    return lines


def matrix_lines(report: Report, zones: list[str]) -> list[str]:
    width = max(len(z) for z in zones) + 2
    lines = ["reachable (source → tenant) pairs by zone:", " " * width + "".join(z.rjust(width) for z in zones)]
    for src in zones:
        lines.append(src.ljust(width) + "".join(str(report.matrix.get((src, dst), 0)).rjust(width) for dst in zones))
    return lines

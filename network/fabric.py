"""Read compiled configuration back into one routing fabric, whatever the target.

The verifier never sees the intent. Each reader turns a cloud's own configuration into route
tables (longest-prefix match, next hop = an attachment, the inspection function, the inter-cloud
link, or a blackhole) and records which table each attachment is associated with:

- Cloud WAN: one table per segment. Attachments land in segments by the attachment policies
  over their tags. A table holds the segment's own attachment routes (unless the segment
  isolates attachments), routes shared in by `share`, routes of `send-via` peers pointing at the
  inspection function, and `create-route` static routes.
- Transit Gateway: route tables with associations, propagations and static routes.
- Azure Virtual WAN: hub route tables with propagations and static routes; each connection is
  associated with one table.

Attachments that share a table see the same routes, so the verifier works per table, not per
attachment: linear in attachments.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.diagnostics import UsageError
from govcloud.network.cidr import ANY_NAMES, overlaps, prefix_length, span

BLACKHOLE = "blackhole"


@dataclass
class Table:
    """Routes by prefix. Two routes for the same prefix (a share and a send-via, say) are both
    kept: which one a cloud prefers is not something a proof may assume, so every candidate is
    explored and the least safe one counts."""

    name: str
    by_length: dict[int, dict[int, list[tuple[str, str]]]] = field(default_factory=dict)

    def add(self, cidr: str, target: str) -> None:
        length = prefix_length(cidr)
        candidates = self.by_length.setdefault(length, {}).setdefault(span(cidr)[0], [])
        if (target, cidr) not in candidates:
            candidates.append((target, cidr))

    def lookup(self, cidr: str) -> list[tuple[str, str]]:
        """Longest-prefix match for a destination network: every route of the best prefix."""
        address, own_length = span(cidr)[0], prefix_length(cidr)
        for length in sorted(self.by_length, reverse=True):
            if length > own_length:
                continue
            key = address & (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF if length else 0
            hit = self.by_length[length].get(key)
            if hit:
                return hit
        return []

    def __len__(self) -> int:
        return sum(len(v) for d in self.by_length.values() for v in d.values())


@dataclass
class Path_:
    hops: list[str]
    inspected: bool


@dataclass
class Fabric:
    variant: str                                  # "aws-cloudwan+azure-vwan" etc.
    attachments: dict[str, dict]
    tables: dict[str, Table]
    associated: dict[str, str]
    peers: dict[str, str]
    firewall: dict
    filters: dict[str, dict]
    declared: set[tuple[str, str, str, int]]
    declared_reasons: dict[tuple[str, str, str, int], str]
    global_key: str = ""                          # hash of routing, attachments, firewall: see verify's reuse
    filter_digests: dict[str, str] = field(default_factory=dict)  # tenant -> hash of its tenants.json entry
    _cache: dict = field(default_factory=dict)

    def route(self, source: str, destination: str) -> Path_ | None:
        table = self.associated.get(source)
        if table is None:
            return None
        found = self.route_from_table(table, destination)
        if found is None:
            return None
        return Path_([f"{source} ({self.attachments.get(source, {}).get('kind', 'attachment')})"] + found.hops, found.inspected)

    def route_from_table(self, table: str, destination: str) -> Path_ | None:
        key = (table, destination)
        if key not in self._cache:
            self._cache[key] = self._walk(table, destination)
        return self._cache[key]

    def _walk(self, table: str, destination: str) -> Path_ | None:
        """A path to the destination if any exists; an uninspected one if any exists."""
        cidr = self.attachments[destination]["cidrs"][0]
        found: list[Path_] = []

        def explore(table: str, hops: list[str], inspected: bool, seen: frozenset) -> None:
            if table in seen or table not in self.tables:
                return
            for target, route in self.tables[table].lookup(cidr):
                step = hops + [f"route table {table}: {route} → {target}"]
                if target == destination:
                    found.append(Path_(step, inspected))
                elif target.startswith("inspection-") and target in self.associated:
                    explore(self.associated[target], step + [f"inspection function {target} (firewall)"], True,
                            seen | {table})
                elif target.startswith("intercloud-") and target in self.peers:
                    peer = self.peers[target]
                    explore(self.associated.get(peer, ""), step + [f"inter-cloud link {target} ⇄ {peer}"], inspected,
                            seen | {table})
                # anything else: a blackhole, or a route to another attachment: no path this way

        explore(table, [], False, frozenset())
        if not found:
            return None
        return next((p for p in found if not p.inspected), found[0])

    def firewall_passes(self, src_cidr: str, dst_cidr: str, protocol: str, port: int) -> str | None:
        for rule in self.firewall.get("rules", []):
            if rule["protocol"] not in (protocol, "*") or rule["port"] not in (port, "*"):
                continue
            if any(overlaps(s, src_cidr) for s in rule["sources"]) and any(overlaps(d, dst_cidr) for d in rule["destinations"]):
                return rule["id"]
        return None


class CidrIndex:
    """Which attachments does a rule's source range admit? Sorted intervals, O(log n + hits)."""

    def __init__(self, attachments: dict[str, dict]):
        entries = []
        for name, a in attachments.items():
            for cidr in a["cidrs"]:
                first, last = span(cidr)
                entries.append((first, last, name))
        entries.sort()
        self.starts = [e[0] for e in entries]
        self.entries = entries
        self.max_span = max((e[1] - e[0] for e in entries), default=0)

    @functools.lru_cache(maxsize=65536)
    def admitted(self, cidr: str) -> tuple[str, ...]:
        if cidr in ANY_NAMES:
            return tuple(sorted({e[2] for e in self.entries}))
        lo, hi = span(cidr)
        i = bisect.bisect_right(self.starts, hi)
        out = []
        while i > 0:
            i -= 1
            start, end, name = self.entries[i]
            if end < lo and start < lo - self.max_span:
                break
            if start <= hi and end >= lo:
                out.append(name)
        return tuple(sorted(set(out)))


# --- loading ---------------------------------------------------------------------------------------------------


GLOBAL_FILES = ("attachments.json", "intercloud.json", "firewall.json", "aws-cloudwan/core-network-policy.json",
                "aws-tgw/transit-gateway.json", "azure-vwan/virtual-wan.json")


def _read(directory: Path, name: str, digests: dict | None = None):
    path = directory / name
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        if digests is not None:
            digests[name] = hashlib.sha256(text.encode()).hexdigest()
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None


def load_fabrics(directory: Path) -> list[Fabric]:
    """One fabric per AWS routing target present (Cloud WAN, Transit Gateway), each joined with
    the Azure side when compiled."""
    digests: dict[str, str] = {}
    attachments_doc = _read(directory, "attachments.json", digests)
    if attachments_doc is None:
        raise UsageError(f"{directory} holds no compiled configuration (no attachments.json); run govcloud network compile")
    attachments = {a["name"]: a for a in attachments_doc}
    intercloud = _read(directory, "intercloud.json", digests) or {"links": []}
    for link in intercloud["links"]:
        z = link["zone"]
        attachments[link["aws"]] = {"name": link["aws"], "kind": "intercloud", "zone": z, "cloud": "aws",
                                    "cidrs": _cidrs(attachments, "azure", z), "municipalities": [], "tags": {"segment": z}}
        attachments[link["azure"]] = {"name": link["azure"], "kind": "intercloud", "zone": z, "cloud": "azure",
                                      "cidrs": _cidrs(attachments, "aws", z), "municipalities": [], "tags": {"segment": z}}
    for cloud in ("aws", "azure"):
        attachments[f"inspection-{cloud}"] = {"name": f"inspection-{cloud}", "kind": "inspection", "zone": "inspection",
                                              "cloud": cloud, "cidrs": [], "municipalities": [],
                                              "tags": {"network-function": "inspection"}}
    peers = {}
    for link in intercloud["links"]:
        peers[link["aws"]] = link["azure"]
        peers[link["azure"]] = link["aws"]
    firewall = _read(directory, "firewall.json", digests) or {"defaultAction": "drop", "rules": []}
    filters = _read(directory, "tenants.json") or {}
    filter_digests = _entry_digests(directory / "tenants.json", filters)
    declared_doc = _read(directory, "declared-flows.json") or []
    declared = {(f["source"], f["destination"], f["protocol"], f["port"]) for f in declared_doc}
    reasons = {(f["source"], f["destination"], f["protocol"], f["port"]): f["reason"] for f in declared_doc}

    azure_tables, azure_assoc = {}, {}
    vwan = _read(directory, "azure-vwan/virtual-wan.json", digests)
    if vwan is not None:
        azure_tables, azure_assoc = read_vwan(vwan, attachments)
    variants = []
    cloudwan = _read(directory, "aws-cloudwan/core-network-policy.json", digests)
    if cloudwan is not None:
        tables, assoc = read_cloudwan(cloudwan, attachments)
        variants.append(("aws-cloudwan", tables, assoc))
    tgw = _read(directory, "aws-tgw/transit-gateway.json", digests)
    if tgw is not None:
        tables, assoc = read_tgw(tgw, attachments)
        variants.append(("aws-tgw", tables, assoc))
    if not variants and vwan is None:
        raise UsageError(f"{directory} holds no routing configuration (aws-cloudwan/, aws-tgw/ or azure-vwan/)")
    if not variants:
        variants.append(("", {}, {}))
    fabrics = []
    for name, tables, assoc in variants:
        label = "+".join(x for x in (name, "azure-vwan" if vwan is not None else "") if x)
        key_files = [f for f in GLOBAL_FILES if f in digests and not (f.startswith("aws-") and not f.startswith(name))]
        global_key = hashlib.sha256("".join(f"{f}:{digests[f]}" for f in key_files).encode()).hexdigest()
        fabrics.append(Fabric(label, attachments, {**tables, **azure_tables}, {**assoc, **azure_assoc}, peers,
                              firewall, filters, declared, reasons, global_key, filter_digests))
    return fabrics


def _entry_digests(path: Path, filters: dict) -> dict[str, str]:
    """Per-tenant hashes from the file's lines: compiled files hold one tenant per line, so
    nothing needs re-serialising. A hand-formatted file falls back to canonical JSON."""
    if not path.exists():
        return {}
    digests = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(' "') and '": {' in line:
            name = line[2:line.index('": {')]  # tenant names are DNS labels: no escapes
            digests[name] = hashlib.sha256(line.rstrip(",").encode()).hexdigest()
    if set(digests) != set(filters):
        digests = {name: hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
                   for name, entry in filters.items()}
    return digests


def _cidrs(attachments: dict[str, dict], cloud: str, zone: str) -> list[str]:
    return sorted({c for a in attachments.values() if a.get("cloud") == cloud and a.get("zone") == zone
                   and a.get("kind") in ("tenant", "site", "external") for c in a["cidrs"]})


def read_cloudwan(policy: dict, attachments: dict[str, dict]) -> tuple[dict[str, Table], dict[str, str]]:
    segments = {s["name"]: s for s in policy.get("segments", [])}
    rules = sorted(policy.get("attachment-policies", []), key=lambda r: r["rule-number"])
    members: dict[str, list[str]] = {name: [] for name in segments}
    nfg_members: dict[str, list[str]] = {}
    assoc: dict[str, str] = {}
    for name, a in attachments.items():
        if a.get("cloud") != "aws":
            continue
        for rule in rules:
            if _matches(rule, a.get("tags", {})):
                action = rule["action"]
                if "segment" in action and action["segment"] in segments:
                    members[action["segment"]].append(name)
                    assoc[name] = f"cloudwan:{action['segment']}"
                elif "add-to-network-function-group" in action:
                    group = action["add-to-network-function-group"]
                    nfg_members.setdefault(group, []).append(name)
                    assoc[name] = f"cloudwan-nfg:{group}"
                break
    tables = {f"cloudwan:{s}": Table(f"cloudwan:{s}") for s in segments}
    for group in nfg_members:
        tables[f"cloudwan-nfg:{group}"] = Table(f"cloudwan-nfg:{group}")

    def attachment_routes(segment: str) -> list[tuple[str, str]]:
        return [(c, m) for m in members.get(segment, []) for c in attachments[m]["cidrs"]]

    for name, seg in segments.items():
        if not seg.get("isolate-attachments"):
            for cidr, target in attachment_routes(name):
                tables[f"cloudwan:{name}"].add(cidr, target)
    for action in policy.get("segment-actions", []):
        kind = action.get("action")
        if kind == "create-route":
            table = tables.get(f"cloudwan:{action['segment']}")
            if table is None:
                continue
            for cidr in action.get("destination-cidr-blocks", []):
                for dest in action.get("destinations", []):
                    table.add(cidr, BLACKHOLE if dest == BLACKHOLE else dest.removeprefix("attachment:"))
        elif kind == "share":
            a = action["segment"]
            others = action.get("share-with", [])
            if others == "*":
                others = [s for s in segments if s != a]
            for b in others:
                for cidr, target in attachment_routes(a):
                    tables[f"cloudwan:{b}"].add(cidr, target)
                for cidr, target in attachment_routes(b):
                    tables[f"cloudwan:{a}"].add(cidr, target)
        elif kind == "send-via":
            a = action["segment"]
            groups = action.get("via", {}).get("network-function-groups", [])
            for b in action.get("when-sent-to", {}).get("segments", []):
                for group in groups:
                    function = next(iter(nfg_members.get(group, [])), None)
                    if function is None:
                        continue
                    for cidr, _ in attachment_routes(b):
                        tables[f"cloudwan:{a}"].add(cidr, function)
                    for cidr, _ in attachment_routes(a):
                        tables[f"cloudwan:{b}"].add(cidr, function)
                    for seg in (a, b):
                        for cidr, target in attachment_routes(seg):
                            tables[f"cloudwan-nfg:{group}"].add(cidr, target)
    return tables, assoc


def _matches(rule: dict, tags: dict) -> bool:
    results = []
    for cond in rule.get("conditions", []):
        if cond.get("type") == "tag-value":
            results.append(tags.get(cond["key"]) == cond["value"] if cond.get("operator", "equals") == "equals" else False)
        elif cond.get("type") == "tag-exists":
            results.append(cond["key"] in tags)
        else:
            results.append(False)
    return any(results) if rule.get("condition-logic", "or") == "or" else all(results)


def _table_with_propagations(name: str, routes: list[dict], propagations: list[str], attachments: dict[str, dict],
                             hop_key: str) -> Table:
    table = Table(name)
    for route in routes:  # static routes win over propagated ones of the same prefix
        table.add(route["destination"], route[hop_key])
    for member in propagations:
        for cidr in attachments.get(member, {}).get("cidrs", []):
            table.add(cidr, member)
    return table


def read_tgw(doc: dict, attachments: dict[str, dict]) -> tuple[dict[str, Table], dict[str, str]]:
    tables = {f"tgw:{name}": _table_with_propagations(f"tgw:{name}", t.get("routes", []), t.get("propagations", []),
                                                      attachments, "target")
              for name, t in doc.get("routeTables", {}).items()}
    return tables, {a: f"tgw:{t}" for a, t in doc.get("associations", {}).items()}


def read_vwan(doc: dict, attachments: dict[str, dict]) -> tuple[dict[str, Table], dict[str, str]]:
    tables = {f"vwan:{name}": _table_with_propagations(f"vwan:{name}", t.get("routes", []), t.get("propagations", []),
                                                       attachments, "nextHop")
              for name, t in doc.get("hubRouteTables", {}).items()}
    assoc = {name: f"vwan:{c['associatedRouteTable']}" for name, c in doc.get("connections", {}).items()}
    return tables, assoc

"""One routing and filtering model, whatever the source (compiled files, plan documents, a native
Cloud WAN policy, live state).

The model: route tables (longest-prefix match, then static over propagated; next hop = an
attachment, a network function, the inter-cloud link or a blackhole), which table each
attachment is associated with, the network functions with their firewalls, and each tenant's
filters (security groups, NSGs, egress, its own VPC/VNet routes). Readers for each cloud feature
live in ``network/readers.py``; they model every field they meet or refuse it by name
(``network/errors.py``).

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

from govcloud.network.cidr import ANY_NAMES, CidrError, V6_BASE, contains, family_bits, overlaps, prefix_length, span
from govcloud.network.errors import NetworkInputError

BLACKHOLE = "blackhole"


@dataclass
class Table:
    """Routes by prefix, per address family.

    Route selection, as the clouds document it: the most specific route first; for the same
    prefix a static route wins over a propagated one ("Static routes take precedence over
    propagated routes with the same destination", AWS Transit Gateway; Cloud WAN route
    evaluation: "1. The most specific route ... 2. ... Static routes"; Virtual WAN: static routes
    in a hub route table are preferred over propagated routes of the same prefix). Several routes
    of the same prefix and origin are all kept: which one a cloud picks (ECMP or "a
    deterministically random manner") is not something a proof may assume, so every candidate is
    explored and the least safe one counts."""

    name: str
    by_family: dict[int, dict[int, dict[int, list[tuple[str, str, bool]]]]] = field(default_factory=dict)

    def add(self, cidr: str, target: str, static: bool = False) -> None:
        if cidr in ANY_NAMES:
            self.add("0.0.0.0/0", target, static)
            self.add("::/0", target, static)
            return
        bits, length = family_bits(cidr), prefix_length(cidr)
        key = self._key(span(cidr)[0], bits, length)
        candidates = self.by_family.setdefault(bits, {}).setdefault(length, {}).setdefault(key, [])
        if (target, cidr, static) not in candidates:
            candidates.append((target, cidr, static))

    @staticmethod
    def _key(first: int, bits: int, length: int) -> int:
        value = first - V6_BASE if bits == 128 else first
        return value >> (bits - length) if length else 0

    def lookup(self, cidr: str) -> list[tuple[str, str]]:
        """Where traffic to a destination network can go: the preferred routes of the longest
        prefix that covers it, and the preferred routes of every more specific prefix inside it
        (part of the destination follows those)."""
        bits, own_length = family_bits(cidr), prefix_length(cidr)
        if bits == 0:  # "*": no single destination family; look both up, least safe counts
            return self.lookup("0.0.0.0/0") + self.lookup("::/0")
        lengths = self.by_family.get(bits, {})
        first, last = span(cidr)
        out: list[tuple[str, str]] = []
        for length in sorted(lengths, reverse=True):
            if length > own_length:
                keys = self._sorted_keys(bits, length)
                lo, hi = self._key(first, bits, length), self._key(last, bits, length)
                for key in keys[bisect.bisect_left(keys, lo):bisect.bisect_right(keys, hi)]:
                    out += self._preferred(lengths[length][key])
                continue
            hit = lengths[length].get(self._key(first, bits, length))
            if hit:
                return out + self._preferred(hit)
        return out

    @staticmethod
    def _preferred(hit: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
        static = [(t, c) for t, c, s in hit if s]
        return static or [(t, c) for t, c, _ in hit]

    def _sorted_keys(self, bits: int, length: int) -> list[int]:
        cache = self.__dict__.setdefault("_keys", {})
        keys = cache.get((bits, length))
        if keys is None or len(keys) != len(self.by_family[bits][length]):
            keys = cache[(bits, length)] = sorted(self.by_family[bits][length])
        return keys

    def __len__(self) -> int:
        return sum(len(v) for fam in self.by_family.values() for d in fam.values() for v in d.values())


@dataclass
class Path_:
    hops: list[str]
    inspected: bool
    functions: tuple[str, ...] = ()
    certain: bool = True     # no route candidate on the way leads anywhere else (blackhole, elsewhere, none)


# --- firewalls --------------------------------------------------------------------------------------------------


@dataclass
class Firewall:
    """Ordered rules, first match wins, then the default action.

    AWS Network Firewall with strict rule order: "rules are processed in the order you define";
    a `pass`, `drop` or `reject` rule that matches ends evaluation, `alert` logs and evaluation
    continues; a packet no rule matches gets the policy's stateful default action (`aws:drop_strict`
    drops). Azure Firewall: rule collection groups and collections by priority (lower first),
    the first rule that matches applies its collection's action (Allow or Deny); traffic no rule
    allows is denied. Both become this list (see readers.py)."""

    rules: list[dict]
    default: str = "drop"      # "drop" or "pass"
    name: str = "firewall"

    def passes(self, src: str, dst: str, protocol: str, port) -> str | None:
        """The id of what lets (src, dst, protocol, port) through, or None. Least safe: a pass
        rule counts when it overlaps the traffic; a drop rule only stops what it fully covers."""
        for rule in self.rules:
            if rule["action"] == "alert":
                continue
            if rule["action"] == "pass":
                if _proto_ok(rule["protocol"], protocol) and _port_overlaps(rule["port"], port) \
                        and any(overlaps(s, src) for s in rule["sources"]) \
                        and any(overlaps(d, dst) for d in rule["destinations"]):
                    return rule["id"]
            else:  # drop / reject
                if rule["protocol"] in ("*", protocol) and _port_covers(rule["port"], port) \
                        and any(contains(s, src) for s in rule["sources"]) \
                        and any(contains(d, dst) for d in rule["destinations"]):
                    return None
        return f"{self.name} default action pass" if self.default == "pass" else None


def _proto_ok(rule_proto: str, proto: str) -> bool:
    return rule_proto in ("*", proto) or proto == "*"


def _port_overlaps(rule_port, port) -> bool:
    if rule_port == "*" or port == "*":
        return True
    if isinstance(rule_port, tuple):
        return rule_port[0] <= port <= rule_port[1]
    return rule_port == port


def _port_covers(rule_port, port) -> bool:
    if rule_port == "*":
        return True
    if port == "*":
        return False
    if isinstance(rule_port, tuple):
        return rule_port[0] <= port <= rule_port[1]
    return rule_port == port


@dataclass
class Fabric:
    variant: str                                  # "aws-cloudwan+azure-vwan" etc.
    attachments: dict[str, dict]
    tables: dict[str, Table]
    associated: dict[str, str]
    peers: dict[str, str]
    firewall: dict | Firewall                     # the default firewall of every network function
    filters: dict[str, dict]
    declared: set[tuple[str, str, str, int]]
    declared_reasons: dict[tuple[str, str, str, int], str]
    global_key: str = ""                          # hash of routing, attachments, firewall: see verify's reuse
    filter_digests: dict[str, str] = field(default_factory=dict)  # tenant -> hash of its tenants.json entry
    functions: dict[str, str] = field(default_factory=dict)       # function attachment -> firewall name
    firewalls: dict[str, Firewall] = field(default_factory=dict)
    expected_blocked: set = field(default_factory=set)
    unattached: list[tuple[str, str]] = field(default_factory=list)  # (attachment, why)
    layers: tuple[str, ...] = ("routing", "filtering", "effective")   # what the input lets the proof judge
    _cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.firewall, Firewall):
            from govcloud.network.readers import read_firewall

            self.firewall = read_firewall(self.firewall or {"defaultAction": "drop", "rules": []}, "firewall.json")
        for name, a in self.attachments.items():
            if a.get("kind") == "inspection" and name not in self.functions:
                self.functions[name] = "default"
        self.firewalls.setdefault("default", self.firewall)

    def is_function(self, name: str) -> bool:
        return name in self.functions

    def route(self, source: str, destination: str) -> Path_ | None:
        table = self.associated.get(source)
        if table is None:
            return None
        found = self.route_from_table(table, destination)
        if found is None:
            return None
        return Path_([f"{source} ({self.attachments.get(source, {}).get('kind', 'attachment')})"] + found.hops,
                     found.inspected, found.functions)

    def route_from_table(self, table: str, destination: str) -> Path_ | None:
        key = (table, destination)
        if key not in self._cache:
            self._cache[key] = self._walk(table, destination)
        return self._cache[key]

    def _walk(self, table: str, destination: str) -> Path_ | None:
        """A path to the destination if any exists; an uninspected one if any exists."""
        cidrs = self.attachments[destination]["cidrs"]
        if not cidrs:
            return None
        found: list[Path_] = []
        dead: list[str] = []

        def explore(table: str, hops: list[str], functions: tuple, seen: frozenset) -> None:
            if table in seen:
                return
            if table not in self.tables:
                dead.append(f"no route table {table}")
                return
            candidates = [(target, route) for cidr in cidrs for target, route in self.tables[table].lookup(cidr)]
            if not candidates:
                dead.append(f"route table {table}: no route")
            for target, route in candidates:
                step = hops + [f"route table {table}: {route} → {target}"]
                if target == destination:
                    found.append(Path_(step, bool(functions), functions))
                elif target in self.functions and target in self.associated:
                    explore(self.associated[target], step + [f"inspection function {target} (network function, firewall {self.functions[target]})"],
                            functions + (target,), seen | {table})
                elif target.startswith("intercloud-") and target in self.peers:
                    peer = self.peers[target]
                    explore(self.associated.get(peer, ""), step + [f"inter-cloud link {target} ⇄ {peer}"], functions,
                            seen | {table})
                else:  # a blackhole, or a route to another attachment: no path this way
                    dead.append(step[-1])

        explore(table, [], (), frozenset())
        if not found:
            return None
        best = next((p for p in found if not p.inspected), found[0])
        if dead:
            return Path_(best.hops + [f"(part of the traffic goes elsewhere: {dead[0]})"], best.inspected, best.functions,
                         False)
        return best

    def firewall_for(self, function: str) -> Firewall | None:
        return self.firewalls.get(self.functions.get(function, ""))

    def firewall_passes(self, src_cidr: str, dst_cidr: str, protocol: str, port, path: Path_ | None = None) -> str | None:
        """What lets the traffic through every network function on the path (the default
        firewall when no path is given). A function without a known firewall passes everything."""
        functions = path.functions if path is not None else ()
        if not functions:
            return self.firewall.passes(src_cidr, dst_cidr, protocol, port)
        reasons = []
        for function in functions:
            fw = self.firewall_for(function)
            if fw is None:
                reasons.append(f"{function} (no firewall modelled: passes everything)")
                continue
            got = fw.passes(src_cidr, dst_cidr, protocol, port)
            if got is None:
                return None
            reasons.append(got)
        return ", ".join(reasons)


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


# --- loading compiled folders --------------------------------------------------------------------------------


GLOBAL_FILES = ("attachments.json", "intercloud.json", "firewall.json", "aws-cloudwan/core-network-policy.json",
                "aws-tgw/transit-gateway.json", "azure-vwan/virtual-wan.json")
TARGET_FILES = {"aws-cloudwan": "aws-cloudwan/core-network-policy.json", "aws-tgw": "aws-tgw/transit-gateway.json",
                "azure-vwan": "azure-vwan/virtual-wan.json"}
REQUIRED_FILES = ("attachments.json", "tenants.json", "firewall.json", "intercloud.json", "declared-flows.json")


def _read(directory: Path, name: str, digests: dict | None = None, required: bool = False):
    path = directory / name
    if not path.exists():
        if required:
            why = (f"manifest.json lists its target" if name in TARGET_FILES.values() else
                   f"a compiled folder holds {', '.join(REQUIRED_FILES)}")
            raise NetworkInputError(str(path), "", f"missing: no compiled configuration without it ({why}); "
                                                   "run govcloud network compile")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise NetworkInputError(str(path), "", f"cannot read: {exc}") from None
    if digests is not None:
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    return parse_json(text, path)


def parse_json(text: str, path: Path):
    """JSON of a network input file, or a NetworkInputError naming the file, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NetworkInputError(f"{path}:{exc.lineno}:{exc.colno}", "", f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise NetworkInputError(str(path), "", "nested too deeply") from None


def load_fabrics(directory: Path) -> list[Fabric]:
    """One fabric per AWS routing target present (Cloud WAN, Transit Gateway), each joined with
    the Azure side when compiled. Every file a compiled folder must hold is required."""
    digests: dict[str, str] = {}
    manifest = _read(directory, "manifest.json")
    targets = manifest.get("targets") if isinstance(manifest, dict) else None
    if manifest is not None and (not isinstance(targets, list) or not all(t in TARGET_FILES for t in targets)):
        raise NetworkInputError(str(directory / "manifest.json"), "$.targets",
                                f"targets must be a list of {', '.join(TARGET_FILES)}")
    # What the manifest says was compiled must be there: a missing policy file is an error, not a
    # variant quietly left out.
    wanted = {TARGET_FILES[t] for t in targets or []}
    docs = {name: _read(directory, name, digests, required=name in REQUIRED_FILES or name in wanted)
            for name in REQUIRED_FILES + GLOBAL_FILES[3:]}
    prefix = str(directory).rstrip("/") + "/"
    return fabrics_from_documents(docs, digests, source_prefix=prefix,
                                  filter_digests=_entry_digests(directory / "tenants.json", docs["tenants.json"]))


def fabrics_from_documents(docs: dict[str, object], digests: dict[str, str] | None = None, *, source_prefix: str = "",
                           filter_digests: dict[str, str] | None = None, synthetic_functions: bool = True,
                           names: dict[str, str] | None = None,
                           layers: tuple[str, ...] = ("routing", "filtering", "effective")) -> list[Fabric]:
    """The model from documents in the compiled files' shapes (name → parsed JSON), whoever wrote
    them: the compiler, the plan reader, the native-policy loader or the live readers."""
    try:
        return _fabrics_from_documents(docs, digests, source_prefix=source_prefix, filter_digests=filter_digests,
                                       synthetic_functions=synthetic_functions, names=names, layers=layers)
    except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
        # A shape no reader check caught: still a diagnostic, never a traceback.
        raise NetworkInputError(source_prefix.rstrip("/: ") or "input", "", f"malformed document: "
                                f"{type(exc).__name__}: {exc}") from None


def _fabrics_from_documents(docs, digests, *, source_prefix, filter_digests, synthetic_functions, names,
                            layers) -> list[Fabric]:
    from govcloud.network import readers

    digests = dict(digests or {})
    for name in GLOBAL_FILES:
        if name not in digests and docs.get(name) is not None:
            digests[name] = hashlib.sha256(json.dumps(docs[name], sort_keys=True).encode()).hexdigest()
    src = lambda name: f"{source_prefix}{(names or {}).get(name, name)}"  # noqa: E731
    attachments = readers.read_attachments(docs.get("attachments.json"), src("attachments.json"))
    intercloud = readers.read_intercloud(docs.get("intercloud.json") or {"links": []}, src("intercloud.json"),
                                         attachments)
    for link in intercloud:
        z = link["zone"]
        attachments[link["aws"]] = {"name": link["aws"], "kind": "intercloud", "zone": z, "cloud": "aws",
                                    "cidrs": _cidrs(attachments, "azure", z), "municipalities": [],
                                    "tags": {"segment": z}, "attachmentType": "vpn"}
        attachments[link["azure"]] = {"name": link["azure"], "kind": "intercloud", "zone": z, "cloud": "azure",
                                      "cidrs": _cidrs(attachments, "aws", z), "municipalities": [],
                                      "tags": {"segment": z}}
    for cloud in ("aws", "azure") if synthetic_functions else ():
        name = f"inspection-{cloud}"
        attachments.setdefault(name, {"name": name, "kind": "inspection", "zone": "inspection", "cloud": cloud,
                                      "cidrs": [], "municipalities": [], "tags": {"network-function": "inspection"},
                                      "attachmentType": "vpc"})
    peers = {}
    for link in intercloud:
        peers[link["aws"]] = link["azure"]
        peers[link["azure"]] = link["aws"]
    firewalls = readers.read_firewalls(docs.get("firewall.json") or {"defaultAction": "drop", "rules": []},
                                       src("firewall.json"))
    filters = readers.read_filters(docs.get("tenants.json") or {}, src("tenants.json"), attachments)
    declared_doc = readers.read_declared(docs.get("declared-flows.json") or [], src("declared-flows.json"), attachments)
    declared = {(f["source"], f["destination"], f["protocol"], f["port"]) for f in declared_doc}
    reasons = {(f["source"], f["destination"], f["protocol"], f["port"]): f["reason"] for f in declared_doc}
    blocked = {(f["source"], f["destination"], f["protocol"], f["port"]) for f in declared_doc if f.get("expectBlocked")}

    azure_tables, azure_assoc = {}, {}
    vwan = docs.get("azure-vwan/virtual-wan.json")
    if vwan is not None:
        azure_tables, azure_assoc = readers.read_vwan(vwan, attachments, src("azure-vwan/virtual-wan.json"))
    variants = []
    cloudwan = docs.get("aws-cloudwan/core-network-policy.json")
    if cloudwan is not None:
        variants.append(("aws-cloudwan", *readers.read_cloudwan(cloudwan, attachments,
                                                                src("aws-cloudwan/core-network-policy.json"))))
    tgw = docs.get("aws-tgw/transit-gateway.json")
    if tgw is not None:
        variants.append(("aws-tgw", *readers.read_tgw(tgw, attachments, src("aws-tgw/transit-gateway.json"))))
    if not variants and vwan is None:
        raise NetworkInputError(source_prefix or "input", "", "no routing configuration (aws-cloudwan/, aws-tgw/ or azure-vwan/)")
    if not variants:
        variants.append(("", {}, {}, {}, []))
    fabrics = []
    for name, tables, assoc, functions, unattached in variants:
        label = "+".join(x for x in (name, "azure-vwan" if vwan is not None else "") if x)
        key_files = [f for f in GLOBAL_FILES if f in digests and not (f.startswith("aws-") and not f.startswith(name))]
        global_key = hashlib.sha256("".join(f"{f}:{digests[f]}" for f in key_files).encode()).hexdigest()
        # Each network function filters with its own firewall when one is read (plans), else
        # with the compiled firewall.json, which both inspection functions enforce.
        fn_map = {f: f for f in functions}
        if name == "aws-tgw" and "inspection-aws" in attachments:
            fn_map["inspection-aws"] = "inspection-aws"
        if vwan is not None and "inspection-azure" in attachments:
            fn_map["inspection-azure"] = "inspection-azure"
        fws = {f: firewalls.get(f) or firewalls["default"] for f in fn_map}
        fws["default"] = firewalls["default"]
        azure_unattached = [(n, "no Virtual WAN connection") for n, a in attachments.items()
                            if a.get("cloud") == "azure" and a.get("kind") in ("tenant", "site") and vwan is not None
                            and n not in azure_assoc]
        fabrics.append(Fabric(label, attachments, {**tables, **azure_tables}, {**assoc, **azure_assoc}, peers,
                              firewalls["default"], filters, declared, reasons, global_key, dict(filter_digests or {}),
                              functions=fn_map, firewalls=fws, expected_blocked=blocked,
                              unattached=sorted(unattached + azure_unattached), layers=layers))
    return fabrics


def _entry_digests(path: Path, filters) -> dict[str, str]:
    """Per-tenant hashes from the file's lines: compiled files hold one tenant per line, so
    nothing needs re-serialising. A hand-formatted file falls back to canonical JSON."""
    if not path.exists() or not isinstance(filters, dict):
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


__all__ = ["BLACKHOLE", "CidrError", "CidrIndex", "Fabric", "Firewall", "Path_", "Table", "fabrics_from_documents",
           "load_fabrics"]

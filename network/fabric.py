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

from govcloud import yamlio
from govcloud.diagnostics import DiagnosticError
from govcloud.network import readers
from govcloud.network.cidr import ANY_NAMES, CidrError, is_internet, span
from govcloud.network.cloudwan import read_cloudwan
from govcloud.network.errors import NetworkInputError, Unsupported
from govcloud.network.model import (BLACKHOLE, Firewall, Path_, Table, _port_covers, _port_overlaps,  # noqa: F401
                                    _proto_ok)

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
    # Cloud WAN segments whose attachments see each other's routes ("isolate-attachments: false",
    # the default: "attachments in the segment can communicate with each other", core network
    # policy parameters), as their route tables: cloudwan:<segment>.
    unisolated: tuple[str, ...] = ()
    layers: tuple[str, ...] = ("routing", "filtering", "effective")   # what the input lets the proof judge
    _cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.firewall, Firewall):
            self.firewall = readers.read_firewall(self.firewall or {"defaultAction": "drop", "rules": []}, "firewall.json")
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
            candidates = [(target, route, cidr) for cidr in cidrs for target, route in self.tables[table].lookup(cidr)]
            if not candidates:
                dead.append(f"route table {table}: no route")
            for target, route, cidr in candidates:
                step = hops + [f"route table {table}: {route} → {target}"]
                if target == destination:
                    found.append(Path_(step, bool(functions), functions))
                elif target in self.functions and target in self.associated:
                    fw = self.firewall_for(target)
                    hop = f"inspection function {target} (network function, firewall {fw.name if fw else self.functions[target]})"
                    for leads in (fw.exit_for(cidr) if fw is not None else ["wan"]):
                        if leads == "wan":
                            explore(self.associated[target], step + [hop], functions + (target,), seen | {table})
                        else:   # the firewall subnets route it away from the WAN (the internet, nowhere)
                            dead.append(f"{hop}: {cidr} → {leads}")
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

    def internet_paths(self, table: str) -> list[Path_]:
        """Paths from a route table to *the internet*: routes whose prefix covers public
        addresses (a default route, a public prefix) that lead to a network function whose
        firewall sends traffic out to the internet (an internet or NAT gateway behind the AWS
        firewall, an Azure hub firewall's public IP), or to an internet-zone site or tenant (the
        internet zone is the internet, 三層の対策's インターネット接続系). Cached per table."""
        key = ("internet", table)
        if key not in self._cache:
            found: list[Path_] = []
            self._internet_walk(table, [], (), frozenset(), found)
            self._cache[key] = found
        return self._cache[key]

    def _internet_walk(self, table: str, hops: list[str], functions: tuple, seen: frozenset, found: list) -> None:
        if table in seen or table not in self.tables:
            return
        for probe in ("0.0.0.0/0", "::/0"):
            for target, route in self.tables[table].lookup(probe):
                if not is_internet(route):
                    continue   # a private prefix: a destination of the WAN, not the internet
                step = hops + [f"route table {table}: {route} → {target}"]
                a = self.attachments.get(target, {})
                if target in self.functions and target in self.associated:
                    fw = self.firewall_for(target)
                    hop = f"inspection function {target} (firewall {fw.name if fw else 'none'})"
                    exits = fw.exit_for(probe) if fw is not None else ["wan"]
                    if fw is not None and fw.internet_exit:
                        found.append(Path_(step + [hop, fw.internet_exit, "the internet"], True, functions + (target,)))
                    for leads in exits:
                        if leads.startswith("internet"):
                            found.append(Path_(step + [hop, leads, "the internet"], True, functions + (target,)))
                        elif leads == "wan":
                            self._internet_walk(self.associated[target], step + [hop], functions + (target,),
                                                seen | {table}, found)
                elif target.startswith("intercloud-") and target in self.peers:
                    peer = self.peers[target]
                    self._internet_walk(self.associated.get(peer, ""), step + [f"inter-cloud link {target} ⇄ {peer}"],
                                        functions, seen | {table}, found)
                elif a.get("zone") == "internet" and a.get("kind") in ("site", "tenant"):
                    found.append(Path_(step + [f"internet-zone {a['kind']} {target}: the internet"], bool(functions), functions))
                # (a tenant's own route to an internet gateway is judged with the tenant: verify's
                # per-tenant check, which a re-verification redoes when the tenant changes)

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


def is_internet_span(first: int, last: int) -> bool:
    from govcloud.network.cidr import PRIVATE

    return not any(p0 <= first and last <= p1 for p0, p1 in PRIVATE)


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
        if cidr == "Internet":   # the NSG service tag: public addresses only (Azure service tags)
            return tuple(sorted({e[2] for e in self.entries if is_internet_span(e[0], e[1])}))
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
    text = read_json_text(path)
    if digests is not None:
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    return parse_json(text, path)


def read_json_text(path: Path) -> str:
    """A network input file's text, read with the limits every document has (yamlio.read_text: a
    size bound checked before reading, UTF-8 only, the line of a bad byte named)."""
    try:
        return yamlio.read_text(path)
    except DiagnosticError as exc:
        raise _input_error(exc) from None


def parse_json(text: str, path: Path | str):
    """JSON of a network input file through the bounded loader plans and the history use
    (yamlio.load_json_text): a duplicate key (which would silently override the first, e.g. a
    second ``segment-actions``), NaN or Infinity, nesting deeper than the limit or an oversized
    text is refused, never read. A NetworkInputError names the file, line and column."""
    try:
        return yamlio.load_json_text(text, path)
    except DiagnosticError as exc:
        raise _input_error(exc) from None


def _input_error(exc: DiagnosticError) -> NetworkInputError:
    d = exc.diagnostics[0]
    where = ("$" + ("" if d.field.startswith("[") else ".") + d.field) if d.field else ""
    return NetworkInputError(f"{d.path}:{d.line}:{d.col}", where, d.message)


def load_fabrics(directory: Path) -> list[Fabric]:
    """One fabric per AWS routing target present (Cloud WAN, Transit Gateway), each joined with
    the Azure side when compiled. Every file a compiled folder must hold is required."""
    digests: dict[str, str] = {}
    manifest = _read(directory, "manifest.json")
    targets = manifest.get("targets") if isinstance(manifest, dict) else None
    if manifest is not None and (not isinstance(targets, list) or not all(isinstance(t, str) and t in TARGET_FILES for t in targets)):
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


@dataclass
class ReadMemo:
    """What the readers made of the previous documents, for a re-read after a small change.

    Reading is a pure function of the document (and, for routing, of the attachments), so a part
    equal to the part read last time gets the same result: a whole file when it is equal (with
    what it depends on), one tenant's entry of tenants.json, one declared flow. Every part that
    differs is read, and refused, as on a first read; checks that involve other parts (a
    dangling reference) always run again, and any refusal is raised by a full read of the file,
    so its diagnostic is the one a full read gives.

    Only for documents govcloud produced in this process (the compiler's output, whose values
    are typed by the tenant models): equality is Python's ``==``, which does not tell ``1`` from
    ``true`` or ``1.0``. A document read from disk (a compiled folder, plans, a native policy) is
    always read in full. The memo keeps the documents it read: pass new documents next time,
    never the same ones changed in place. tests/network/test_incremental.py checks memo reads
    against full reads."""

    files: dict[str, tuple[object, object, object]] = field(default_factory=dict)  # name -> (doc, depends on, result)
    filters: dict[str, tuple[object, dict, str]] = field(default_factory=dict)     # tenant -> (entry, read, digest)
    declared: dict[str, list] = field(default_factory=dict)                          # the list read last time
    hits: int = 0

    def file(self, name: str, doc, depends, read):
        kept = self.files.get(name)
        if kept is not None and kept[1] == depends and kept[0] == doc:
            self.hits += 1
            return kept[2]
        result = read()
        self.files[name] = (doc, depends, result)
        return result


def fabrics_from_documents(docs: dict[str, object], digests: dict[str, str] | None = None, *, source_prefix: str = "",
                           filter_digests: dict[str, str] | None = None, synthetic_functions: bool = True,
                           names: dict[str, str] | None = None,
                           layers: tuple[str, ...] = ("routing", "filtering", "effective"),
                           memo: ReadMemo | None = None) -> list[Fabric]:
    """The model from documents in the compiled files' shapes (name → parsed JSON), whoever wrote
    them: the compiler, the plan reader, the native-policy loader or the live readers. With
    ``memo`` (kept between calls) the parts equal to the previous call's are not read again."""
    try:
        return _fabrics_from_documents(docs, digests, source_prefix=source_prefix, filter_digests=filter_digests,
                                       synthetic_functions=synthetic_functions, names=names, layers=layers,
                                       memo=memo)
    except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
        # A shape no reader check caught: still a diagnostic, never a traceback.
        raise NetworkInputError(source_prefix.rstrip("/: ") or "input", "", f"malformed document: "
                                f"{type(exc).__name__}: {exc}") from None


def _digest(doc) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _fabrics_from_documents(docs, digests, *, source_prefix, filter_digests, synthetic_functions, names,
                            layers, memo: ReadMemo | None = None) -> list[Fabric]:
    memo_ = memo or ReadMemo()    # without a memo: a fresh one, i.e. a full read
    digests = dict(digests or {})
    for name in GLOBAL_FILES:
        if name not in digests and docs.get(name) is not None:
            digests[name] = memo_.file(f"digest:{name}", docs[name], None, lambda name=name: _digest(docs[name]))
    src = lambda name: f"{source_prefix}{(names or {}).get(name, name)}"  # noqa: E731
    attachments_doc = docs.get("attachments.json")
    # A copy: the inter-cloud and function attachments are added to it below.
    attachments = dict(memo_.file("attachments.json", attachments_doc, (source_prefix, names),
                                 lambda: readers.read_attachments(attachments_doc, src("attachments.json"))))
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
    firewall_doc = docs.get("firewall.json") or {"defaultAction": "drop", "rules": []}
    firewalls = memo_.file("firewall.json", firewall_doc, (source_prefix, names),
                          lambda: readers.read_firewalls(firewall_doc, src("firewall.json")))
    filters, entry_digests = _read_filters(docs.get("tenants.json") or {}, src("tenants.json"), attachments, memo)
    if filter_digests is None:
        filter_digests = entry_digests
    declared_doc = _read_declared(docs.get("declared-flows.json") or [], src("declared-flows.json"),
                                  attachments, memo)
    declared = {(f["source"], f["destination"], f["protocol"], f["port"]) for f in declared_doc}
    reasons = {(f["source"], f["destination"], f["protocol"], f["port"]): f["reason"] for f in declared_doc}
    blocked = {(f["source"], f["destination"], f["protocol"], f["port"]) for f in declared_doc if f.get("expectBlocked")}

    azure_tables, azure_assoc = {}, {}
    vwan = docs.get("azure-vwan/virtual-wan.json")
    # Routing depends on the attachments as well (their prefixes, tags and kinds), including the
    # inter-cloud ones derived above: a routing document is reused only with equal attachments.
    depends = (attachments, source_prefix, names)
    if vwan is not None:
        azure_tables, azure_assoc = memo_.file("azure-vwan/virtual-wan.json", vwan, depends, lambda: readers.read_vwan(
            vwan, attachments, src("azure-vwan/virtual-wan.json")))
    variants = []
    cloudwan = docs.get("aws-cloudwan/core-network-policy.json")
    if cloudwan is not None:
        variants.append(("aws-cloudwan", *memo_.file(
            "aws-cloudwan/core-network-policy.json", cloudwan, depends,
            lambda: read_cloudwan(cloudwan, attachments, src("aws-cloudwan/core-network-policy.json")))))
    tgw = docs.get("aws-tgw/transit-gateway.json")
    if tgw is not None:
        variants.append(("aws-tgw", *memo_.file(
            "aws-tgw/transit-gateway.json", tgw, depends,
            lambda: readers.read_tgw(tgw, attachments, src("aws-tgw/transit-gateway.json")))))
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
        if vwan is not None:   # the hub firewalls: one per hub from plans, one for all when compiled
            fn_map.update({n: n for n, a in attachments.items() if a.get("kind") == "inspection"
                           and a.get("cloud") == "azure"})
        fws = {f: firewalls.get(f) or firewalls["default"] for f in fn_map}
        fws["default"] = firewalls["default"]
        azure_unattached = [(n, "no Virtual WAN connection") for n, a in attachments.items()
                            if a.get("cloud") == "azure" and a.get("kind") in ("tenant", "site") and vwan is not None
                            and n not in azure_assoc]
        fabrics.append(Fabric(label, attachments, {**tables, **azure_tables}, {**assoc, **azure_assoc}, peers,
                              firewalls["default"], filters, declared, reasons, global_key, dict(filter_digests or {}),
                              functions=fn_map, firewalls=fws, expected_blocked=blocked,
                              unattached=sorted(unattached + azure_unattached), layers=layers,
                              unisolated=_unisolated(cloudwan) if name == "aws-cloudwan" else ()))
    return fabrics


def _unisolated(policy) -> tuple[str, ...]:
    """The route tables of segments that do not isolate their attachments (the policy was read
    and checked by read_cloudwan already)."""
    return tuple(f"cloudwan:{seg['name']}" for seg in policy.get("segments", []) if not seg.get("isolate-attachments"))


def _read_filters(doc, source: str, attachments: dict, memo: ReadMemo | None) -> tuple[dict[str, dict], dict[str, str]]:
    """tenants.json; with a memo, one tenant's entry at a time: an entry equal to the one read
    last time is not read again. Its digest (verify's per-tenant reuse key) comes along."""
    if memo is None or not isinstance(doc, dict):
        return readers.read_filters(doc, source, attachments), {}
    kept, fresh, todo = memo.filters, {}, {}
    for tenant, entry in doc.items():
        previous = kept.get(tenant)
        if previous is not None and tenant in attachments and previous[0] == entry:
            fresh[tenant] = previous
        else:
            todo[tenant] = entry
    try:
        read = readers.read_filters(todo, source, attachments) if todo else {}
    except (NetworkInputError, Unsupported):
        readers.read_filters(doc, source, attachments)   # raises what a full read says
        raise
    for tenant, entry in todo.items():
        fresh[tenant] = (entry, read[tenant], _digest(entry))
    memo.filters = fresh
    return {t: fresh[t][1] for t in doc}, {t: fresh[t][2] for t in doc}


def _read_declared(doc, source: str, attachments: dict, memo: ReadMemo | None) -> list[dict]:
    """declared-flows.json; with a memo, a flow equal to the one at the matching place of the
    list read last time is not read again (its references are checked again). The lists are
    walked side by side, so an edit costs what it touches: an insertion or removal is found by
    looking a few flows ahead; anything else is read."""
    if memo is None or not isinstance(doc, list):
        return readers.read_declared(doc, source, attachments)
    old_doc, old_read = memo.declared.get("doc", []), memo.declared.get("read", [])
    out: list = []
    todo: list = []
    j, n = 0, len(old_doc)
    for f in doc:
        hit = None
        if j < n and old_doc[j] == f:
            hit = j
        elif j < n:
            hit = next((k for k in range(j + 1, min(j + 1 + LOOKAHEAD, n)) if old_doc[k] == f), None)
        if hit is not None:
            read = old_read[hit]
            j = hit + 1
            if read["source"] in attachments and read["destination"] in attachments:
                out.append(read)
                continue
        out.append(None)
        todo.append(f)
    if todo:
        try:
            new = iter(readers.read_declared(todo, source, attachments))
        except (NetworkInputError, Unsupported):
            readers.read_declared(doc, source, attachments)   # raises what a full read says
            raise
        out = [next(new) if read is None else read for read in out]
    memo.declared = {"doc": doc, "read": out}
    return out


LOOKAHEAD = 8   # flows a side-by-side walk looks ahead for an insertion or removal


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


__all__ = ["BLACKHOLE", "CidrError", "CidrIndex", "Fabric", "Firewall", "Path_", "ReadMemo", "Table",
           "fabrics_from_documents", "load_fabrics"]

"""The verifier (prefix-bucketed tables, per-table caches, interval index, rule candidates, least-safe
range reasoning) against an independent packet-level oracle: one concrete packet per (source,
destination, port), routed address by address over every route, filtered rule by rule.

Random fabrics are documents in the compiled shapes and use the features the verifier models:
Transit Gateway static and propagated routes (static wins at equal prefix), blackholes, the
inspection function with an ordered firewall (pass, drop, reject, alert, default action), NSGs
with priorities, Deny and Allow, default rules and the VirtualNetwork tag, security groups, egress,
IPv4 and IPv6. Prefixes are attachment networks or wider ones, so a packet from the first address
of an attachment stands for the whole attachment and the two must agree exactly."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings, strategies as st

from govcloud.network.fabric import fabrics_from_documents
from govcloud.network.verify import verify
from tests.conftest import examples

PORTS = [443, 8443]


def _net(i: int, v6: bool) -> str:
    return f"2001:db8:0:{i}::/64" if v6 else f"10.0.{i}.0/24"


WIDE = ["10.0.0.0/16", "0.0.0.0/0", "::/0", "2001:db8::/48", "10.0.0.0/21"]


@st.composite
def fabrics(draw, strict_nsg: bool):
    n = draw(st.integers(2, 6))
    names = [f"a{i}" for i in range(n)]
    v6 = [draw(st.booleans()) for _ in names]
    cidrs = [_net(i, v6[i]) for i in range(n)]
    pool = cidrs + WIDE
    attachments = []
    for i, name in enumerate(names):
        kind = "tenant" if i == 0 else draw(st.sampled_from(["tenant", "site"]))
        attachments.append({"name": name, "kind": kind, "zone": draw(st.sampled_from(["mynumber", "lgwan", "internet"])),
                            "cloud": "aws", "cidrs": [cidrs[i]],
                            "municipalities": sorted(draw(st.sets(st.sampled_from("ABC"), min_size=1, max_size=2)))})
    tables = ["t0", "t1", "t2"]
    targets = names + ["inspection-aws", "blackhole"]
    route_tables = {}
    for t in tables:
        routes = {}
        for cidr, target in draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(targets)), max_size=5)):
            routes[cidr] = target     # one static route per prefix, as TGW allows
        route_tables[t] = {"routes": [{"destination": c, "target": tg} for c, tg in routes.items()],
                           "propagations": sorted(draw(st.sets(st.sampled_from(names), max_size=n)))}
    associations = {name: draw(st.sampled_from(tables)) for name in names + ["inspection-aws"]}
    filters = {}
    for a in attachments:
        if a["kind"] != "tenant":
            continue
        egress = [{"cidr": c, "protocol": "tcp", "port": p}
                  for c, p in draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(PORTS)), max_size=3))]
        if draw(st.booleans()):
            ingress = [{"cidr": c, "protocol": "tcp", "port": p}
                       for c, p in draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(PORTS)), max_size=4))]
            filters[a["name"]] = {"securityGroups": [{"name": "sg", "ingress": ingress}], "egress": egress, "routes": []}
        else:
            rules = []
            priorities = draw(st.lists(st.integers(100, 4000), unique=True, max_size=5))
            for prio in priorities:
                access = draw(st.sampled_from(["Allow", "Deny"]))
                source = draw(st.sampled_from(pool + ["*", "VirtualNetwork"]))
                port = draw(st.sampled_from(PORTS + (["*"] if access == "Deny" or not strict_nsg else [])))
                rules.append({"name": f"r{prio}", "priority": prio, "access": access, "direction": "Inbound",
                              "protocol": "tcp" if port != "*" else draw(st.sampled_from(["tcp", "*"])),
                              "sourceAddressPrefix": source, "destinationPortRange": str(port)})
            if strict_nsg or draw(st.booleans()):
                rules.append({"name": "deny-all", "priority": 4096, "access": "Deny", "direction": "Inbound",
                              "protocol": "*", "sourceAddressPrefix": "*", "destinationPortRange": "*"})
            filters[a["name"]] = {"nsgRules": rules, "egress": egress, "routes": []}
    fw_rules = []
    for i, (action, s, d, p) in enumerate(draw(st.lists(st.tuples(
            st.sampled_from(["pass", "drop", "reject", "alert"]), st.sampled_from(pool), st.sampled_from(pool),
            st.sampled_from(PORTS)), max_size=4))):
        fw_rules.append({"id": f"f{i}", "action": action, "protocol": "tcp", "port": p, "sources": [s], "destinations": [d]})
    declared = [{"source": s, "destination": d, "protocol": "tcp", "port": p, "reason": "declared"}
                for s, d, p in draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names), st.sampled_from(PORTS)),
                                             max_size=5))]
    return {"attachments.json": attachments, "tenants.json": filters,
            "firewall.json": {"defaultAction": draw(st.sampled_from(["drop", "pass"])), "rules": fw_rules},
            "intercloud.json": {"links": []}, "declared-flows.json": declared,
            "aws-tgw/transit-gateway.json": {"routeTables": route_tables, "associations": associations}}


# --- the oracle: concrete packets, nothing shared with the verifier --------------------------------------


def addr(cidr: str):
    return ipaddress.ip_network(cidr).network_address


def within(prefix: str, address) -> bool:
    if prefix in ("*", "VirtualNetwork"):
        return True
    net = ipaddress.ip_network(prefix)
    return net.version == address.version and address in net


def deliveries(docs, src: str, dst: str):
    """Every way one packet from src to dst can go: (delivered, crossed inspection) per branch."""
    tgw = docs["aws-tgw/transit-gateway.json"]
    atts = {a["name"]: a for a in docs["attachments.json"]}
    address = addr(atts[dst]["cidrs"][0])
    out = []

    def walk(table, inspected, seen):
        if table in seen:
            out.append((False, inspected))
            return
        entries = [(r["destination"], r["target"], True) for r in tgw["routeTables"][table]["routes"]]
        entries += [(atts[m]["cidrs"][0], m, False) for m in tgw["routeTables"][table]["propagations"]]
        matching = [(ipaddress.ip_network(c).prefixlen, t, s) for c, t, s in entries if within(c, address)]
        if not matching:
            out.append((False, inspected))
            return
        best = max(m[0] for m in matching)
        at_best = [m for m in matching if m[0] == best]
        chosen = [m for m in at_best if m[2]] or at_best
        for _, target, _ in chosen:
            if target == dst:
                out.append((True, inspected))
            elif target == "inspection-aws":
                walk(tgw["associations"]["inspection-aws"], True, seen | {table})
            else:
                out.append((False, inspected))

    walk(tgw["associations"][src], False, frozenset())
    return out


def firewall_passes(docs, s, d, port) -> bool:
    for r in docs["firewall.json"]["rules"]:
        if r["port"] == port and within(r["sources"][0], s) and within(r["destinations"][0], d):
            if r["action"] == "alert":
                continue
            return r["action"] == "pass"
    return docs["firewall.json"]["defaultAction"] == "pass"


def admitted(entry, s, port) -> bool:
    if "securityGroups" in entry:
        return any(r["port"] == port and within(r["cidr"], s) for r in entry["securityGroups"][0]["ingress"])
    rules = sorted(entry["nsgRules"], key=lambda r: r["priority"])
    rules += [{"priority": 65000, "access": "Allow", "sourceAddressPrefix": "VirtualNetwork", "destinationPortRange": "*"},
              {"priority": 65500, "access": "Deny", "sourceAddressPrefix": "*", "destinationPortRange": "*"}]
    for r in rules:
        # VirtualNetwork is every connected network: allowing it admits anyone; a deny of it is not
        # relied on (which networks the VNet's effective routes hold is not in the documents)
        if r["access"] == "Deny" and r["sourceAddressPrefix"] == "VirtualNetwork":
            continue
        if r["destinationPortRange"] in ("*", str(port)) and within(r["sourceAddressPrefix"], s):
            return r["access"] == "Allow"
    return False


def oracle(docs):
    atts = {a["name"]: a for a in docs["attachments.json"]}
    reach, routing = set(), {}
    for dst, entry in docs["tenants.json"].items():
        d = addr(atts[dst]["cidrs"][0])
        for src, a in atts.items():
            if src == dst:
                continue
            s = addr(a["cidrs"][0])
            ways = deliveries(docs, src, dst)
            delivered = [insp for ok, insp in ways if ok]
            routing[(src, dst)] = (bool(delivered), bool(delivered) and all(delivered), bool(ways) and all(ok for ok, _ in ways))
            for port in PORTS:
                if not admitted(entry, s, port):
                    continue
                if not any(not insp or firewall_passes(docs, s, d, port) for insp in delivered):
                    continue
                if a["kind"] == "tenant" and not any(e["port"] == port and within(e["cidr"], d)
                                                     for e in docs["tenants.json"][src]["egress"]):
                    continue
                reach.add((src, dst, port))
    return reach, routing


def verifier(docs):
    (fabric,) = fabrics_from_documents(docs)
    report = verify(fabric)
    reach = {(r.source, r.destination, r.port) for r in report.reachable}
    routing = {}
    for dst in docs["tenants.json"]:
        for src in fabric.attachments:
            if src == dst or fabric.attachments[src]["kind"] not in ("tenant", "site"):
                continue
            path = fabric.route(src, dst)
            routing[(src, dst)] = (path is not None, path is not None and path.inspected,
                                   path is not None and path.certain)
    return reach, routing, report


@settings(max_examples=examples(300), deadline=None)
@given(fabrics(strict_nsg=True))
def test_reachability_matches_the_packet_oracle(docs):
    got, got_routing, report = verifier(docs)
    want, want_routing = oracle(docs)
    assert got == want
    for key, (exists, inspected_only, certain) in got_routing.items():
        o_exists, o_inspected_only, o_certain = want_routing[key]
        assert exists == o_exists and (not exists or inspected_only == o_inspected_only), key
        assert not exists or certain == o_certain, key
    declared = {(f["source"], f["destination"], f["port"]) for f in docs["declared-flows.json"]}
    excess = {(v.source, v.destination) for v in report.violations if v.invariant == "least-privilege"}
    assert excess == {(s, d) for s, d, p in want if (s, d, p) not in declared}


@settings(max_examples=examples(200), deadline=None)
@given(fabrics(strict_nsg=False))
def test_every_concrete_packet_that_gets_through_is_reported(docs):
    """With wildcard ports and the default rules the verifier may over-approximate (least safe),
    never miss: every packet the oracle delivers is in the verifier's report."""
    got, _, _ = verifier(docs)
    want, _ = oracle(docs)
    covered = {(s, d, p) for s, d, p in want if (s, d, p) in got or (s, d, "*") in got}
    assert covered == want

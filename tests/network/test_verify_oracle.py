"""The verifier (route tables bucketed by prefix, per-table caches, an interval index of
attachments) against a brute-force oracle that scans every route and every attachment."""

import ipaddress

from hypothesis import given, settings, strategies as st

from govcloud.network.fabric import Fabric, Table
from govcloud.network.verify import verify

CIDRS = [f"10.0.{i}.0/24" for i in range(8)]
WIDE = ["10.0.0.0/16", "10.0.0.0/22", "10.0.4.0/22", "0.0.0.0/0", "10.0.2.0/23"]


@st.composite
def fabrics(draw):
    n = draw(st.integers(2, 7))
    names = [f"a{i}" for i in range(n)]
    attachments = {}
    for i, name in enumerate(names):
        kind = draw(st.sampled_from(["tenant", "site"])) if i else "tenant"
        attachments[name] = {"name": name, "kind": kind, "zone": draw(st.sampled_from(["mynumber", "lgwan", "internet"])),
                             "cloud": "aws", "cidrs": [CIDRS[i]], "municipalities": draw(st.sets(st.sampled_from("ABC"), min_size=1, max_size=2))}
        attachments[name]["municipalities"] = sorted(attachments[name]["municipalities"])
    attachments["inspection-aws"] = {"name": "inspection-aws", "kind": "inspection", "zone": "inspection", "cloud": "aws",
                                     "cidrs": [], "municipalities": []}
    table_names = ["t0", "t1", "t2"]
    targets = names + ["inspection-aws", "blackhole"]
    raw = {t: draw(st.lists(st.tuples(st.sampled_from(CIDRS[:n] + WIDE), st.sampled_from(targets)), max_size=8))
           for t in table_names}
    associated = {name: draw(st.sampled_from(table_names)) for name in names + ["inspection-aws"]}
    filters = {}
    for name in names:
        if attachments[name]["kind"] != "tenant":
            continue
        rules = draw(st.lists(st.tuples(st.sampled_from(CIDRS[:n] + WIDE), st.sampled_from([443, 8443])), max_size=4))
        egress = draw(st.lists(st.tuples(st.sampled_from(CIDRS[:n] + WIDE), st.sampled_from([443, 8443])), max_size=3))
        filters[name] = {"securityGroups": [{"name": f"{name}-sg", "ingress": [{"cidr": c, "protocol": "tcp", "port": p} for c, p in rules]}],
                         "egress": [{"cidr": c, "protocol": "tcp", "port": p} for c, p in egress], "routes": []}
    fw = draw(st.lists(st.tuples(st.sampled_from(CIDRS[:n] + WIDE), st.sampled_from(CIDRS[:n] + WIDE), st.sampled_from([443, 8443])), max_size=3))
    firewall = {"rules": [{"id": f"r{i}", "protocol": "tcp", "port": p, "sources": [s], "destinations": [d]} for i, (s, d, p) in enumerate(fw)]}
    declared = set(draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names), st.just("tcp"), st.sampled_from([443, 8443])), max_size=6)))
    tables = {}
    for t, routes in raw.items():
        table = Table(t)
        for cidr, target in routes:
            table.add(cidr, target)
        tables[t] = table
    fabric = Fabric("random", attachments, tables, associated, {}, firewall, filters, declared,
                    {d: "declared" for d in declared})
    return fabric, raw


def brute_force(fabric: Fabric, raw: dict) -> set:
    def overlaps(a, b):
        return ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b))

    def route(src, dst):
        """All paths by exhaustive search; None, False (a direct path exists) or True (only inspected)."""
        dst_net = ipaddress.ip_network(fabric.attachments[dst]["cidrs"][0])
        results = []

        def explore(table, inspected, seen):
            if table in seen:
                return
            matching = [(ipaddress.ip_network(c), t) for c, t in raw[table]
                        if dst_net.network_address in ipaddress.ip_network(c) and ipaddress.ip_network(c).prefixlen <= dst_net.prefixlen]
            if not matching:
                return
            best = max(n.prefixlen for n, _ in matching)
            for net, target in matching:
                if net.prefixlen != best:
                    continue
                if target == dst:
                    results.append(inspected)
                elif target == "inspection-aws":
                    explore(fabric.associated["inspection-aws"], True, seen | {table})

        explore(fabric.associated[src], False, frozenset())
        if not results:
            return None
        return all(results)

    found = set()
    for t, entry in fabric.filters.items():
        t_cidr = fabric.attachments[t]["cidrs"][0]
        for rule in entry["securityGroups"][0]["ingress"]:
            for src, a in fabric.attachments.items():
                if a["kind"] not in ("tenant", "site") or src == t or not overlaps(rule["cidr"], a["cidrs"][0]):
                    continue
                inspected = route(src, t)
                if inspected is None:
                    continue
                if inspected and not any(r["port"] == rule["port"] and overlaps(r["sources"][0], a["cidrs"][0])
                                         and overlaps(r["destinations"][0], t_cidr) for r in fabric.firewall["rules"]):
                    continue
                if a["kind"] == "tenant" and not any(e["port"] == rule["port"] and overlaps(e["cidr"], t_cidr)
                                                     for e in fabric.filters[src]["egress"]):
                    continue
                found.add((src, t, "tcp", rule["port"]))
    return found


@settings(max_examples=300, deadline=None)
@given(fabrics())
def test_reachability_matches_brute_force(case):
    fabric, raw = case
    report = verify(fabric)
    got = {(r.source, r.destination, r.protocol, r.port) for r in report.reachable}
    expected = brute_force(fabric, raw)
    assert got == expected
    excess = {(v.source, v.destination) for v in report.violations if v.invariant == "least-privilege"}
    assert excess == {(s, d) for s, d, p, port in expected if (s, d, p, port) not in fabric.declared}

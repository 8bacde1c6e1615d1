"""Every field is modelled or refused by name; dangling references and malformed input are errors;
inputs that used to crash are read."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from govcloud.network.cidr import overlaps, span
from govcloud.network.errors import NetworkInputError, Unsupported
from govcloud.network.fabric import Table, fabrics_from_documents
from govcloud.network.verify import verify
from tests.network.test_mutation_suite import ATT, CW, FW, JUKI, MINATO, TENANTS, TGW, VWAN, create_route, nsg, share, sample  # noqa: F401
from tests.conftest import examples


def load(docs):
    return [verify(f) for f in fabrics_from_documents(docs)]


def edited(sample, edit):
    docs = copy.deepcopy(sample)
    edit(docs)
    return docs


UNSUPPORTED = {
    "routing-policies (2025.11)": lambda d: d[CW].update({"routing-policies": []}),
    "associate-routing-policy": lambda d: d[CW]["segment-actions"].append(
        {"action": "associate-routing-policy", "segment": "mynumber"}),
    "share mode": lambda d: d[CW]["segment-actions"].append(
        {"action": "share", "mode": "routing-policy", "segment": "internet", "share-with": ["lgwan"]}),
    "condition type": lambda d: d[CW]["attachment-policies"].append(
        {"rule-number": 1, "conditions": [{"type": "routing-policy-label", "operator": "equals", "value": "x"}],
         "action": {"association-method": "constant", "segment": "lgwan"}}),
    "operator": lambda d: d[CW]["attachment-policies"].append(
        {"rule-number": 1, "conditions": [{"type": "tag-value", "operator": "matches", "key": "a", "value": "b"}],
         "action": {"association-method": "constant", "segment": "lgwan"}}),
    "policy version": lambda d: d[CW].update(version="2019.01"),
    "segment field": lambda d: d[CW]["segments"][0].update({"routing-policy-names": ["x"]}),
    "NSG service tag": nsg(MINATO, name="storage", priority=101, sourceAddressPrefix="Storage"),
    "VPC peering route": lambda d: d[TENANTS][JUKI]["routes"].append({"destination": "10.99.0.0/16", "target": "pcx-0123"}),
    "tenant field": lambda d: d[TENANTS][JUKI].update(prefixLists=[]),
    "firewall action": lambda d: d[FW]["rules"].append({"id": "x", "action": "custom", "protocol": "tcp", "port": 1,
                                                        "sources": ["*"], "destinations": ["*"]}),
    "firewall default": lambda d: d[FW].update(defaultAction="aws:forward_to_sfe"),
    "vwan route type": lambda d: d[VWAN]["hubRouteTables"]["rt-mynumber"]["routes"].append(
        {"destination": "10.0.0.0/8", "nextHop": MINATO, "nextHopType": "IPAddress"}),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unmodelled_feature_is_refused_by_name(sample, name):
    with pytest.raises(Unsupported) as exc:
        load(edited(sample, UNSUPPORTED[name]))
    assert "unsupported: " in str(exc.value) and " at $" in str(exc.value) and "the proof cannot be made" in str(exc.value)


DANGLING = {
    "create-route target": create_route("mynumber", "10.0.0.0/8", "no-such-tenant"),
    "share-with segment": share("internet", ["no-such-segment"]),
    "except segment": share("internet", {"except": ["nowhere"]}),
    "send-via group": lambda d: d[CW]["segment-actions"].append(
        {"action": "send-via", "segment": "internet", "when-sent-to": {"segments": "*"},
         "via": {"network-function-groups": ["nope"]}}),
    "tgw association table": lambda d: d[TGW]["associations"].update({JUKI: "rt-nowhere"}),
    "tgw route target": lambda d: d[TGW]["routeTables"]["rt-lgwan"]["routes"].append({"destination": "10.0.0.0/8", "target": "x"}),
    "vwan next hop": lambda d: d[VWAN]["hubRouteTables"]["rt-lgwan"]["routes"].append({"destination": "10.0.0.0/8", "nextHop": "x"}),
    "vwan associated table": lambda d: d[VWAN]["connections"][MINATO].update(associatedRouteTable="rt-x"),
    "declared flow end": lambda d: d["declared-flows.json"].append({"source": "ghost", "destination": JUKI,
                                                                    "protocol": "tcp", "port": 443}),
    "rules for no tenant": lambda d: d[TENANTS].update({"ghost": {"routes": []}}),
    "empty attachments": lambda d: d.update({"attachments.json": []}),
    "nothing attached": lambda d: d[CW].update({"attachment-policies": []}),
    "bad cidr": lambda d: d[TENANTS][JUKI]["securityGroups"][0]["ingress"].append({"cidr": "10.0.0.300/24", "port": 1}),
    "boolean port": lambda d: d["declared-flows.json"].append({"source": JUKI, "destination": JUKI, "protocol": "tcp",
                                                               "port": True}),
    "duplicate NSG priority": nsg(MINATO, name="dup", priority=300, sourceAddressPrefix="10.1.0.0/24"),
    # the zone says which invariants apply: missing or unknown, the attachment would be exempt
    "attachment zone missing": lambda d: next(a for a in d[ATT] if a["name"] == JUKI).pop("zone"),
    "attachment zone unknown": lambda d: next(a for a in d[ATT] if a["name"] == JUKI).update(zone="MyNumber"),
    "intercloud zone unknown": lambda d: d["intercloud.json"]["links"][0].update(zone="Internet"),
    "attachment cidr host bits": lambda d: next(a for a in d[ATT] if a["name"] == JUKI).update(cidrs=["10.16.0.1/24"]),
    "duplicate rule-number": lambda d: d[CW]["attachment-policies"].append(dict(d[CW]["attachment-policies"][0])),
    "segment edge location": lambda d: d[CW]["segments"][0].update({"edge-locations": ["us-east-1"]}),
}


@pytest.mark.parametrize("name", sorted(DANGLING))
def test_dangling_or_malformed_is_an_error(sample, name):
    with pytest.raises(NetworkInputError) as exc:
        load(edited(sample, DANGLING[name]))
    assert " (at " in str(exc.value) or "attaches nothing" in str(exc.value)


USED_TO_CRASH = {
    "share-with except": share("internet", {"except": ["mynumber", "lgwan", "shared-services"]}),
    "when-sent-to star": lambda d: d[CW]["segment-actions"].append(
        {"action": "send-via", "segment": "lgwan", "mode": "single-hop", "when-sent-to": {"segments": "*"},
         "via": {"network-function-groups": ["inspection"]}}),
    "ipv6 any": lambda d: d[TENANTS][JUKI]["egress"].append({"cidr": "::/0", "protocol": "tcp", "port": 443}),
    "nsg VirtualNetwork": nsg(MINATO, name="vnet", priority=120, sourceAddressPrefix="VirtualNetwork"),
}


@pytest.mark.parametrize("name", sorted(USED_TO_CRASH))
def test_inputs_that_crashed_are_read(sample, name):
    reports = load(edited(sample, USED_TO_CRASH[name]))
    assert reports and all(r.state is not None for r in reports)


def test_cli_exit_codes_and_messages(run, tmp_path):
    out = tmp_path / "c"
    run("network", "compile", "--out", str(out), check=True)
    policy = out / CW
    doc = json.loads(policy.read_text())
    doc["segment-actions"].append({"action": "associate-routing-policy", "segment": "mynumber"})
    policy.write_text(json.dumps(doc))
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 2 and "unsupported: action" not in proc.stderr
    assert "unsupported: segment action 'associate-routing-policy' at $.segment-actions[" in proc.stderr
    assert "Traceback" not in proc.stderr
    doc["segment-actions"][-1] = {"action": "create-route", "segment": "mynumber", "destination-cidr-blocks": ["::/0"],
                                  "destinations": ["attachment:ghost"]}
    policy.write_text(json.dumps(doc))
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 1 and "dangling reference: no attachment 'attachment:ghost'" in proc.stderr
    (out / "tenants.json").write_text('{"131016-juki-prod": {"securityGroups": [{"ingress": [{"cidr": 7}]}]}}')
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 1 and "tenants.json" in proc.stderr and "cidr" in proc.stderr and "Traceback" not in proc.stderr
    (out / "firewall.json").unlink()
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 1 and "firewall.json" in proc.stderr and "missing" in proc.stderr


def test_compile_out_writes_only_its_own_files(run, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    proc = run("network", "compile", "--out", str(foreign))
    assert proc.returncode == 1 and "did not create" in proc.stderr
    assert (foreign / "notes.txt").read_text() == "keep me" and sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    ours = tmp_path / "ours"
    run("network", "compile", "--out", str(ours), check=True)
    (ours / "mine.json").write_text("{}")          # a file someone else put there later
    (ours / "aws-tgw" / "keep.json").write_text("{}")
    run("network", "compile", "--target", "aws-cloudwan", "--out", str(ours), check=True)
    assert (ours / "mine.json").exists() and (ours / "aws-tgw" / "keep.json").exists()
    assert not (ours / "aws-tgw" / "transit-gateway.json").exists()


# --- tables: IPv4 and IPv6, longest prefix, static over propagated -------------------------------------------

PREFIXES = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.0/25", "0.0.0.0/0", "::/0", "2001:db8::/32",
            "2001:db8:1::/48", "2001:db8:1:2::/64", "fd00::/8"]


@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(routes=st.lists(st.tuples(st.sampled_from(PREFIXES), st.sampled_from(["a", "b", "c"]), st.booleans()), max_size=10),
       destination=st.sampled_from(PREFIXES))
def test_lookup_matches_a_scan_of_every_route(routes, destination):
    import ipaddress

    table = Table("t")
    for cidr, target, static in routes:
        table.add(cidr, target, static)
    dst = ipaddress.ip_network(destination)
    expected: set = set()
    covering = [(ipaddress.ip_network(c), t, s) for c, t, s in routes
                if ipaddress.ip_network(c).version == dst.version and dst.subnet_of(ipaddress.ip_network(c))]
    if covering:
        best = max(n.prefixlen for n, _, _ in covering)
        at_best = [(t, str(n), s) for n, t, s in covering if n.prefixlen == best]
        statics = {(t, c) for t, c, s in at_best if s}
        expected |= statics or {(t, c) for t, c, _ in at_best}
    inside = {}
    for c, t, s in routes:
        n = ipaddress.ip_network(c)
        if n.version == dst.version and n.subnet_of(dst) and n.prefixlen > dst.prefixlen:
            inside.setdefault(str(n), []).append((t, s))
    for c, hits in inside.items():
        statics = {(t, c) for t, s in hits if s}
        expected |= statics or {(t, c) for t, _ in hits}
    assert set(table.lookup(destination)) == expected


def test_families_never_overlap():
    assert not overlaps("0.0.0.0/0", "::/0") and overlaps("*", "::/0") and overlaps("*", "10.0.0.0/8")
    assert span("::/0")[0] > span("0.0.0.0/0")[1]


@pytest.mark.parametrize("name, text, expect", [
    (CW, None, "duplicate key 'segment-actions' (at $.segment-actions)"),
    ("attachments.json", '[{"name": "a",\n  "name": "b"}]', "attachments.json:2:3: invalid JSON: duplicate key 'name'"),
    ("manifest.json", '{"version": 1, "targets": ["aws-tgw"], "targets": []}', "duplicate key 'targets'"),
    ("tenants.json", '{"x": Infinity}', "not a JSON number"),
])
def test_compiled_files_go_through_the_bounded_json_loader(run, tmp_path, name, text, expect):
    """A duplicate key overrode the first silently (plans and history refuse it); NaN, Infinity
    and excessive depth likewise."""
    out = tmp_path / "c"
    run("network", "compile", "--out", str(out), check=True)
    if text is None:   # a second, empty segment-actions after the real one
        body = (out / name).read_text().rstrip().removesuffix("}")
        text = body.rstrip() + ',\n "segment-actions": []\n}\n'
    (out / name).write_text(text)
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 1 and expect in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_policy_file_the_manifest_lists_must_be_there(run, tmp_path):
    out = tmp_path / "c"
    run("network", "compile", "--out", str(out), check=True)
    (out / "aws-cloudwan" / "core-network-policy.json").unlink()
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 1 and "core-network-policy.json: missing" in proc.stderr and "manifest.json lists" in proc.stderr


@pytest.mark.parametrize("targets", [[[], "aws-tgw"], [{"a": 1}], "aws-tgw", [None]])
def test_a_manifest_with_odd_targets_is_refused(run, tmp_path, targets):
    """Found by the CLI fuzz: a list inside `targets` crashed with an unhashable-type TypeError."""
    out = tmp_path / "c"
    run("network", "compile", "--out", str(out), check=True)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "targets": targets}))
    proc = run("network", "verify", "--compiled", str(out))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "targets must be a list" in proc.stderr

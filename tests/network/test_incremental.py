"""Incremental re-verification gives exactly what a full verification gives."""

import copy

from hypothesis import given, settings, strategies as st

from govcloud.network.compile import Compiled, compile_network
from govcloud.network.fabric import load_fabrics
from govcloud.network.pipeline import workspace_intent, write_compiled
from govcloud.network.verify import verify
from govcloud.workspace import Workspace
from tests.conftest import REPO

COMPILED = compile_network(workspace_intent(Workspace(REPO)))
CIDRS = ["172.16.0.0/20", "172.17.0.0/20", "10.40.0.0/24", "10.16.0.0/24", "10.64.0.0/24", "0.0.0.0/0", "203.0.113.0/28"]


def summary(report):
    return (sorted((v.invariant, v.layer, v.source, v.destination, v.message) for v in report.violations),
            sorted((r.source, r.destination, r.protocol, r.port) for r in report.reachable))


@settings(max_examples=40, deadline=None)
@given(tenant=st.sampled_from(sorted(COMPILED.files["tenants.json"])), cidr=st.sampled_from(CIDRS),
       port=st.sampled_from([443, 8443]), kind=st.sampled_from(["add-ingress", "add-egress", "drop-all"]))
def test_incremental_equals_full(tmp_path_factory, tenant, cidr, port, kind):
    base_dir, changed_dir = tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("changed")
    write_compiled(base_dir, COMPILED)
    files = copy.deepcopy(COMPILED.files)
    entry = files["tenants.json"][tenant]
    if kind == "add-ingress":
        rule = {"cidr": cidr, "protocol": "tcp", "port": port, "description": "edited"}
        if "securityGroups" in entry:
            entry["securityGroups"][0]["ingress"].append(rule)
        else:
            entry["nsgRules"].insert(0, {"name": "edited", "priority": 100, "access": "Allow", "direction": "Inbound",
                                         "protocol": "tcp", "sourceAddressPrefixes": [cidr], "destinationPortRange": str(port)})
    elif kind == "add-egress":
        entry["egress"].append({"cidr": cidr, "protocol": "tcp", "port": port})
    else:
        entry.pop("securityGroups", None)
        entry.pop("nsgRules", None)
    write_compiled(changed_dir, Compiled(files))
    for base, changed in zip(load_fabrics(base_dir), load_fabrics(changed_dir)):
        before = verify(base)
        incremental = verify(changed, previous=before.state)
        full = verify(changed)
        assert incremental.reverified < full.reverified or full.reverified <= 1
        assert summary(incremental) == summary(full)

"""`network verify` reads the plans: what a deployment creates. Edits to the plans (the shapes a
template bug would produce) are caught; features the reader does not model are refused; the
deploy gate refuses a stack whose plans fail the proof."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from govcloud.network.errors import NetworkInputError, Unsupported
from govcloud.network.fabric import fabrics_from_documents
from govcloud.app.network import network_gate, offline_stack_outputs, plan_inputs
from govcloud.network.plans import documents_from_plans
from govcloud.network.verify import verify
from govcloud.workspace import Workspace

MINATO = "tenant-minato-data-kokuho-prod"


@pytest.fixture(scope="module")
def planned(tmp_path_factory, sample_plan_cache):
    from tests.conftest import copy_sample_workspace, with_plan_cache

    root = with_plan_cache(copy_sample_workspace(tmp_path_factory.mktemp("ws")), sample_plan_cache)
    _, plans, inventory, configured = plan_inputs(Workspace(root))
    return plans, inventory, configured


def violations(plans, inventory, configured):
    docs = documents_from_plans(plans, inventory, configured, stack_outputs=offline_stack_outputs)
    return [v for f in fabrics_from_documents(docs) for v in verify(f).violations]


def resource(plans, stack, type_suffix):
    return next(r for r in plans[stack]["deployment"]["resources"] if r["type"].endswith(type_suffix))


def test_sample_plans_verify_clean(planned):
    assert violations(*planned) == []


def test_zone_label_propagation_is_caught(planned):
    """The bug this issue started from: the tenant's hub connection propagated by label [zone]."""
    plans, inventory, configured = copy.deepcopy(planned)
    conn = resource(plans, MINATO, "HubVirtualNetworkConnection")
    conn["inputs"]["routingConfiguration"]["propagatedRouteTables"]["labels"] = ["mynumber"]
    found = violations(plans, inventory, configured)
    hits = [v for v in found if v.invariant == "mynumber-isolation" and v.destination == "minato-data-kokuho-prod"]
    assert hits and any("rt-mynumber" in hop for hop in hits[0].path)


def test_expressroute_zone_label_is_caught(planned):
    plans, inventory, configured = copy.deepcopy(planned)
    for r in plans["network"]["deployment"]["resources"]:
        if r["type"].endswith("ExpressRouteConnection"):
            r["inputs"]["routingConfiguration"]["propagatedRouteTables"] = {"labels": ["mynumber"]}
    # sites now land in the tenants' table and lose the inspection table: reachability changes
    docs = documents_from_plans(plans, inventory, configured, stack_outputs=offline_stack_outputs)
    (fabric,) = fabrics_from_documents(docs)
    assert "site:011002:honcho-mynumber" in {t for t, _ in fabric.tables["vwan:vhub-govcloud-japaneast/rt-mynumber"].lookup("172.19.0.0/19")}


def test_security_group_rule_in_the_plan_is_verified(planned):
    plans, inventory, configured = copy.deepcopy(planned)
    rule = resource(plans, "tenant-131016-juki-prod", "SecurityGroupIngressRule")
    plans["tenant-131016-juki-prod"]["deployment"]["resources"].append(
        {**copy.deepcopy(rule), "inputs": {**rule["inputs"], "cidrIpv4": None, "cidrIpv6": "::/0"}})
    plans["tenant-131016-juki-prod"]["deployment"]["resources"][-1]["inputs"].pop("cidrIpv4")
    found = violations(plans, inventory, configured)
    assert any(v.invariant == "internet-never-reaches-mynumber" and v.layer == "filtering" for v in found)


def test_vpc_route_to_an_internet_gateway_in_the_plan(planned):
    plans, inventory, configured = copy.deepcopy(planned)
    route = resource(plans, "tenant-131016-juki-prod", "ec2/route:Route")
    route["inputs"] = {"destinationCidrBlock": "0.0.0.0/0", "routeTableId": route["inputs"]["routeTableId"],
                       "gatewayId": "igw-0123456789abcdef0"}
    found = violations(plans, inventory, configured)
    assert any(v.invariant == "mynumber-never-reaches-internet" and "igw-" in v.message for v in found)


def test_nsg_priority_in_the_plan(planned):
    plans, inventory, configured = copy.deepcopy(planned)
    nsg = resource(plans, MINATO, "NetworkSecurityGroup")
    nsg["inputs"]["securityRules"].append({"access": "Allow", "destinationAddressPrefix": "*", "destinationPortRange": "*",
                                           "direction": "Inbound", "name": "open", "priority": 4000.0, "protocol": "*",
                                           "sourceAddressPrefix": "Internet", "sourcePortRange": "*"})
    assert any(v.invariant == "internet-never-reaches-mynumber" for v in violations(plans, inventory, configured))
    nsg["inputs"]["securityRules"][-1]["priority"] = 4097.0    # behind deny-all-inbound (4096): out of range
    with pytest.raises(NetworkInputError):
        violations(plans, inventory, configured)


def test_firewall_rule_group_in_the_plan(planned):
    plans, inventory, configured = copy.deepcopy(planned)
    group = resource(plans, "network", "ruleGroup:RuleGroup")
    rules = group["inputs"]["ruleGroup"]["rulesSource"]["statefulRules"]
    rules.insert(0, {"action": "PASS", "header": {"destination": "10.16.0.0/24", "destinationPort": "22", "direction": "FORWARD",
                                                 "protocol": "TCP", "source": "10.40.0.0/24", "sourcePort": "ANY"},
                     "ruleOptions": [{"keyword": "sid:9"}]})
    policy = json.loads(resource(plans, "network", "CoreNetworkPolicyAttachment")["inputs"]["policyDocument"])
    assert policy["version"] == "2021.12"
    # the rule passes, but no route leads from the internet segment to juki: no violation by routing;
    # what the firewall would pass is judged where a route exists
    docs = documents_from_plans(plans, inventory, configured, stack_outputs=offline_stack_outputs)
    (fabric,) = fabrics_from_documents(docs)
    assert fabric.firewalls["inspection-aws"].passes("10.40.0.0/24", "10.16.0.0/24", "tcp", 22) == "sid 9"


@pytest.mark.parametrize("edit, field", [
    (lambda p: p["network"]["deployment"]["resources"].append({"type": "aws:ec2/transitGateway:TransitGateway", "inputs": {}}),
     "resource type aws:ec2/transitGateway:TransitGateway"),
    (lambda p: resource(p, MINATO, "HubVirtualNetworkConnection")["inputs"]["routingConfiguration"].update(
        vnetRoutes={"staticRoutes": [{"addressPrefixes": ["0.0.0.0/0"]}]}), "vnetRoutes"),
    (lambda p: resource(p, "network", ":VirtualWan")["inputs"].update(allowBranchToBranchTraffic=False),
     "allowBranchToBranchTraffic false"),
    (lambda p: resource(p, "tenant-131016-juki-prod", "SecurityGroupIngressRule")["inputs"].update(prefixListId="pl-1"),
     "prefixListId"),
])
def test_unmodelled_plan_features_are_refused(planned, edit, field):
    plans, inventory, configured = copy.deepcopy(planned)
    edit(plans)
    with pytest.raises(Unsupported) as exc:
        violations(plans, inventory, configured)
    assert f"unsupported: {field} at $.deployment.resources[" in str(exc.value)


def test_a_duplicate_key_in_the_deployed_policy_document_is_refused(planned):
    """The policy inside the plan is JSON text: read like every other network input, so a second
    segment-actions cannot silently override the first."""
    plans, inventory, configured = copy.deepcopy(planned)
    r = resource(plans, "network", "CoreNetworkPolicyAttachment")
    r["inputs"]["policyDocument"] = r["inputs"]["policyDocument"].rstrip().removesuffix("}") + ', "segment-actions": []}'
    with pytest.raises(NetworkInputError, match="duplicate key 'segment-actions'"):
        violations(plans, inventory, configured)


def test_a_missing_tenant_plan_is_an_error(planned):
    plans, inventory, configured = copy.deepcopy(planned)
    del plans[MINATO]
    with pytest.raises(NetworkInputError, match="no plan for tenant-minato-data-kokuho-prod"):
        violations(plans, inventory, configured)


def test_deploy_gate_refuses_plans_that_fail_the_proof(ws: Path, plans_share):
    from govcloud.diagnostics import UsageError
    from govcloud.tenants.registry import load_registry

    workspace = Workspace(ws)
    reg = load_registry(workspace)
    network_gate(workspace, reg, "network")       # the sample passes
    plans_share("internet", "mynumber")
    with pytest.raises(UsageError, match="refusing to deploy tenant-131016-juki-prod: the plans fail the network proof"):
        network_gate(workspace, reg, "tenant-131016-juki-prod")

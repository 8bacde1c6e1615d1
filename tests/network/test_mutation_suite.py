"""Mutation suite: each hand edit of the sample's compiled configuration must be caught with the
right invariant and a hop-by-hop path; safe edits must not alarm.

The documents are compiled once from the sample workspace; each mutation edits a deep copy and
the verifier reads it through the same readers as `network verify --compiled`."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from govcloud.network.fabric import fabrics_from_documents
from govcloud.network.pipeline import compile_workspace
from govcloud.network.verify import verify
from govcloud.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
CW, TGW, VWAN, TENANTS, FW, ATT = ("aws-cloudwan/core-network-policy.json", "aws-tgw/transit-gateway.json",
                                   "azure-vwan/virtual-wan.json", "tenants.json", "firewall.json", "attachments.json")
JUKI, DENSHI, MINATO = "131016-juki-prod", "271004-denshi-shinsei-prod", "minato-data-kokuho-prod"
INTERNET_SITE = "site:131016:honcho-internet"
OWN_MYNUMBER_SITE, OTHER_MYNUMBER_SITE = "172.16.0.0/20", "172.17.0.0/20"   # 131016's and 132012's


@pytest.fixture(scope="module")
def sample() -> dict:
    _, compiled = compile_workspace(Workspace(REPO))
    return compiled.files


def violations(docs: dict) -> list:
    return [v for fabric in fabrics_from_documents(docs) for v in verify(fabric).violations]


def att(docs, name):
    return next(a for a in docs[ATT] if a["name"] == name)


def rule(number, conditions, action, logic="or"):
    return {"rule-number": number, "condition-logic": logic, "conditions": conditions, "action": action}


def to_mynumber(*conditions, logic="or"):
    return lambda d: d[CW]["attachment-policies"].append(
        rule(1, list(conditions), {"association-method": "constant", "segment": "mynumber"}, logic))


def identify(d):
    """Resource ids, accounts and regions for every attachment, as an attachments file gives them."""
    for i, a in enumerate(d[ATT]):
        a.update(resourceId=f"attachment-{i:04d}", accountId=f"{100000000000 + i}", region=a.get("region") or "ap-northeast-1")


def tag(key, value, operator="equals"):
    return {"type": "tag-value", "operator": operator, "key": key, "value": value}


def share(segment, share_with):
    return lambda d: d[CW]["segment-actions"].append(
        {"action": "share", "mode": "attachment-route", "segment": segment, "share-with": share_with})


def create_route(segment, cidr, destination):
    return lambda d: d[CW]["segment-actions"].append(
        {"action": "create-route", "segment": segment, "destination-cidr-blocks": [cidr],
         "destinations": [destination if destination == "blackhole" else f"attachment:{destination}"]})


def both(*edits):
    def apply(d):
        for e in edits:
            e(d)
    return apply


def set_(path_fn, value):
    return lambda d: path_fn(d).update(value)


def sg(tenant, **r):
    return lambda d: d[TENANTS][tenant]["securityGroups"][0]["ingress"].append({"protocol": "tcp", "port": 443, **r})


def nsg(tenant, **r):
    return lambda d: d[TENANTS][tenant]["nsgRules"].append({"direction": "Inbound", "access": "Allow", "protocol": "tcp",
                                                            "destinationPortRange": "443", **r})


def vpc_route(tenant, cidr, target):
    return lambda d: d[TENANTS][tenant]["routes"].append({"destination": cidr, "target": target})


def fw_rule(**r):
    return lambda d: d[FW]["rules"].insert(0, {"id": "hand-made", "action": "pass", "protocol": "tcp", "port": 443, **r})


def tgw_route(table, cidr, target):
    return lambda d: d[TGW]["routeTables"][table]["routes"].append({"destination": cidr, "target": target})


def tgw_propagate(table, member):
    return lambda d: d[TGW]["routeTables"][table]["propagations"].append(member)


def vwan_route(table, cidr, hop):
    return lambda d: d[VWAN]["hubRouteTables"][table]["routes"].append({"destination": cidr, "nextHop": hop})


def conn(name, **fields):
    return lambda d: d[VWAN]["connections"][name].update(fields)


def give_v6(name, prefix):
    return lambda d: att(d, name)["cidrs"].append(prefix)


def drop_create_route(cidr):
    return lambda d: d[CW].__setitem__("segment-actions", [a for a in d[CW]["segment-actions"]
                                                            if cidr not in a.get("destination-cidr-blocks", [])])


INTERNET_TO_MYNUMBER = "internet-never-reaches-mynumber"
BYPASS = "intake-crosses-inspection"
MYNUMBER_OUT = "mynumber-never-reaches-internet"
SEPARATION = "municipality-separation"
LEAST = "least-privilege"
DECLARED = "declared-flows-get-through"
ATTACHED = "every-attachment-attached"

MUTATIONS = {
    # --- Cloud WAN: segments, shares, attachment policies -------------------------------------
    "cw-share-internet-with-mynumber": (share("internet", ["mynumber"]), INTERNET_TO_MYNUMBER),
    "cw-share-internet-with-star": (share("internet", "*"), INTERNET_TO_MYNUMBER),
    "cw-share-with-except": (share("internet", {"except": ["lgwan"]}), INTERNET_TO_MYNUMBER),
    "cw-share-mynumber-with-internet": (share("mynumber", ["internet"]), BYPASS),
    "cw-share-from-shared-services-star": (both(share("shared-services", "*"),
                                                lambda d: att(d, DENSHI)["tags"].update(segment="shared-services")),
                                           INTERNET_TO_MYNUMBER),
    "cw-policy-any-to-mynumber": (to_mynumber({"type": "any"}), INTERNET_TO_MYNUMBER),
    "cw-policy-not-equals": (to_mynumber(tag("segment", "lgwan", "not-equals")), INTERNET_TO_MYNUMBER),
    "cw-policy-begins-with": (to_mynumber(tag("segment", "inter", "begins-with")), INTERNET_TO_MYNUMBER),
    "cw-policy-contains": (to_mynumber(tag("segment", "erne", "contains")), INTERNET_TO_MYNUMBER),
    "cw-policy-tag-exists": (both(lambda d: att(d, DENSHI)["tags"].update(backdoor="1"),
                                  to_mynumber({"type": "tag-exists", "key": "backdoor"})), INTERNET_TO_MYNUMBER),
    "cw-policy-resource-id": (both(identify, lambda d: att(d, DENSHI).update(resourceId="attachment-0abc"),
                                   to_mynumber(tag("kind", "tenant"), {"type": "resource-id", "operator": "equals",
                                                                       "value": "attachment-0abc"}, logic="and")),
                              INTERNET_TO_MYNUMBER),
    "cw-policy-account-id": (both(identify, lambda d: att(d, DENSHI).update(accountId="111122223333"),
                                  to_mynumber(tag("kind", "tenant"), {"type": "account-id", "operator": "equals",
                                                                      "value": "111122223333"}, logic="and")),
                             INTERNET_TO_MYNUMBER),
    "cw-policy-region-and-tag": (both(identify, to_mynumber(tag("kind", "tenant"), {"type": "region", "operator": "equals",
                                                                                    "value": "ap-northeast-3"},
                                                            logic="and")), INTERNET_TO_MYNUMBER),
    "cw-policy-attachment-type": (to_mynumber({"type": "attachment-type", "operator": "equals", "value": "vpn"},
                                              tag("segment", "internet"), logic="and"), INTERNET_TO_MYNUMBER),
    "cw-policy-association-by-tag": (both(lambda d: att(d, DENSHI)["tags"].update(route="mynumber"),
                                          lambda d: d[CW]["attachment-policies"].append(rule(
                                              1, [{"type": "tag-exists", "key": "route"}],
                                              {"association-method": "tag", "tag-value-of-key": "route"}))),
                                     INTERNET_TO_MYNUMBER),
    "cw-policy-nfg-by-other-tag": (lambda d: d[CW]["attachment-policies"].append(rule(
        1, [tag("segment", "internet")], {"add-to-network-function-group": "inspection"})), INTERNET_TO_MYNUMBER),
    "cw-isolation-off-and-internet-tag": (both(lambda d: d[CW]["segments"][[s["name"] for s in d[CW]["segments"]].index("mynumber")]
                                               .update({"isolate-attachments": False}),
                                               lambda d: att(d, INTERNET_SITE)["tags"].update(segment="mynumber")),
                                          INTERNET_TO_MYNUMBER),
    "cw-create-route-internet-to-juki": (create_route("internet", "10.16.0.0/24", JUKI), BYPASS),
    # a static route wins over the send-via route (through inspection) of the same prefix
    "cw-create-route-mynumber-out": (create_route("mynumber", "172.16.32.0/20", INTERNET_SITE), MYNUMBER_OUT),
    "cw-create-route-ipv6-out": (both(give_v6(INTERNET_SITE, "2001:db8:100::/48"),
                                      create_route("mynumber", "2001:db8:100::/48", INTERNET_SITE)), MYNUMBER_OUT),
    "cw-send-via-star-with-open-firewall": (both(lambda d: d[CW]["segment-actions"].append(
        {"action": "send-via", "segment": "internet", "mode": "single-hop", "when-sent-to": {"segments": "*"},
         "via": {"network-function-groups": ["inspection"]}}), lambda d: d[FW].update(defaultAction="pass")),
        INTERNET_TO_MYNUMBER),
    "cw-send-to-with-open-firewall": (both(lambda d: d[CW]["segment-actions"].append(
        {"action": "send-to", "segment": "mynumber", "via": {"network-function-groups": ["inspection"]}}),
        share("shared-services", ["mynumber"]), lambda d: att(d, INTERNET_SITE)["tags"].update(segment="shared-services"),
        lambda d: d[FW].update(defaultAction="pass")), MYNUMBER_OUT),
    "cw-blackhole-declared-flow": (create_route("mynumber", "10.16.0.0/25", "blackhole"), DECLARED),
    "cw-drop-create-route": (drop_create_route("10.16.0.0/24"), DECLARED),
    "cw-drop-send-via": (lambda d: d[CW].__setitem__("segment-actions", [a for a in d[CW]["segment-actions"]
                                                                          if a["action"] != "send-via"]), DECLARED),
    "cw-unattached-by-policy": (lambda d: att(d, JUKI)["tags"].update(segment="nowhere"), ATTACHED),
    # --- Transit Gateway ------------------------------------------------------------------------------------
    "tgw-static-bypass": (tgw_route("rt-internet", "10.16.0.0/24", JUKI), BYPASS),
    "tgw-propagate-mynumber-into-internet": (tgw_propagate("rt-internet", JUKI), INTERNET_TO_MYNUMBER),
    "tgw-associate-internet-with-mynumber": (lambda d: d[TGW]["associations"].update({DENSHI: "rt-mynumber"}),
                                             INTERNET_TO_MYNUMBER),
    "tgw-default-out-of-mynumber": (tgw_route("rt-mynumber", "0.0.0.0/0", INTERNET_SITE), MYNUMBER_OUT),
    "tgw-more-specific-beats-inspection": (tgw_route("rt-internet", "10.64.0.0/25", "intercloud-aws-mynumber"), BYPASS),
    "tgw-blackhole-declared": (tgw_route("rt-mynumber", "10.16.0.0/24", "blackhole"), DECLARED),
    "tgw-association-removed": (lambda d: d[TGW]["associations"].pop(JUKI), ATTACHED),
    # --- Azure Virtual WAN ----------------------------------------------------------------------------------
    "vwan-link-propagates-into-mynumber-by-id": (conn("intercloud-azure-internet",
                                                      propagatedRouteTables=["rt-internet", "rt-inspection", "rt-mynumber"]),
                                                 MYNUMBER_OUT),
    "vwan-link-propagates-into-mynumber-by-label": (conn("intercloud-azure-internet", propagatedLabels=["mynumber"]),
                                                    MYNUMBER_OUT),
    "vwan-static-default-out": (vwan_route("rt-mynumber", "0.0.0.0/0", "intercloud-azure-internet"), MYNUMBER_OUT),
    "vwan-static-ipv6-out": (both(give_v6(INTERNET_SITE, "2001:db8:200::/48"),
                                  vwan_route("rt-mynumber", "::/0", "intercloud-azure-internet")), MYNUMBER_OUT),
    "vwan-associate-with-inspection-table": (conn(MINATO, associatedRouteTable="rt-inspection"), MYNUMBER_OUT),
    "vwan-connection-removed": (lambda d: d[VWAN]["connections"].pop(MINATO), ATTACHED),
    "vwan-static-route-removed": (lambda d: d[VWAN]["hubRouteTables"]["rt-mynumber-branches"].update(routes=[]), DECLARED),
    "vwan-blackhole-declared": (vwan_route("rt-mynumber", "10.16.0.0/25", "blackhole"), DECLARED),
    # --- NSGs -----------------------------------------------------------------------------------------------------
    "nsg-allow-internet-tag": (nsg(MINATO, name="open", priority=100, sourceAddressPrefix="Internet"), INTERNET_TO_MYNUMBER),
    "nsg-allow-star": (nsg(MINATO, name="open", priority=100, sourceAddressPrefix="*", destinationPortRange="22"),
                       INTERNET_TO_MYNUMBER),
    "nsg-singular-prefix-internet-tenant": (nsg(MINATO, name="x", priority=110, sourceAddressPrefix="10.40.0.0/24",
                                                destinationPortRange="8443"), INTERNET_TO_MYNUMBER),
    "nsg-deny-all-removed": (lambda d: d[TENANTS][MINATO].update(
        nsgRules=[r for r in d[TENANTS][MINATO]["nsgRules"] if r["access"] == "Allow"]), INTERNET_TO_MYNUMBER),
    "nsg-deny-all-flipped": (lambda d: d[TENANTS][MINATO]["nsgRules"][-1].update(access="Allow"), INTERNET_TO_MYNUMBER),
    "nsg-virtualnetwork-tag": (nsg(MINATO, name="vnet", priority=120, sourceAddressPrefix="VirtualNetwork"),
                               INTERNET_TO_MYNUMBER),
    "nsg-other-municipality": (nsg(MINATO, name="x", priority=130, sourceAddressPrefixes=["172.18.0.0/19"]), SEPARATION),
    "nsg-port-range": (nsg(MINATO, name="x", priority=140, sourceAddressPrefix="172.16.0.0/20",
                           destinationPortRanges=["400-500"]), LEAST),
    "nsg-ipv6-any": (nsg(MINATO, name="v6", priority=150, sourceAddressPrefix="::/0"), INTERNET_TO_MYNUMBER),
    "nsg-egress-open": (lambda d: d[TENANTS][MINATO]["egress"].append({"cidr": "0.0.0.0/0", "protocol": "tcp", "port": 443}),
                        MYNUMBER_OUT),
    # --- security groups ------------------------------------------------------------------------------------
    "sg-other-municipality": (sg(JUKI, cidr=OTHER_MYNUMBER_SITE), SEPARATION),
    "sg-open-ipv4": (sg(JUKI, cidr="0.0.0.0/0"), INTERNET_TO_MYNUMBER),
    "sg-open-ipv6": (sg(JUKI, cidr="::/0"), INTERNET_TO_MYNUMBER),
    "sg-internet-tenant": (sg(JUKI, cidr="10.40.0.0/24"), INTERNET_TO_MYNUMBER),
    "sg-undeclared-port": (sg(JUKI, cidr=OWN_MYNUMBER_SITE, port=22), LEAST),
    "sg-all-protocols": (sg(JUKI, cidr=OWN_MYNUMBER_SITE, protocol="-1", port="*"), LEAST),
    "sg-egress-open": (lambda d: d[TENANTS][JUKI]["egress"].append({"cidr": "0.0.0.0/0", "protocol": "-1", "port": "*"}),
                       MYNUMBER_OUT),
    "sg-egress-open-ipv6": (lambda d: d[TENANTS][JUKI]["egress"].append({"cidr": "::/0", "protocol": "tcp", "port": 443}),
                            MYNUMBER_OUT),
    # --- firewalls ---------------------------------------------------------------------------------------------
    "fw-pass-internet-tenant": (fw_rule(sources=["10.40.0.0/24"], destinations=["10.64.0.0/24"], port=8443),
                                INTERNET_TO_MYNUMBER),
    "fw-pass-everything-internet": (fw_rule(sources=["0.0.0.0/0"], destinations=["10.64.0.0/24"]), INTERNET_TO_MYNUMBER),
    "fw-default-pass": (lambda d: d[FW].update(defaultAction="pass"), INTERNET_TO_MYNUMBER),
    "fw-drop-exception": (fw_rule(action="drop", sources=["10.40.0.0/24"], destinations=["10.64.0.0/24"]), DECLARED),
    "fw-reject-exception": (fw_rule(action="reject", sources=["*"], destinations=["*"], protocol="*", port="*"), DECLARED),
    "fw-alert-then-pass": (both(lambda d: d[FW]["rules"].append({"id": "late", "action": "pass", "protocol": "tcp",
                                                                 "port": 8443, "sources": ["10.40.0.0/24"],
                                                                 "destinations": ["10.64.0.0/24"]}),
                                fw_rule(action="alert", sources=["*"], destinations=["*"], protocol="*", port="*")),
                           INTERNET_TO_MYNUMBER),
    # --- VPC / VNet routes ------------------------------------------------------------------------------------
    "vpc-route-igw-id": (vpc_route(JUKI, "0.0.0.0/0", "igw-0123456789abcdef0"), MYNUMBER_OUT),
    "vpc-route-eigw-ipv6": (vpc_route(JUKI, "::/0", "eigw-0123456789abcdef0"), MYNUMBER_OUT),
    "vpc-route-nat": (vpc_route(JUKI, "0.0.0.0/0", "nat-0123456789abcdef0"), MYNUMBER_OUT),
    "vnet-route-internet": (vpc_route(MINATO, "0.0.0.0/0", "Internet"), MYNUMBER_OUT),
}


def test_suite_is_large_and_distinct():
    assert len(MUTATIONS) >= 50
    families = {name.split("-")[0] for name in MUTATIONS}
    assert {"cw", "tgw", "vwan", "nsg", "sg", "fw", "vpc"} <= families


def test_sample_is_clean(sample):
    assert violations(copy.deepcopy(sample)) == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_is_caught(sample, name):
    mutate, invariant = MUTATIONS[name]
    docs = copy.deepcopy(sample)
    mutate(docs)
    found = violations(docs)
    hits = [v for v in found if v.invariant == invariant]
    assert hits, f"{name}: expected {invariant}, got {sorted({v.invariant for v in found})}"
    assert any(len(v.path) >= 2 for v in hits), f"{name}: no hop-by-hop path in {hits[0]}"


SAFE_EDITS = {
    # a deny in front of an allow: the allow never applies to what the deny covers
    "nsg-deny-before-allow": both(nsg(MINATO, name="deny-ssh", priority=150, access="Deny", protocol="*",
                                      sourceAddressPrefix="*", destinationPortRange="22"),
                                  nsg(MINATO, name="allow-ssh", priority=200, sourceAddressPrefix="*",
                                      destinationPortRange="22")),
    "fw-drop-before-pass": both(lambda d: d[FW]["rules"].append({"id": "late", "action": "pass", "protocol": "tcp",
                                                                 "port": 8443, "sources": ["10.40.0.0/24"],
                                                                 "destinations": ["10.64.0.0/24"]}),
                                fw_rule(action="drop", sources=["10.40.0.0/24"], destinations=["10.64.0.0/24"], port=8443)),
    # a static route overriding a propagation of the same prefix
    "tgw-static-overrides-propagation": both(tgw_propagate("rt-internet", JUKI),
                                             tgw_route("rt-internet", "10.16.0.0/24", "inspection-aws")),
    "vwan-static-overrides-propagation": conn(MINATO, propagatedRouteTables=["rt-mynumber-branches", "rt-inspection",
                                                                             "rt-internet", "rt-internet-branches"]),
    "cw-static-overrides-propagation": both(share("internet", ["shared-services"]),
                                            create_route("internet", "10.16.0.0/24", "blackhole")),
    "cw-version-2025-11": lambda d: d[CW].update(version="2025.11"),
    "cw-deny-filter": lambda d: next(s for s in d[CW]["segments"] if s["name"] == "mynumber").update(
        {"deny-filter": ["internet"]}),
    "cw-share-with-except-mynumber": share("internet", {"except": ["mynumber", "lgwan", "shared-services"]}),
    "nsg-deny-unrelated": nsg(MINATO, name="deny-x", priority=100, access="Deny", protocol="*",
                              sourceAddressPrefix="192.0.2.0/24", destinationPortRange="*"),
}


@pytest.mark.parametrize("name", sorted(SAFE_EDITS))
def test_safe_edit_does_not_alarm(sample, name):
    docs = copy.deepcopy(sample)
    SAFE_EDITS[name](docs)
    assert violations(docs) == [], name

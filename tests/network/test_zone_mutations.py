"""LGWAN and the other zones' rules (network/data/zone-rules.yaml, the security models) and the
readings of what the Cloud WAN documentation leaves open: each hand edit of the sample's compiled
configuration is caught with the right invariant and a hop-by-hop path (and, for an ambiguity,
the reading that breaks it); the safe edits do not alarm under any reading."""

from __future__ import annotations

import copy

import pytest

from govcloud.network.cloudwan import DEFAULT_READING, Reading
from govcloud.network.fabric import fabrics_from_documents
from govcloud.network.verify import verify
from tests.network.test_mutation_suite import (ATT, CW, DENSHI, JUKI, MINATO, TENANTS, TGW, VWAN, att, both, create_route,
                                               nsg, rule, sample, sg, share, tag, tgw_propagate, tgw_route, vpc_route,
                                               vwan_route)

__all__ = ["sample"]   # the module-scoped fixture, shared

ZAIMU = "011002-zaimu-prod"                       # the sample's LGWAN tenant (Azure), serving 札幌市 (alpha)
ZAIMU_CIDR = "10.84.0.0/25"
SAPPORO_INTERNET = "172.19.64.0/19"               # site:011002:honcho-internet
CHIYODA_INTERNET, CHIYODA_LGWAN = "172.16.32.0/20", "172.16.16.0/20"
OSAKA_LGWAN = "172.20.32.0/19"                    # site:271004:shiyakusho-lgwan (alpha-prime)
IN_LGWAN, LGWAN_OUT, LGWAN_MYNUMBER = "internet-never-reaches-lgwan", "lgwan-never-reaches-internet", \
    "lgwan-never-reaches-mynumber"
MODEL = "site-access-per-security-model"
ISOLATION, INTERNET_TO_MYNUMBER = "mynumber-isolation", "internet-never-reaches-mynumber"
SELF = Reading(star_includes_self=True).label
ABSENT_NEVER = Reading(absent_tag_not_equals=False).label


def reports(docs: dict) -> list:
    return [verify(fabric) for fabric in fabrics_from_documents(docs)]


def violations(docs: dict) -> list:
    return [v for r in reports(docs) for v in r.violations]


def egress(tenant, **r):
    return lambda d: d[TENANTS][tenant].setdefault("egress", []).append({"protocol": "tcp", "port": 443, **r})


def policies(*rules):
    """Attachment policies replaced: the inspection function's rule first, then ``rules``."""
    def apply(d):
        keep = [p for p in d[CW]["attachment-policies"] if "add-to-network-function-group" in p["action"]]
        d[CW]["attachment-policies"] = keep + list(rules)
    return apply


BY_SEGMENT_TAG = {"association-method": "tag", "tag-value-of-key": "segment"}

# name -> (edit, invariant, reading the violation must name: None = any, "" = every reading)
MUTATIONS = {
    # --- internet never reaches LGWAN (routing) --------------------------------------------------
    "cw-share-internet-with-lgwan": (share("internet", ["lgwan"]), IN_LGWAN, ""),
    "cw-share-lgwan-with-internet": (share("lgwan", ["internet"]), IN_LGWAN, ""),
    "cw-share-internet-with-star": (share("internet", "*"), IN_LGWAN, ""),
    "cw-route-internet-to-lgwan-link": (create_route("internet", ZAIMU_CIDR, "intercloud-aws-lgwan"), IN_LGWAN, ""),
    "cw-lgwan-sites-into-internet": (lambda d: d[CW]["attachment-policies"].insert(
        0, rule(1, [tag("segment", "lgwan")], {"association-method": "constant", "segment": "internet"})), IN_LGWAN, ""),
    "tgw-propagate-lgwan-site-into-internet": (tgw_propagate("rt-internet", "site:131016:honcho-lgwan"), IN_LGWAN, ""),
    "tgw-route-internet-to-lgwan-link": (tgw_route("rt-internet", ZAIMU_CIDR, "intercloud-aws-lgwan"), IN_LGWAN, ""),
    # --- internet never reaches LGWAN (filtering: an LGWAN NSG admitting an internet range) -------
    "nsg-lgwan-admits-public-range": (nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix="203.0.113.0/24"),
                                      IN_LGWAN, ""),
    "nsg-lgwan-admits-internet-tag": (nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix="Internet"), IN_LGWAN, ""),
    "nsg-lgwan-admits-any": (nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix="*"), IN_LGWAN, ""),
    "nsg-lgwan-admits-internet-site": (nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix=CHIYODA_INTERNET),
                                       IN_LGWAN, ""),
    # --- LGWAN never reaches the internet --------------------------------------------------------
    "tgw-propagate-internet-site-into-lgwan": (tgw_propagate("rt-lgwan", "site:131016:honcho-internet"), LGWAN_OUT, ""),
    "vnet-route-lgwan-to-internet": (vpc_route(ZAIMU, "0.0.0.0/0", "Internet"), LGWAN_OUT, ""),
    "egress-lgwan-to-internet": (egress(ZAIMU, cidr="0.0.0.0/0"), LGWAN_OUT, ""),
    "sg-internet-tenant-admits-lgwan-site": (sg(DENSHI, cidr=OSAKA_LGWAN), LGWAN_OUT, ""),
    # --- LGWAN never reaches My Number -----------------------------------------------------------
    "cw-share-lgwan-with-mynumber": (share("lgwan", ["mynumber"]), LGWAN_MYNUMBER, ""),
    "sg-mynumber-admits-lgwan-site": (sg(JUKI, cidr=CHIYODA_LGWAN), LGWAN_MYNUMBER, ""),
    "nsg-mynumber-admits-lgwan-tenant": (nsg(MINATO, name="x", priority=200, sourceAddressPrefix=ZAIMU_CIDR),
                                         LGWAN_MYNUMBER, ""),
    "vwan-route-lgwan-to-mynumber": (vwan_route("rt-lgwan", "10.64.0.0/24", MINATO), LGWAN_MYNUMBER, ""),
    # --- the municipality's security model (effective reachability) ------------------------------
    # 札幌市 (alpha): its internet site reaches the LGWAN tenant directly — never, whatever routes it
    "model-alpha-internet-site-reaches-lgwan": (
        both(share("internet", ["lgwan"]), nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix=SAPPORO_INTERNET)),
        MODEL, ""),
    # 大阪市 (alpha-prime): its LGWAN site reaches an internet tenant directly — screen transfer only
    "model-alpha-prime-lgwan-site-reaches-internet-tenant": (
        both(share("lgwan", ["internet"]), sg(DENSHI, cidr=OSAKA_LGWAN)), MODEL, ""),
    # a site whose model the inventory does not name is held to every model at once
    "model-unnamed-is-strictest": (
        both(share("internet", ["lgwan"]), nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix=SAPPORO_INTERNET),
             lambda d: att(d, "site:011002:honcho-internet").pop("securityModel")), MODEL, ""),
    # --- ambiguity: each reading proved -----------------------------------------------------------
    # not-equals on a tag nobody carries places everything by its segment tag under one reading and
    # sends it all into the internet segment under the other: the other reading breaks.
    "ambiguity-not-equals-absent-tag-falls-through": (
        policies(rule(200, [tag("quarantine", "yes", "not-equals")], BY_SEGMENT_TAG),
                 rule(201, [{"type": "any"}], {"association-method": "constant", "segment": "internet"})),
        INTERNET_TO_MYNUMBER, ABSENT_NEVER),
    "ambiguity-not-equals-absent-tag-matches": (
        policies(rule(200, [tag("quarantine", "yes", "not-equals")], {"association-method": "constant", "segment": "internet"}),
                 rule(201, [{"type": "any"}], BY_SEGMENT_TAG)),
        INTERNET_TO_MYNUMBER, DEFAULT_READING.label),
    # a condition on a tag the attachment lacks decides which segment an LGWAN site lands in: only
    # under the reading that not-equals never matches it does it fall into the internet segment
    "ambiguity-lgwan-site-falls-into-internet": (
        lambda d: d[CW]["attachment-policies"].extend([
            rule(95, [tag("segment", "lgwan"), tag("lgwan-gateway", "none", "not-equals")],
                 {"association-method": "constant", "segment": "lgwan"}, logic="and"),
            rule(96, [tag("segment", "lgwan")], {"association-method": "constant", "segment": "internet"})]),
        IN_LGWAN, ABSENT_NEVER),
}

SAFE_EDITS = {
    "nsg-lgwan-denies-internet-first": nsg(ZAIMU, name="deny-internet", priority=100, access="Deny", protocol="*",
                                           sourceAddressPrefix="Internet", destinationPortRange="*"),
    "nsg-lgwan-denies-internet-site": nsg(ZAIMU, name="deny-site", priority=100, access="Deny", protocol="*",
                                          sourceAddressPrefix=CHIYODA_INTERNET, destinationPortRange="*"),
    "cw-lgwan-deny-filter-internet": lambda d: next(s for s in d[CW]["segments"] if s["name"] == "lgwan").update(
        {"deny-filter": ["internet"]}),
    "cw-share-lgwan-with-shared-services": share("lgwan", ["shared-services"]),
    "tgw-blackhole-lgwan-from-internet": tgw_route("rt-internet", ZAIMU_CIDR, "blackhole"),
    "egress-lgwan-tightened": lambda d: d[TENANTS][ZAIMU].update(egress=[]),
    # ambiguity that changes nothing: both readings agree
    "ambiguity-not-equals-absent-tag-places-by-tag-either-way": policies(
        rule(200, [tag("quarantine", "yes", "not-equals")], BY_SEGMENT_TAG), rule(201, [{"type": "any"}], BY_SEGMENT_TAG)),
    "ambiguity-except-on-open-segment": share("lgwan", {"except": ["mynumber", "internet", "shared-services"]}),
    "ambiguity-star-shared-services-alone": share("shared-services", {"except": ["mynumber", "internet", "lgwan"]}),
}


def test_suites_are_large_enough():
    assert len(MUTATIONS) >= 15 and len(SAFE_EDITS) >= 6
    assert {name.split("-")[0] for name in MUTATIONS} >= {"cw", "tgw", "nsg", "sg", "model", "ambiguity"}


def test_sample_is_clean_and_unambiguous(sample):
    found = reports(copy.deepcopy(sample))
    assert [v for r in found for v in r.violations] == []
    # the compiled policy meets no open question: one reading, no second proof
    assert all(r.readings == [] for r in found)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_zone_mutation_is_caught(sample, name):
    mutate, invariant, reading = MUTATIONS[name]
    docs = copy.deepcopy(sample)
    mutate(docs)
    found = violations(docs)
    hits = [v for v in found if v.invariant == invariant]
    assert hits, f"{name}: expected {invariant}, got {sorted({v.invariant for v in found})}"
    assert any(len(v.path) >= 2 for v in hits), f"{name}: no hop-by-hop path in {hits[0]}"
    if reading is not None:
        assert any(v.reading == reading for v in hits), f"{name}: expected reading {reading!r}, got " \
                                                       f"{sorted({v.reading for v in hits})}"
        if reading:
            assert all(reading in v.message for v in hits if v.reading == reading)


@pytest.mark.parametrize("name", sorted(SAFE_EDITS))
def test_zone_safe_edit_does_not_alarm(sample, name):
    docs = copy.deepcopy(sample)
    SAFE_EDITS[name](docs)
    assert violations(docs) == [], name


def test_an_ambiguous_policy_is_proved_under_each_reading(sample):
    docs = copy.deepcopy(sample)
    MUTATIONS["ambiguity-lgwan-site-falls-into-internet"][0](docs)
    report = reports(docs)[0]                       # Cloud WAN (+ Virtual WAN); the Transit Gateway has no policy
    assert report.variant.startswith("aws-cloudwan") and report.readings == [DEFAULT_READING.label, ABSENT_NEVER]
    # the default reading alone is clean: every violation exists only under the other one
    assert report.violations and {v.reading for v in report.violations} == {ABSENT_NEVER}


# A native policy (routing only) whose isolated segment is shared with "every segment except the
# others": nothing under one reading of "*", the segment with itself under the other.
ISOLATED = {"version": "2021.12",
            "core-network-configuration": {"asn-ranges": ["64512-65534"], "edge-locations": [{"location": "ap-northeast-1"}]},
            "segments": [{"name": "mynumber", "isolate-attachments": True}, {"name": "internet"}],
            "segment-actions": [{"action": "share", "mode": "attachment-route", "segment": "mynumber",
                                 "share-with": {"except": ["internet"]}}],
            "attachment-policies": [{"rule-number": 100, "conditions": [{"type": "tag-value", "operator": "equals",
                                                                         "key": "zone", "value": "mynumber"}],
                                     "action": {"association-method": "constant", "segment": "mynumber"}}]}
TWO_TENANTS = [{"name": n, "cidrs": [c], "tags": {"zone": "mynumber"}, "zone": "mynumber", "kind": "tenant",
                "resourceId": f"attachment-0{n}", "attachmentType": "vpc"}
               for n, c in (("juki", "10.16.0.0/24"), ("koseki", "10.16.2.0/23"))]


def _native(policy, attachments):
    from govcloud.network.native import native_documents

    return [verify(f) for f in fabrics_from_documents(native_documents(policy, attachments), layers=("routing",))]


@pytest.mark.parametrize("value", [{"except": ["internet"]}, "*"])
def test_star_including_the_segment_itself_breaks_isolation(value):
    policy = copy.deepcopy(ISOLATED)
    policy["segment-actions"][0]["share-with"] = value
    (report,) = _native(policy, copy.deepcopy(TWO_TENANTS))
    hits = [v for v in report.violations if v.invariant == ISOLATION]
    assert hits and all(v.reading == SELF and SELF in v.message for v in hits)
    assert all(len(v.path) >= 2 for v in hits)


def test_send_via_star_including_the_segment_itself_is_proved_too():
    policy = copy.deepcopy(ISOLATED)
    policy["network-function-groups"] = [{"name": "inspection"}]
    policy["segment-actions"] = [{"action": "send-via", "segment": "mynumber", "mode": "single-hop",
                                  "when-sent-to": {"segments": "*"}, "via": {"network-function-groups": ["inspection"]}}]
    policy["attachment-policies"].append({"rule-number": 50, "conditions": [{"type": "tag-value", "operator": "equals",
                                                                             "key": "nfg", "value": "inspection"}],
                                          "action": {"add-to-network-function-group": "inspection"}})
    firewall = {"name": "fw", "kind": "inspection", "cidrs": [], "tags": {"nfg": "inspection"}, "zone": "inspection",
                "resourceId": "attachment-0fw", "attachmentType": "vpc"}
    (report,) = _native(policy, copy.deepcopy(TWO_TENANTS) + [firewall])
    hits = [v for v in report.violations if v.invariant == ISOLATION]
    assert hits and {v.reading for v in hits} == {SELF}


def test_an_unambiguous_share_needs_one_reading():
    policy = copy.deepcopy(ISOLATED)
    policy["segment-actions"][0]["share-with"] = ["internet"]
    (report,) = _native(policy, copy.deepcopy(TWO_TENANTS))
    assert report.readings == [] and not [v for v in report.violations if v.invariant == ISOLATION]


def test_vwan_and_tenants_fixture_names():
    # the names the mutations edit exist in the sample (a renamed tenant must fail here, not pass silently)
    assert VWAN and TGW and ATT

"""`network verify --policy`: core network policies in the shapes of the AWS Cloud WAN
documentation's examples (two segments by tag, edge consolidation with a default route to the
VPN attachments, service insertion through a network function group, a three-stage environment
with a shared-services segment and resource-id mapping), loaded through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CONFIG = {"asn-ranges": ["64512-65534"], "edge-locations": [{"location": "ap-northeast-1"}, {"location": "ap-northeast-3"}]}


def write(tmp_path: Path, policy: dict, attachments) -> tuple[str, str]:
    p, a = tmp_path / "policy.json", tmp_path / "attachments.json"
    p.write_text(json.dumps(policy))
    a.write_text(json.dumps(attachments))
    return str(p), str(a)


def by_tag(number, key, value, segment):
    return {"rule-number": number, "conditions": [{"type": "tag-value", "key": key, "value": value, "operator": "equals"}],
            "action": {"association-method": "constant", "segment": segment}}


TWO_SEGMENTS = {"version": "2021.12", "core-network-configuration": CONFIG,
                "segments": [{"name": "mynumber"}, {"name": "internet"}],
                "attachment-policies": [by_tag(100, "Network", "MyNumber", "mynumber"),
                                        by_tag(200, "Network", "Internet", "internet")]}
ATTACHMENTS = [
    {"name": "juki", "cidrs": ["10.16.0.0/24"], "tags": {"Network": "MyNumber"}, "zone": "mynumber",
     "resourceId": "attachment-0aaaaaaaaaaaaaaaa", "attachmentType": "vpc"},
    {"name": "web", "cidrs": ["10.40.0.0/24", "2001:db8:40::/56"], "tags": {"Network": "Internet"}, "zone": "internet",
     "resourceId": "attachment-0bbbbbbbbbbbbbbbb", "attachmentType": "vpc"},
    {"name": "office-vpn", "cidrs": ["172.16.0.0/20"], "tags": {"Network": "Internet"}, "zone": "internet",
     "kind": "site", "resourceId": "attachment-0ccccccccccccccccc", "attachmentType": "vpn"},
]


def test_two_segments_by_tag_verify_clean(run, tmp_path):
    proc = run("network", "verify", "--policy", *_args(tmp_path, TWO_SEGMENTS, ATTACHMENTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "aws-cloudwan:" in proc.stdout


def test_the_documentation_example_with_a_misspelt_segment_is_a_clear_error(run, tmp_path):
    # The documentation's two-segment example maps to "non-secured" while the segment is named
    # "nonSecured": a dangling reference, reported as such.
    policy = {**TWO_SEGMENTS, "segments": [{"name": "secured"}, {"name": "nonSecured"}],
              "attachment-policies": [by_tag(100, "Network", "Secured", "secured"),
                                      by_tag(200, "Network", "Non-Secured", "non-secured")]}
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, ATTACHMENTS))
    assert proc.returncode == 1 and "dangling reference: no segment 'non-secured'" in proc.stderr
    assert "$.attachment-policies[1].action.segment" in proc.stderr and "Traceback" not in proc.stderr


def test_share_into_mynumber_fails(run, tmp_path):
    policy = {**TWO_SEGMENTS, "segment-actions": [{"action": "share", "mode": "attachment-route", "segment": "internet",
                                                   "share-with": {"except": []}}]}
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, ATTACHMENTS))
    assert proc.returncode == 1 and "violation internet-never-reaches-mynumber (routing layer)" in proc.stdout
    assert "route table cloudwan:internet" in proc.stdout


def test_edge_consolidation_default_route_to_vpn_attachments(run, tmp_path):
    """Attachments mapped by attachment type; a default route to the VPN attachment by id."""
    policy = {"version": "2021.12", "core-network-configuration": CONFIG,
              "segments": [{"name": "mynumber", "isolate-attachments": True, "require-attachment-acceptance": False},
                           {"name": "hybrid"}],
              "segment-actions": [{"action": "share", "mode": "attachment-route", "segment": "mynumber",
                                   "share-with": ["hybrid"]},
                                  {"action": "create-route", "destination-cidr-blocks": ["0.0.0.0/0", "::/0"],
                                   "segment": "mynumber", "destinations": ["attachment-0ccccccccccccccccc"]}],
              "attachment-policies": [
                  {"rule-number": 10, "conditions": [{"type": "attachment-type", "operator": "equals", "value": "vpc"}],
                   "action": {"association-method": "constant", "segment": "mynumber"}},
                  {"rule-number": 20, "conditions": [{"type": "attachment-type", "operator": "equals", "value": "vpn"}],
                   "action": {"association-method": "constant", "segment": "hybrid"}}]}
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, ATTACHMENTS))
    # every VPC lands in mynumber, the internet office VPN is the default route: mynumber reaches the internet
    assert proc.returncode == 1 and "violation mynumber-never-reaches-internet (routing layer)" in proc.stdout
    assert "0.0.0.0/0 → office-vpn" in proc.stdout or "→ office-vpn" in proc.stdout


def test_service_insertion_with_send_via(run, tmp_path):
    """Internet → mynumber only through the inspection VPC; the firewall is not in a policy, so the
    verifier takes it to pass everything and says so."""
    policy = {**TWO_SEGMENTS,
              "segments": [{"name": "mynumber", "isolate-attachments": True}, {"name": "internet"}],
              "network-function-groups": [{"name": "InspectionVPC", "require-attachment-acceptance": True}],
              "segment-actions": [{"action": "send-via", "segment": "internet", "mode": "single-hop",
                                   "when-sent-to": {"segments": "*"}, "via": {"network-function-groups": ["InspectionVPC"]}}],
              "attachment-policies": [{"rule-number": 50, "condition-logic": "and",
                                       "conditions": [{"type": "tag-exists", "key": "InspectionVpcs"}],
                                       "action": {"add-to-network-function-group": "InspectionVPC"}},
                                      *TWO_SEGMENTS["attachment-policies"]]}
    atts = ATTACHMENTS + [{"name": "inspection", "cidrs": [], "kind": "function", "tags": {"InspectionVpcs": "true"},
                           "attachmentType": "vpc"}]
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, atts))
    assert proc.returncode == 1
    assert "a network function on the path has no firewall modelled" in proc.stdout or \
           "the firewall's default action passes traffic" in proc.stdout
    assert "intake-crosses-inspection" in proc.stdout and "ok   intake-crosses-inspection" in proc.stdout


def test_three_stage_by_tag_value_and_resource_id(run, tmp_path):
    policy = {"version": "2025.11", "core-network-configuration": CONFIG,
              "segments": [{"name": "mynumber", "isolate-attachments": True}, {"name": "lgwan", "isolate-attachments": True},
                           {"name": "sharedServices"}],
              "segment-actions": [{"action": "share", "mode": "attachment-route", "segment": "sharedServices",
                                   "share-with": ["lgwan"]}],
              "attachment-policies": [
                  {"rule-number": 100, "conditions": [{"type": "resource-id", "operator": "equals",
                                                       "value": "attachment-0ccccccccccccccccc"}],
                   "action": {"association-method": "constant", "segment": "sharedServices"}},
                  {"rule-number": 200, "conditions": [{"type": "tag-exists", "key": "Stage"}],
                   "action": {"association-method": "tag", "tag-value-of-key": "Stage"}}]}
    # the shared-services VPN is an LGWAN site: an internet-zone site shared with an LGWAN tenant
    # would be a direct internet → LGWAN path (internet-never-reaches-lgwan)
    atts = [{**ATTACHMENTS[0], "tags": {"Stage": "mynumber"}}, {**ATTACHMENTS[1], "tags": {"Stage": "lgwan"}, "zone": "lgwan"},
            {**ATTACHMENTS[2], "zone": "lgwan"}]
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, atts))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    atts[0]["tags"]["Stage"] = "production"   # a tag naming no segment: dangling
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, atts))
    assert proc.returncode == 1 and "names segment 'production', which does not exist" in proc.stderr
    atts[0]["tags"]["Stage"] = "mynumber"
    atts[2]["zone"] = "internet"              # the same share, now from an internet-zone site
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, atts))
    assert proc.returncode == 1 and "violation internet-never-reaches-lgwan (routing layer)" in proc.stdout


@pytest.mark.parametrize("policy, message, code", [
    ({**TWO_SEGMENTS, "routing-policies": []}, "unsupported: routing-policies at $.routing-policies", 2),
    ({**TWO_SEGMENTS, "attachment-routing-policy-rules": []}, "unsupported: attachment-routing-policy-rules", 2),
    ({**TWO_SEGMENTS, "attachment-policies": [by_tag(100, "Network", "Nobody", "mynumber")]},
     "the policy attaches nothing", 1),
])
def test_refusals(run, tmp_path, policy, message, code):
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, ATTACHMENTS))
    assert proc.returncode == code and message in proc.stderr, proc.stderr


def test_policy_without_attachments_is_an_error(run, tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps(TWO_SEGMENTS))
    proc = run("network", "verify", "--policy", str(p))
    assert proc.returncode == 1 and "attaches nothing" in proc.stderr
    p.write_text("{not json")
    proc = run("network", "verify", "--policy", str(p), "--attachments", str(p))
    assert proc.returncode == 1 and "p.json:1:2: invalid JSON" in proc.stderr


SHARE_INTO_MYNUMBER = {**TWO_SEGMENTS, "segment-actions": [{"action": "share", "mode": "attachment-route",
                                                            "segment": "internet", "share-with": ["mynumber"]}]}


@pytest.mark.parametrize("which, text, where", [
    # A second segment-actions silently overrode the violating share: exit 0 with every invariant ok.
    ("policy", json.dumps(SHARE_INTO_MYNUMBER, indent=1)[:-2] + ',\n "segment-actions": []\n}',
     "duplicate key 'segment-actions' (at $.segment-actions)"),
    ("policy", json.dumps(SHARE_INTO_MYNUMBER).replace('"segments"', '"version": "2021.12",\n"segments"', 1),
     "duplicate key 'version' (at $.version)"),
    ("attachments", json.dumps(ATTACHMENTS).replace('"zone": "mynumber"', '"zone": "mynumber",\n"zone": "lgwan"', 1),
     "duplicate key 'zone' (at $[0].zone)"),
    ("policy", json.dumps(SHARE_INTO_MYNUMBER).replace('"version": "2021.12"', '"version": NaN', 1), "not a JSON number"),
    ("policy", "[" * 100 + "]" * 100, "nested deeper than"),
])
def test_policy_and_attachments_go_through_the_bounded_json_loader(run, tmp_path, which, text, where):
    p, a = write(tmp_path, SHARE_INTO_MYNUMBER, ATTACHMENTS)
    Path(p if which == "policy" else a).write_text(text)
    proc = run("network", "verify", "--policy", p, "--attachments", a)
    assert proc.returncode == 1 and where in proc.stderr and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert f"{which}.json:" in proc.stderr and "violation" not in proc.stdout
    if "duplicate" in where:   # named at the repeated key's line
        line = int(proc.stderr.split(f"{which}.json:")[1].split(":")[0])
        assert line > 1 or which == "policy" and "version" in where


def _args(tmp_path, policy, attachments):
    p, a = write(tmp_path, policy, attachments)
    return [p, "--attachments", a]


@pytest.mark.parametrize("edit, message", [
    # The mynumber attachment's zone removed or misspelt exempted it from every invariant: a
    # policy sharing internet with mynumber verified clean (exit 0).
    (lambda a: a[0].pop("zone"), "attachment juki has no zone: give one of mynumber, lgwan, internet"),
    (lambda a: a[0].update(zone="MyNumber"), "attachment juki: unknown zone 'MyNumber'"),
    (lambda a: a[0].update(zone="unzoned"), "attachment juki: unknown zone 'unzoned'"),
    (lambda a: a[1].pop("zone"), "attachment web has no zone"),
    (lambda a: a[0].update(zone=7), "zone must be a string"),
])
def test_an_attachment_without_a_known_zone_is_an_error(run, tmp_path, edit, message):
    atts = json.loads(json.dumps(ATTACHMENTS))
    edit(atts)
    proc = run("network", "verify", "--policy", *_args(tmp_path, SHARE_INTO_MYNUMBER, atts))
    assert proc.returncode == 1 and message in proc.stderr and "attachments.json" in proc.stderr, proc.stdout + proc.stderr
    assert ".zone)" in proc.stderr and "Traceback" not in proc.stderr and "ok " not in proc.stdout


def test_the_zone_defaults_to_the_segment_tag_and_is_checked_there_too(run, tmp_path):
    atts = json.loads(json.dumps(ATTACHMENTS))
    del atts[0]["zone"]
    atts[0]["tags"]["segment"] = "mynumber"
    proc = run("network", "verify", "--policy", *_args(tmp_path, SHARE_INTO_MYNUMBER, atts))
    assert proc.returncode == 1 and "violation internet-never-reaches-mynumber" in proc.stdout
    atts[0]["tags"]["segment"] = "MyNumber"
    proc = run("network", "verify", "--policy", *_args(tmp_path, SHARE_INTO_MYNUMBER, atts))
    assert proc.returncode == 1 and "unknown zone 'MyNumber'" in proc.stderr and "did you mean 'mynumber'" in proc.stderr


def _policy(**edits):
    policy = json.loads(json.dumps(TWO_SEGMENTS))
    for edit in edits.values():
        edit(policy)
    return policy


@pytest.mark.parametrize("edit, message", [
    # Two rules with one number: the order between them is not defined, the file's order was used.
    (lambda p: p["attachment-policies"][1].update({"rule-number": 100}),
     "rule-number 100 is also $.attachment-policies[0]'s: rules are ordered by number alone"),
    (lambda p: p["attachment-policies"][0].update({"rule-number": 0}), "rule-number 0 is not from 1 to 65535"),
    (lambda p: p["attachment-policies"][0].update({"rule-number": 65536}), "rule-number 65536 is not from 1 to 65535"),
    # A string where a list is required was read letter by letter ("no segment 'i'").
    (lambda p: p["segments"][0].update({"deny-filter": "internet"}),
     "deny-filter must be a list, got str (at $.segments[0].deny-filter)"),
    (lambda p: p["segments"][1].update({"allow-filter": "mynumber"}),
     "allow-filter must be a list, got str (at $.segments[1].allow-filter)"),
    (lambda p: p["segments"][0].update({"deny-filter": [["internet"]]}),
     "expected a string, got list (at $.segments[0].deny-filter[0])"),
    (lambda p: p["segments"][0].update({"deny-filter": ["nowhere"]}),
     "dangling reference: no segment 'nowhere' (at $.segments[0].deny-filter[0])"),
    (lambda p: p["segments"][0].update({"edge-locations": "ap-northeast-1"}), "edge-locations must be a list"),
    (lambda p: p["segments"].append({"name": "mynumber"}), "segment mynumber appears twice (at $.segments[2].name)"),
    # Host bits set: refused, as the address plan refuses them, instead of silently widened.
    (lambda p: p["core-network-configuration"].update({"inside-cidr-blocks": ["169.254.0.1/24"]}),
     "'169.254.0.1/24' has host bits set: the network is 169.254.0.0/24 (at $.core-network-configuration.inside-cidr-blocks[0])"),
    (lambda p: p["core-network-configuration"]["edge-locations"][0].update({"inside-cidr-blocks": ["fd00::1/64"]}),
     "the network is fd00::/64 (at $.core-network-configuration.edge-locations[0].inside-cidr-blocks[0])"),
    (lambda p: p.update({"segment-actions": [{"action": "create-route", "segment": "internet", "destinations": ["web"],
                                              "destination-cidr-blocks": ["10.16.0.1/24"]}]}),
     "the network is 10.16.0.0/24 (at $.segment-actions[0].destination-cidr-blocks[0])"),
    # Edge locations are AWS Region codes; a segment's are the core network's.
    (lambda p: p["core-network-configuration"]["edge-locations"].append({"location": "Tokyo"}),
     "(such as ap-northeast-1) (at $.core-network-configuration.edge-locations[2].location)"),
    (lambda p: p["core-network-configuration"]["edge-locations"].append({"location": "ap-northeast-1"}),
     "edge location ap-northeast-1 appears twice"),
    (lambda p: p["segments"][0].update({"edge-locations": ["us-east-1"]}),
     "dangling reference: us-east-1 is not an edge location of the core network (at $.segments[0].edge-locations[0])"),
    (lambda p: p["segments"][0].update({"edge-locations": ["ap_northeast_1"]}), "'ap_northeast_1' is not an AWS Region code"),
])
def test_malformed_policy_fields_are_errors_naming_the_path(run, tmp_path, edit, message):
    proc = run("network", "verify", "--policy", *_args(tmp_path, _policy(e=edit), ATTACHMENTS))
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stdout + proc.stderr


def test_edge_location_fields_beyond_the_documented_ones_are_refused(run, tmp_path):
    policy = _policy(e=lambda p: p["core-network-configuration"]["edge-locations"][0].update({"bogus": 1}))
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, ATTACHMENTS))
    assert proc.returncode == 2 and "unsupported: bogus at $.core-network-configuration.edge-locations[0].bogus" in proc.stderr


def test_segment_edge_locations_within_the_core_network_verify(run, tmp_path):
    policy = _policy(e=lambda p: p["segments"][0].update({"edge-locations": ["ap-northeast-1"], "deny-filter": ["internet"]}))
    proc = run("network", "verify", "--policy", *_args(tmp_path, policy, ATTACHMENTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_attachment_cidr_with_host_bits_is_an_error(run, tmp_path):
    atts = json.loads(json.dumps(ATTACHMENTS))
    atts[0]["cidrs"] = ["10.16.0.1/24"]
    proc = run("network", "verify", "--policy", *_args(tmp_path, TWO_SEGMENTS, atts))
    assert proc.returncode == 1 and "'10.16.0.1/24' has host bits set: the network is 10.16.0.0/24 (at $[0].cidrs[0])" \
        in proc.stderr

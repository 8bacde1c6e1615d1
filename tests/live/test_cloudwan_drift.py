"""Cloud WAN drift. moto has no core-network policies, so the Network Manager answers are stubbed
(botocore's Stubber checks every request and response against the service model); the rest —
naming attachments back, the diff, the verifier on the live view — runs for real."""

from __future__ import annotations

import json
import subprocess

import boto3
from botocore.stub import Stubber

from govcloud.live.drift import drift
from tests.conftest import govcloud_bin


class StubbedAccount:
    """An Account whose clients are stubbed; assuming a role gives the same account."""

    def __init__(self, stubs: dict):
        self.stubs = stubs

    def assume(self, account_id, role):
        return self

    @property
    def session(self):
        return None

    def client(self, service, region=None):
        return self.stubs[service]


def stubbed(service: str, calls: list[tuple[str, dict, dict]]):
    client = boto3.client(service, region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    for operation, response, params in calls:
        stub.add_response(operation, response, params)
    stub.activate()
    return client


def live_cloudwan(policy: dict, ids: dict[str, str], tags: dict[str, dict]):
    document = json.loads(json.dumps(policy))
    for action in document.get("segment-actions", []):
        if "destinations" in action:
            action["destinations"] = [ids[d.removeprefix("attachment:")] if d.startswith("attachment:") else d
                                      for d in action["destinations"]]
    attachments = [{"AttachmentId": ids[name], "CoreNetworkId": "core-network-0a1", "State": "AVAILABLE",
                    "Tags": [{"Key": k, "Value": v} for k, v in tag.items()]} for name, tag in tags.items()]
    return stubbed("networkmanager", [
        ("list_core_networks", {"CoreNetworks": [{"CoreNetworkId": "core-network-0a1", "Description": "govcloud core network",
                                                  "State": "AVAILABLE", "Tags": [{"Key": "managed-by", "Value": "govcloud"}]}]}, {}),
        ("list_attachments", {"Attachments": attachments}, {"CoreNetworkId": "core-network-0a1"}),
        ("get_core_network_policy", {"CoreNetworkPolicy": {"CoreNetworkId": "core-network-0a1", "PolicyVersionId": 3,
                                                           "Alias": "LIVE", "PolicyDocument": json.dumps(document)}},
         {"CoreNetworkId": "core-network-0a1", "Alias": "LIVE"}),
    ])


def compiled(ws, tmp_path):
    out = tmp_path / "compiled"
    subprocess.run([govcloud_bin(), "--root", str(ws), "network", "compile", "--out", str(out)], check=True, capture_output=True)
    (out / "aws-tgw").joinpath("transit-gateway.json").unlink()          # this fleet runs Cloud WAN
    return out


def fleet_tags(out) -> tuple[dict[str, str], dict[str, dict]]:
    attachments = [a for a in json.loads((out / "attachments.json").read_text()) if a["cloud"] == "aws"]
    ids = {a["name"]: f"attachment-{i:017x}" for i, a in enumerate(attachments)}
    key = {"tenant": "tenant", "site": "site", "external": "site"}
    tags = {a["name"]: {**a["tags"], key.get(a["kind"], "site"): a["name"]} for a in attachments}
    ids["inspection-aws"] = "attachment-inspection0000001"
    tags["inspection-aws"] = {"network-function": "inspection"}
    for n, link in enumerate(json.loads((out / "intercloud.json").read_text())["links"]):
        ids[link["aws"]] = f"attachment-intercloud{n:07x}"           # not tagged by govcloud: named by config
        tags[link["aws"]] = {"segment": link["zone"]}
    return ids, tags


def configured(ids: dict[str, str]) -> dict[str, str]:
    return {n: i for n, i in ids.items() if n.startswith("intercloud-")}


def test_live_policy_equal_to_the_compiled_one_is_no_drift(ws, tmp_path):
    out = compiled(ws, tmp_path)
    policy = json.loads((out / "aws-cloudwan/core-network-policy.json").read_text())
    ids, tags = fleet_tags(out)
    account = StubbedAccount({"networkmanager": live_cloudwan(policy, ids, tags)})
    result = drift(account, [], out, "222233334444", "ap-northeast-1", "govcloud-audit", configured(ids))
    assert result.failures == [] and result.read == ["network"]
    assert result.changes == []
    assert all(r.ok for r in result.reports) and [r.variant for r in result.reports] == ["aws-cloudwan+azure-vwan"]


def test_a_share_into_mynumber_made_by_hand_is_found_and_breaks_routing(ws, tmp_path):
    out = compiled(ws, tmp_path)
    policy = json.loads((out / "aws-cloudwan/core-network-policy.json").read_text())
    policy["segment-actions"].append({"action": "share", "mode": "attachment-route", "segment": "internet",
                                      "share-with": ["mynumber"]})
    ids, tags = fleet_tags(out)
    tags["131016-juki-staging"]["segment"] = "internet"                # and one attachment re-tagged
    account = StubbedAccount({"networkmanager": live_cloudwan(policy, ids, tags)})
    result = drift(account, [], out, "222233334444", "ap-northeast-1", "govcloud-audit", configured(ids))
    added = [c for c in result.changes if c.kind == "added" and c.where == "Cloud WAN segment action"]
    assert len(added) == 1 and '"share-with": ["mynumber"]' in added[0].live
    assert any(c.where == "attachment 131016-juki-staging: routing tags" and '"segment": "internet"' in c.live
               for c in result.changes)
    violations = [v for r in result.reports for v in r.violations]
    assert any(v.invariant == "internet-never-reaches-mynumber" and v.layer == "routing" for v in violations)

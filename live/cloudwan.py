"""A live AWS Cloud WAN core network read back into the compiled policy's shape.

The `network` stack deploys the compiled core-network policy with each `attachment:<name>`
replaced by the attachment's id (stacks/network.py). Reading it back reverses that: the LIVE
policy version, with attachment ids named again from the attachments' tags (`tenant`, `site`,
`network-function`) or from `govcloud:attachmentIds`, and each attachment's live tags, since the
attachment policies place attachments in segments by tag.
"""

from __future__ import annotations

import json

from govcloud.live.changes import Change, change_kind
from govcloud.live.clients import Account, call, paginate

HOME_REGION = "us-west-2"     # Network Manager's API lives in its home region
ROUTING_TAGS = ("segment", "kind", "network-function")


def find_core_network(acct: Account) -> str | None:
    nm = acct.client("networkmanager", HOME_REGION)
    for core in paginate(nm, "ListCoreNetworks", "CoreNetworks"):
        tags = {t["Key"]: t["Value"] for t in core.get("Tags", [])}
        if core.get("State") not in ("DELETING",) and (tags.get("managed-by") == "govcloud"
                                                         or core.get("Description") == "govcloud core network"):
            return core["CoreNetworkId"]
    return None


def attachment_name(attachment: dict, configured: dict[str, str]) -> str:
    tags = {t["Key"]: t["Value"] for t in attachment.get("Tags", [])}
    if tags.get("tenant"):
        return tags["tenant"]
    if tags.get("site"):
        return tags["site"]
    if tags.get("network-function") == "inspection":
        return "inspection-aws"
    return configured.get(attachment["AttachmentId"], attachment["AttachmentId"])


def read_cloudwan(acct: Account, core_network: str, configured_ids: dict[str, str]) -> tuple[dict, dict[str, dict]]:
    """(the LIVE policy with attachments named, name -> routing tags of each live attachment)."""
    nm = acct.client("networkmanager", HOME_REGION)
    configured = {v: k for k, v in configured_ids.items()}
    names, tags = {}, {}
    for att in paginate(nm, "ListAttachments", "Attachments", CoreNetworkId=core_network):
        if att.get("State") in ("DELETING", "REJECTED", "FAILED"):
            continue
        name = attachment_name(att, configured)
        names[att["AttachmentId"]] = name
        live_tags = {t["Key"]: t["Value"] for t in att.get("Tags", [])}
        tags[name] = {k: live_tags[k] for k in ROUTING_TAGS if k in live_tags}
    document = call(nm, "GetCoreNetworkPolicy", CoreNetworkId=core_network, Alias="LIVE")["CoreNetworkPolicy"]["PolicyDocument"]
    policy = json.loads(document) if isinstance(document, str) else document
    for action in policy.get("segment-actions", []):
        if "destinations" in action:
            action["destinations"] = [f"attachment:{names[d]}" if d in names else d for d in action["destinations"]]
    return policy, tags


def _key(item: dict) -> str:
    return json.dumps(item, sort_keys=True)


def _diff_keyed(declared: dict, live: dict, where: str) -> list:
    """Items keyed by name or number: each one added, removed or changed."""
    return [Change("routing", change_kind(declared.get(k), live.get(k)), f"{where} {k}",
                   _key(declared[k]) if k in declared else None, _key(live[k]) if k in live else None)
            for k in sorted(set(declared) | set(live)) if declared.get(k) != live.get(k)]


def diff_cloudwan(declared: dict, live: dict):
    changes = _diff_keyed({s["name"]: s for s in declared.get("segments", [])},
                          {s["name"]: s for s in live.get("segments", [])}, "Cloud WAN segment")
    acts_a = {_key(a) for a in declared.get("segment-actions", [])}
    acts_b = {_key(a) for a in live.get("segment-actions", [])}
    changes += [Change("routing", "added", "Cloud WAN segment action", None, a) for a in sorted(acts_b - acts_a)]
    changes += [Change("routing", "removed", "Cloud WAN segment action", a, None) for a in sorted(acts_a - acts_b)]
    changes += _diff_keyed({r["rule-number"]: r for r in declared.get("attachment-policies", [])},
                           {r["rule-number"]: r for r in live.get("attachment-policies", [])}, "Cloud WAN attachment policy")
    return changes


def diff_attachment_tags(declared: dict[str, dict], live: dict[str, dict]):
    changes = []
    for name in sorted(set(declared) & set(live)):
        if declared[name] != live[name]:
            changes.append(Change("routing", "changed", f"attachment {name}: routing tags", _key(declared[name]), _key(live[name])))
    return changes

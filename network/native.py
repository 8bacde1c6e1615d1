"""A native Cloud WAN core network policy, as users write it, with the attachments it places.

    govcloud network verify --policy policy.json [--attachments attachments.json]

The attachments file is a JSON list; each attachment gives ``name`` and ``cidrs`` and whatever
the policy's conditions read: ``tags``, ``resourceId``, ``accountId``, ``region``,
``attachmentType`` (vpc, vpn, connect, direct-connect-gateway,
transit-gateway-route-table). ``zone`` (mynumber, lgwan or internet, the zone catalogue's) says
which invariants apply; it defaults to the attachment's ``segment`` tag, and an attachment with
neither, or with another zone, is refused (a network function's is ``inspection``, the default for
``kind: function``). Network function group members are network
functions; their firewalls are not in a policy, so they are taken to pass everything (the least
safe reading). Without attachments the policy attaches nothing, which is refused."""

from __future__ import annotations

from pathlib import Path

from govcloud.network.errors import NetworkInputError


def _load(path: Path, what: str):
    """Through the bounded JSON loader: duplicate keys, NaN and excessive depth or size are refused."""
    from govcloud.network.fabric import parse_json, read_json_text

    if not path.exists():
        raise NetworkInputError(str(path), "", f"no such {what} file")
    return parse_json(read_json_text(path), path)


def native_documents(policy: dict, attachments) -> dict[str, object]:
    """A policy holds routing only: no security groups, NSGs or firewall rules come with it, so
    the proof is made at the routing layer and the filtering and effective layers are reported as
    not applicable (never as passed)."""
    if not isinstance(attachments, list):
        raise NetworkInputError("attachments", "$", "expected a list of attachments")
    out = []
    for i, a in enumerate(attachments):
        if not isinstance(a, dict):
            raise NetworkInputError("attachments", f"$[{i}]", "expected an object")
        tags = a.get("tags", {})
        kind = a.get("kind") or ("tenant" if a.get("attachmentType", "vpc") == "vpc" else "site")
        entry = {"municipalities": [], "cloud": "aws", **a, "kind": kind}
        # The zone says which invariants apply, so it is never guessed: without one (or the
        # segment tag) the reader refuses the attachment, naming it. Network functions sit in none.
        if "zone" not in entry:
            if isinstance(tags, dict) and "segment" in tags:
                entry["zone"] = tags["segment"]
            elif kind in ("function", "inspection"):
                entry["zone"] = "inspection"
        out.append(entry)
    return {"attachments.json": out, "aws-cloudwan/core-network-policy.json": policy,
            "firewall.json": {"defaultAction": "pass", "rules": [], "name": "unmodelled network function"},
            "tenants.json": {}, "declared-flows.json": [], "intercloud.json": {"links": []}}


def load_native_policy(policy_path: Path, attachments_path: Path | None):
    from govcloud.network.fabric import fabrics_from_documents

    policy = _load(policy_path, "policy")
    attachments = _load(attachments_path, "attachments") if attachments_path is not None else []
    if not attachments:
        raise NetworkInputError(str(attachments_path or policy_path), "$",
                                "no attachments: the policy attaches nothing, so there is nothing to prove "
                                "(pass --attachments FILE)")
    docs = native_documents(policy, attachments)
    return fabrics_from_documents(docs, source_prefix=f"{policy_path.parent}/", synthetic_functions=False,
                                  names={"aws-cloudwan/core-network-policy.json": policy_path.name,
                                         "attachments.json": attachments_path.name if attachments_path else "attachments"},
                                  layers=("routing",))

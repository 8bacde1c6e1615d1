"""`govcloud network drift`: what runs against what the controller compiled, and whether what runs
still keeps the invariants.

Declared state: each tenant plan's security groups and rules, and the compiled Cloud WAN policy
and Transit Gateway. Live state: the same, read with boto3 (whichever of the two the network
account runs). The report lists what was added, removed or changed. Then
the live state is written over a copy of the compiled folder — live rules into tenants.json, the
live Cloud WAN policy and attachment tags or the live Transit Gateway in place of the compiled
routing — and the network verifier (network/verify.py) runs on it, so
a hand-made rule is judged exactly like a compiled one, with its path.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.live.changes import Change, change_kind
from govcloud.live.clients import Account, CallFailure
from govcloud.live.cloudwan import (
    ROUTING_TAGS,
    diff_attachment_tags,
    diff_cloudwan,
    find_core_network,
    read_cloudwan,
)
from govcloud.live.readers import read_account
from govcloud.live.tgw import find_tgw, read_tgw
from govcloud.network.fabric import load_fabrics
from govcloud.network.verify import Report, verify

SG_RULE_TYPES = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
                 "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress"}


@dataclass
class DriftResult:
    changes: list[Change] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    failures: list[tuple[str, CallFailure]] = field(default_factory=list)     # (tenant or "network", failure)
    read: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def breaks_invariants(self) -> bool:
        return any(not r.ok for r in self.reports)


# --- security groups ------------------------------------------------------------------------------


def _port_text(rule: dict) -> str:
    proto = str(rule.get("ipProtocol", "-1"))
    if proto == "-1":
        return "all traffic"
    lo, hi = rule.get("fromPort"), rule.get("toPort", rule.get("fromPort"))
    lo, hi = (int(float(lo)) if lo is not None else None), (int(float(hi)) if hi is not None else None)
    return f"{proto}/{lo}" if lo == hi else f"{proto}/{lo}-{hi}"


def sg_rules(resources: list[dict]) -> dict[tuple[str, str, str, str], str]:
    """(security group name, direction, protocol/ports, peer) -> description, for every rule."""
    names = {}
    for r in resources:
        if r["type"] == "aws:ec2/securityGroup:SecurityGroup":
            names[r.get("id") or r["urn"].rsplit("/", 1)[-1]] = r["inputs"]["name"]
    out = {}
    for r in _expand_default_groups(resources):
        direction = SG_RULE_TYPES.get(r["type"])
        if direction is None:
            continue
        i = r.get("inputs") or {}
        group = names.get(i.get("securityGroupId"), i.get("securityGroupId")) if not r.get("default") else "default"
        peer = i.get("cidrIpv4") or i.get("cidrIpv6") or i.get("prefixListId") or \
            f"security group {names.get(i.get('referencedSecurityGroupId'), i.get('referencedSecurityGroupId'))}"
        out[(group, direction, _port_text(i), peer)] = i.get("description") or ""
    return out


def diff_sg(tenant: str, declared: dict, live: dict) -> list[Change]:
    changes = []
    for key in sorted(set(declared) | set(live)):
        group, direction, ports, peer = key
        where = f"tenant {tenant}: security group {group} {direction}"
        text = f"{ports} {'from' if direction == 'ingress' else 'to'} {peer}"
        if key not in live:
            changes.append(Change("filtering", "removed", where, text, None))
        elif key not in declared:
            changes.append(Change("filtering", "added", where, None, text + (f" ({live[key]})" if live[key] else "")))
        elif declared[key] != live[key]:
            changes.append(Change("filtering", "changed", where, f"{text} ({declared[key]})", f"{text} ({live[key]})"))
    return changes


def compiled_rules(resources: list[dict], own_cidr: str) -> tuple[list[dict], list[dict]]:
    """Live rules in the compiled tenants.json shape: security groups with ingress, and egress."""
    groups: dict[str, dict] = {}
    names = {r["urn"].rsplit("/", 1)[-1]: r["inputs"]["name"]
             for r in resources if r["type"] == "aws:ec2/securityGroup:SecurityGroup"}
    egress = []
    for r in _expand_default_groups(resources):
        direction = SG_RULE_TYPES.get(r["type"])
        if direction is None:
            continue
        i = r["inputs"]
        # Both address families are modelled; a rule the model cannot place (a prefix list) is
        # refused, never skipped.
        cidr = i.get("cidrIpv4") or i.get("cidrIpv6") or (own_cidr if i.get("referencedSecurityGroupId") else None)
        if cidr is None:
            from govcloud.network.errors import Unsupported

            raise Unsupported(r.get("urn", "live security group rule"), "prefixListId" if i.get("prefixListId") else "rule source",
                              "$.inputs", "the rule's sources are not in the live read")
        proto = str(i.get("ipProtocol", "-1"))
        for port in _ports(i):
            rule = {"cidr": cidr, "protocol": "*" if proto == "-1" else proto, "port": port, "description": i.get("description", "")}
            if direction == "egress":
                egress.append(rule)
            else:
                group = "default" if r.get("default") else names.get(i["securityGroupId"], i["securityGroupId"])
                groups.setdefault(group, {"name": group, "ingress": []})["ingress"].append(rule)
    return list(groups.values()), egress


def _expand_default_groups(resources: list[dict]) -> list[dict]:
    """The default security group's rules (inline in the resource) as rule resources of group "default"."""
    out = []
    for r in resources:
        if r["type"] == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
            for direction, type_ in (("ingress", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
                                     ("egress", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")):
                for rule in (r.get("inputs") or {}).get(direction) or []:
                    if isinstance(rule, dict) and ("ipProtocol" in rule or "cidrIpv4" in rule):
                        out.append({"type": type_, "urn": r["urn"], "inputs": rule, "default": True})
        else:
            out.append(r)
    return out


def _ports(rule: dict) -> list:
    if str(rule.get("ipProtocol", "-1")) == "-1" or rule.get("fromPort") is None:
        return ["*"]
    lo, hi = int(float(rule["fromPort"])), int(float(rule.get("toPort", rule["fromPort"])))
    if lo == hi:
        return [lo]
    if lo <= 0 and hi >= 65535 or hi - lo > 64:
        return ["*"]      # wide ranges: judged as any port, the safe over-approximation
    return list(range(lo, hi + 1))


# --- Transit Gateway --------------------------------------------------------------------------------


def diff_tgw(declared: dict, live: dict) -> list[Change]:
    changes = []
    for name in sorted(set(declared.get("associations", {})) | set(live.get("associations", {}))):
        a, b = declared.get("associations", {}).get(name), live.get("associations", {}).get(name)
        if a != b:
            changes.append(Change("routing", change_kind(a, b), f"attachment {name}: association", a, b))
    tables_a, tables_b = declared.get("routeTables", {}), live.get("routeTables", {})
    for table in sorted(set(tables_a) | set(tables_b)):
        ta, tb = tables_a.get(table, {}), tables_b.get(table, {})
        if not ta or not tb:
            changes.append(Change("routing", "added" if not ta else "removed", f"route table {table}",
                                  None if not ta else table, None if not tb else table))
        pa, pb = set(ta.get("propagations", [])), set(tb.get("propagations", []))
        changes += [Change("routing", "added", f"route table {table}: propagation", None, p) for p in sorted(pb - pa)]
        changes += [Change("routing", "removed", f"route table {table}: propagation", p, None) for p in sorted(pa - pb)]
        ra = {r["destination"]: r["target"] for r in ta.get("routes", [])}
        rb = {r["destination"]: r["target"] for r in tb.get("routes", [])}
        for dest in sorted(set(ra) | set(rb)):
            if ra.get(dest) != rb.get(dest):
                changes.append(Change("routing", change_kind(ra.get(dest), rb.get(dest)), f"route table {table}: static route {dest}",
                                      f"{dest} → {ra[dest]}" if dest in ra else None, f"{dest} → {rb[dest]}" if dest in rb else None))
    return changes


# --- the whole run -----------------------------------------------------------------------------------


def drift(mgmt: Account, tenants: list[dict], compiled_dir: Path, network_account: str | None, region: str,
          role: str, configured_ids: dict[str, str] | None = None) -> DriftResult:
    """tenants: the AWS tenants with accountId resolved (None: could not be found) and their plan."""
    result = DriftResult()
    filters = json.loads((compiled_dir / "tenants.json").read_text(encoding="utf-8"))
    live_filters = json.loads(json.dumps(filters))
    for tenant in tenants:
        name = tenant["name"]
        try:
            if tenant.get("accountId") is None:
                raise CallFailure("organizations:ListAccounts", "not-found", f"no account for tenant {name}")
            acct = mgmt.assume(tenant["accountId"], role)
            acct.session  # noqa: B018
            live = read_account(acct, tenant["accountId"], tenant["region"], ("ec2-network",))
            if live.failures:
                raise next(iter(live.failures.values()))
        except CallFailure as failure:
            result.failures.append((name, failure))
            continue
        result.read.append(name)
        declared = [r for r in tenant["plan"]["deployment"]["resources"] if r.get("custom")]
        result.changes += diff_sg(name, sg_rules(declared), sg_rules(_with_ids(live.resources)))
        if name in live_filters:
            from govcloud.network.errors import Unsupported

            try:
                groups, egress = compiled_rules(live.resources, filters[name]["cidr"])
            except Unsupported as exc:
                result.failures.append((name, CallFailure("ec2:DescribeSecurityGroupRules", "unsupported", str(exc))))
                continue
            live_filters[name]["securityGroups"] = groups
            live_filters[name]["egress"] = egress

    live_routing: dict[str, dict] = {}          # compiled file -> live document
    live_tags: dict[str, dict] = {}
    if network_account:
        try:
            live_routing, live_tags = _read_routing(mgmt, network_account, role, region, compiled_dir, configured_ids or {}, result)
            result.read.append("network")
        except CallFailure as failure:
            result.failures.append(("network", failure))
    else:
        result.notes.append("routing not read live: no network account (--network-account or govcloud:networkAccountId); "
                            "the compiled routing stands in for it")

    with tempfile.TemporaryDirectory(prefix="govcloud-live-") as tmp:
        view = Path(tmp) / "live"
        shutil.copytree(compiled_dir, view)
        (view / "tenants.json").write_text(json.dumps(live_filters, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        if live_routing:
            for target in ROUTING_FILES:
                if target in live_routing:
                    (view / target).write_text(json.dumps(live_routing[target], sort_keys=True), encoding="utf-8")
                else:   # not deployed: the compiled alternative must not be verified as if it ran
                    shutil.rmtree((view / target).parent, ignore_errors=True)
                    _drop_target(view, target)
        if live_tags:
            attachments = json.loads((view / "attachments.json").read_text(encoding="utf-8"))
            for a in attachments:
                if a["name"] in live_tags and a.get("cloud") == "aws":
                    a["tags"] = live_tags[a["name"]]
            (view / "attachments.json").write_text(json.dumps(attachments, sort_keys=True), encoding="utf-8")
        from govcloud.diagnostics import UsageError
        from govcloud.network.errors import NetworkInputError, Unsupported

        try:
            result.reports = [verify(f) for f in load_fabrics(view)]
        except (NetworkInputError, Unsupported) as exc:   # live state the proof cannot read: say so
            raise UsageError(f"live state: {exc}") from None
    return result


ROUTING_FILES = ("aws-cloudwan/core-network-policy.json", "aws-tgw/transit-gateway.json")


def _read_routing(mgmt: Account, network_account: str, role: str, region: str, compiled_dir: Path,
                  configured_ids: dict[str, str], result: DriftResult) -> tuple[dict[str, dict], dict[str, dict]]:
    """Live Cloud WAN and Transit Gateway state of the network account, diffed into result."""
    net = mgmt.assume(network_account, role) if role else mgmt
    live, tags = {}, {}
    cloudwan_file, tgw_file = (compiled_dir / f for f in ROUTING_FILES)
    core = find_core_network(net) if cloudwan_file.exists() else None
    if core:
        policy, tags = read_cloudwan(net, core, configured_ids)
        live[ROUTING_FILES[0]] = policy
        result.changes += diff_cloudwan(json.loads(cloudwan_file.read_text(encoding="utf-8")), policy)
        declared = {a["name"]: {k: a.get("tags", {})[k] for k in ROUTING_TAGS if k in a.get("tags", {})}
                    for a in json.loads((compiled_dir / "attachments.json").read_text(encoding="utf-8")) if a.get("cloud") == "aws"}
        result.changes += diff_attachment_tags(declared, tags)
    tgw = find_tgw(net, region) if tgw_file.exists() else None
    if tgw:
        live[ROUTING_FILES[1]] = read_tgw(net, region, tgw)
        result.changes += diff_tgw(json.loads(tgw_file.read_text(encoding="utf-8")), live[ROUTING_FILES[1]])
    if not live:
        raise CallFailure("networkmanager:ListCoreNetworks", "not-found",
                          f"no govcloud core network or Transit Gateway (tag govcloud:network) in account {network_account}")
    return live, tags


def _with_ids(resources: list[dict]) -> list[dict]:
    """Live resources carry ARNs as URNs; give security groups their id like a plan does."""
    out = []
    for r in resources:
        if r["type"] == "aws:ec2/securityGroup:SecurityGroup":
            r = {**r, "id": r["urn"].rsplit("/", 1)[-1]}
        out.append(r)
    return out


def _drop_target(view: Path, target_file: str) -> None:
    """Remove a routing target from the view's manifest too: the loader requires every listed
    target's file (a missing file is an error, never a skipped variant)."""
    from govcloud.network.fabric import TARGET_FILES

    manifest_path = view / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    dropped = {name for name, path in TARGET_FILES.items() if path == target_file}
    manifest["targets"] = [t for t in manifest.get("targets", []) if t not in dropped]
    manifest_path.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")

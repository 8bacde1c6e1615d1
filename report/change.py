"""What a change alters: plan documents before and after, per stack and resource, and the
reachable (source, destination, port) triples opened and closed.

Resources are matched by URN, as Pulumi's engine matches them: a URN only in the new plan is a
create, only in the old a delete, in both with different inputs an update (with the property
paths that differ). Provider resources and the stack resource itself are compared too: a changed
provider region is a change a reviewer must see.
"""

from __future__ import annotations

import json

from govcloud.plans import tenant_of
from govcloud.report.model import Change, NetworkProof, PropertyChange, ReachKey, ResourceChange, StackChange

# A property path deeper than this is shown as the whole value at that depth: enough to say what
# changed without a line per list element of a policy document.
MAX_DEPTH = 6
# Long values are cut in the compact form; the HTML keeps them whole inside <details>.
MAX_VALUE_CHARS = 400


def _compact(value) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _flatten(value, prefix: tuple, depth: int, out: dict) -> None:
    """Leaves by path; a path is a tuple of keys (str) and indexes (int), so {"a.b": 1} and
    {"a": {"b": 1}} never collide."""
    if isinstance(value, dict) and value and depth < MAX_DEPTH:
        for k, v in value.items():
            _flatten(v, prefix + (str(k),), depth + 1, out)
    elif isinstance(value, list) and value and depth < MAX_DEPTH and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(v, prefix + (i,), depth + 1, out)
    else:
        out[prefix] = value


def _path_text(path: tuple) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if part and all(c.isalnum() or c in "_-:/" for c in part) else json.dumps(part, ensure_ascii=False)
            text += f".{shown}" if text else shown
    return text or "(value)"


def property_changes(before: dict, after: dict) -> list[PropertyChange]:
    old, new = {}, {}
    if before:
        _flatten(before, (), 0, old)
    if after:
        _flatten(after, (), 0, new)
    out = []
    for key in sorted(set(old) | set(new), key=lambda k: [(isinstance(p, int), str(p)) for p in k]):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a != b:
            out.append(PropertyChange(_path_text(key), None if a is _MISSING else _compact(a),
                                      None if b is _MISSING else _compact(b)))
    return out


_MISSING = object()


def _resources(plan: dict) -> dict[str, dict]:
    return {r["urn"]: r for r in plan["deployment"]["resources"]}


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _stack_change(stack: str, tenant: str | None, before: dict | None, after: dict | None) -> StackChange | None:
    old = _resources(before) if before else {}
    new = _resources(after) if after else {}
    changes = []
    for urn in sorted(set(old) | set(new)):
        if urn not in old:
            r = new[urn]
            changes.append(ResourceChange(urn, r["type"], _name(urn), "create", property_changes({}, r.get("inputs") or {})))
        elif urn not in new:
            r = old[urn]
            changes.append(ResourceChange(urn, r["type"], _name(urn), "delete", property_changes(r.get("inputs") or {}, {})))
        else:
            props = property_changes(old[urn].get("inputs") or {}, new[urn].get("inputs") or {})
            if props:
                changes.append(ResourceChange(urn, new[urn]["type"], _name(urn), "update", props))
    if not changes:
        return None
    action = "create" if before is None else "delete" if after is None else "update"
    count = {k: sum(1 for c in changes if c.action == k) for k in ("create", "update", "delete")}
    return StackChange(stack, tenant, action, count["create"], count["update"], count["delete"], changes)


def _by_stack(plans: list[dict]) -> dict[str, dict]:
    return {p["govcloud"]["stack"]: p for p in plans}


def _reach_keys(proof: NetworkProof) -> dict[tuple, ReachKey]:
    # Keyed with the zones of both ends: a tenant moved from LGWAN into My Number opens its paths
    # anew (internet site → My Number), instead of hiding behind an unchanged name.
    return {(r.source, r.source_zone, r.destination, r.destination_zone, r.protocol, str(r.port)):
            ReachKey(r.source, r.source_zone, r.destination, r.destination_zone, r.protocol, r.port, r.path)
            for r in proof.reachable}


def _failing_controls(findings) -> set[str]:
    if findings is None:
        return set()
    return {f"{f.control} @ {f.tenant or f.stack}" for f in findings.rows if f.status == "failed" and f.mode == "mandatory"}


def compare(base: str, before_plans: list[dict], after_plans: list[dict], before_tenants: dict[str, dict],
            after_tenants: dict[str, dict], before_proof: NetworkProof, after_proof: NetworkProof,
            before_findings=None, after_findings=None) -> Change:
    """``*_tenants``: tenant name → its document as plain data (what the workspace declares);
    ``*_findings``: each side's findings, for the mandatory controls that newly fail."""
    old, new = _by_stack(before_plans), _by_stack(after_plans)
    stacks = []
    for stack in sorted(set(old) | set(new)):
        # The stack name says which tenant it builds (the plan contract, govcloud/plans.py): a
        # stack that is in only one of the two plans still names its tenant.
        found = _stack_change(stack, tenant_of(stack), old.get(stack), new.get(stack))
        if found:
            stacks.append(found)
    added = sorted(set(after_tenants) - set(before_tenants))
    removed = sorted(set(before_tenants) - set(after_tenants))
    # A tenant changed when its document changed or its stack's plan did (a new API it consumes
    # changes its security groups without touching its own document).
    planned = {s.tenant for s in stacks if s.tenant and s.action == "update"}
    edited = {t for t in set(before_tenants) & set(after_tenants) if before_tenants[t] != after_tenants[t]}
    a, b = _reach_keys(before_proof), _reach_keys(after_proof)
    return Change(
        base=base, tenants_added=added, tenants_removed=removed,
        tenants_changed=sorted((edited | planned) - set(added) - set(removed)),
        stacks=stacks, unchanged_stacks=len(set(old) | set(new)) - len(stacks),
        paths_opened=[b[k] for k in sorted(set(b) - set(a))],
        paths_closed=[a[k] for k in sorted(set(a) - set(b))],
        base_proof_ok=before_proof.ok,
        violations_new=[v for v in after_proof.violations if v.key not in {o.key for o in before_proof.violations}],
        violations_fixed=[v for v in before_proof.violations if v.key not in {n.key for n in after_proof.violations}],
        controls_new=sorted(_failing_controls(after_findings) - _failing_controls(before_findings)),
        note="the base is planned with the current code: the change shown is the change in the workspace's documents")


def summary_lines(change: Change, labels) -> list[str]:
    """The change for a terminal: short, the same facts as the page's change section."""
    t = labels
    lines = [t("change.heading", base=change.base)]
    lines.append(t("change.tenants", added=len(change.tenants_added), changed=len(change.tenants_changed),
                   removed=len(change.tenants_removed)))
    for key, names in (("+", change.tenants_added), ("~", change.tenants_changed), ("-", change.tenants_removed)):
        for n in names:
            lines.append(f"  {key} {n}")
    lines.append(t("change.stacks", stacks=len(change.stacks), unchanged=change.unchanged_stacks))
    for s in change.stacks:
        lines.append(f"  {s.stack}: {t('change.counts', create=s.creates, update=s.updates, delete=s.deletes)}"
                     + (f" ({t('action.' + s.action)})" if s.action != "update" else ""))
        for r in s.resources:
            if r.action != "update":
                continue
            shown = ", ".join(p.path for p in r.properties[:4]) + (" …" if len(r.properties) > 4 else "")
            lines.append(f"      ~ {r.type} {r.name}: {shown}")
    into = change.opened_into_mynumber
    lines.append(t("change.paths", opened=len(change.paths_opened), closed=len(change.paths_closed)))
    lines.append(t("change.mynumber.yes", n=len(into)) + "; " + t("change.mynumber.cross", n=len(change.opened_into_mynumber_across_zones))
                 if into else t("change.mynumber.no"))
    for p in change.paths_opened:
        mark = "!" if p.destination_zone == "mynumber" else "+"
        lines.append(f"  {mark} {p.source} ({p.source_zone}) → {p.destination} ({p.destination_zone}) {p.protocol}/{p.port}")
        if p.destination_zone == "mynumber":
            lines.extend(f"        {i}. {hop}" for i, hop in enumerate(p.path, start=1))
    for p in change.paths_closed:
        lines.append(f"  - {p.source} ({p.source_zone}) → {p.destination} ({p.destination_zone}) {p.protocol}/{p.port}")
    lines.append(t("change.violations.new", n=len(change.violations_new)) if change.violations_new
                 else t("change.violations.none"))
    for v in change.violations_new:
        lines.append(f"  ! {v.invariant} ({v.layer}): {v.message}")
        lines.extend(f"        {i}. {hop}" for i, hop in enumerate(v.path, start=1))
    lines.append(t("change.controls.new", n=len(change.controls_new)) if change.controls_new
                 else t("change.controls.none"))
    lines.extend(f"  ! {c}" for c in change.controls_new)
    return lines


def gate(change: Change, allow_mynumber_paths: bool = False) -> list[str]:
    """Why `govcloud diff` exits 1 (empty: it passes): the same gate as `network diff` — a newly
    broken invariant, and a new path into the My Number zone unless ``allow_mynumber_paths`` (a
    reviewed intake). Newly failing controls are shown, not gated here: `govcloud check` gates them."""
    out = [f"new violation {v.invariant}: {v.message}" for v in change.violations_new]
    if not allow_mynumber_paths:
        out += [f"new path into the My Number zone: {p.source} ({p.source_zone}) → {p.destination} "
                f"({p.destination_zone}) {p.protocol}/{p.port}" for p in change.opened_into_mynumber]
    return out

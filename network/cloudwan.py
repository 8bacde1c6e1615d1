"""AWS Cloud WAN core network policy (versions 2021.12 and 2025.11) into route tables.

Follows the AWS Network Manager "Core network policy version parameters" reference:
- attachment-policies: "Rules are processed in order from the lowest numbered rule to the
  highest. Rules stop processing when a rule is matched." Conditions: `any`, `resource-id`,
  `account-id`, `region`, `attachment-type`, `tag-exists`, `tag-value`; operators `equals`,
  `not-equals`, `contains`, `begins-with`; `condition-logic` `and`/`or` ("mandatory only if you
  have more than one condition"). Actions: `association-method` `constant` (the named segment)
  or `tag` (the segment named by the value of `tag-value-of-key`), or
  `add-to-network-function-group`.
- segments: attachments in a segment share routes with each other unless
  `isolate-attachments`; `deny-filter` / `allow-filter` limit which segments' routes a share
  may bring in.
- segment-actions: `share` (`share-with`: a list, "*", or {"except": [...]}, routes shared both
  ways), `create-route` (static routes to attachments or `blackhole`), `send-via` (traffic
  between the segment and `when-sent-to` segments — a list or "*" — crosses the network function
  group), `send-to` (the segment's traffic to other destinations goes to the network function
  group). "If there is no associated attachment [in the network function group] ... traffic will
  be dropped instead of being redirected."
- route evaluation (Cloud WAN "Route evaluation"): the most specific route, then static routes
  over propagated ones.
Anything else is refused by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govcloud.network.errors import NetworkInputError, Unsupported, need, only

VERSIONS = {"2021.12", "2025.11"}
TOP_FIELDS = frozenset({"version", "core-network-configuration", "segments", "network-function-groups",
                        "segment-actions", "attachment-policies"})
CONFIG_FIELDS = frozenset({"vpn-ecmp-support", "asn-ranges", "inside-cidr-blocks", "edge-locations", "dns-support",
                           "security-group-referencing-support"})
SEGMENT_FIELDS = frozenset({"name", "description", "edge-locations", "isolate-attachments",
                            "require-attachment-acceptance", "deny-filter", "allow-filter"})
NFG_FIELDS = frozenset({"name", "description", "require-attachment-acceptance"})
POLICY_FIELDS = frozenset({"rule-number", "description", "condition-logic", "conditions", "action"})
CONDITION_FIELDS = frozenset({"type", "operator", "key", "value"})
ACTION_FIELDS = frozenset({"association-method", "segment", "tag-value-of-key", "require-acceptance",
                           "add-to-network-function-group"})
CONDITION_TYPES = {"any", "resource-id", "account-id", "region", "attachment-type", "tag-exists", "tag-value"}
OPERATORS = {"equals", "not-equals", "contains", "begins-with"}
ATTRIBUTE = {"resource-id": "resourceId", "account-id": "accountId", "region": "region", "attachment-type": "attachmentType"}
EDGE_LOCATION_FIELDS = frozenset({"location", "asn", "inside-cidr-blocks"})
# An AWS Region code: ap-northeast-1, us-gov-west-1, eu-central-2, ...
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[1-9][0-9]?")
# attachment-policies rule-number: "An integer from 1 to 65535 indicating the rule's order number.
# Rules are processed in order from the lowest numbered rule to the highest. Rules stop processing
# when a rule is matched." The order is defined by the number alone: two rules with one number
# have no documented order, so which of them matches first cannot be proven (and is refused,
# never taken from the file's order).
RULE_NUMBERS = range(1, 65536)


@dataclass(frozen=True)
class Reading:
    """One reading of what the Cloud WAN documentation leaves open. The proof is made under every
    reading a policy depends on, and fails if any breaks an invariant (verify.py names it).

    - ``absent_tag_not_equals``: does a `tag-value` condition with `not-equals` match an attachment
      that lacks the tag? The reference ("Core network policy version parameters", attachment-policies
      conditions) lists the operators `equals`, `not-equals`, `contains`, `begins-with` for
      `tag-value` and says nothing of an absent key. IAM documents its own rule ("If the key that
      you specify in a policy condition is not present in the request context, the values do not
      match and the condition is false. If the policy condition requires that the key is not
      matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition
      is true"), but Cloud WAN is not IAM: both readings are proved.
    - ``star_includes_self``: does `"*"` (or `{"except": [...]}`) in `share-with` and in
      `when-sent-to.segments` include the segment the action is about? The documentation says
      "Segment sharing is bidirectional by default. When you create a segment share between two
      segments, routes from both segments are automatically advertised to each other" and its
      examples share a segment with `["*"]`; Pulumi's generated reference calls the except form
      "A set subtraction of segments to not share with". None says whether the set the wildcard
      stands for holds the segment itself, which matters for an isolated segment (sharing with
      itself would bring its own attachment routes back) and for send-via (traffic inside the
      segment through the function group)."""

    absent_tag_not_equals: bool = True
    star_includes_self: bool = False

    @property
    def label(self) -> str:
        return ("not-equals matches an absent tag" if self.absent_tag_not_equals else
                "not-equals never matches an absent tag") + "; " + \
               ('"*" includes the segment itself' if self.star_includes_self else '"*" is every other segment')


DEFAULT_READING = Reading()
ABSENT_TAG, STAR = "absent-tag", "star"


def _compare(operator: str, actual: str | None, expected: str, reading: Reading = DEFAULT_READING,
             met: set | None = None) -> bool:
    if actual is None:
        if operator == "not-equals" and met is not None:
            met.add(ABSENT_TAG)
        return operator == "not-equals" and reading.absent_tag_not_equals
    if operator == "equals":
        return actual == expected
    if operator == "not-equals":
        return actual != expected
    if operator == "contains":
        return expected in actual
    return actual.startswith(expected)  # begins-with


def _condition(cond: dict, attachment: dict, source: str, path: str, reading: Reading = DEFAULT_READING,
               met: set | None = None) -> bool:
    kind = cond["type"]
    if kind == "any":
        return True
    if kind == "tag-exists":
        return cond["key"] in attachment.get("tags", {})
    if kind == "tag-value":
        return _compare(cond["operator"], attachment.get("tags", {}).get(cond["key"]), cond["value"], reading, met)
    field = ATTRIBUTE[kind]
    actual = attachment.get(field)
    if not actual:
        raise Unsupported(source, f"condition type {kind}", path,
                          f"attachment {attachment['name']} has no known {field}; give it in the attachments file")
    return _compare(cond["operator"], actual, cond["value"])


def _read_conditions(rule: dict, source: str, path: str) -> list[dict]:
    conditions = need(rule, "conditions", list, source, path)
    if not conditions:
        raise NetworkInputError(source, f"{path}.conditions", "an attachment policy needs at least one condition")
    out = []
    for i, cond in enumerate(conditions):
        cp = f"{path}.conditions[{i}]"
        only(cond, CONDITION_FIELDS, source, cp)
        kind = need(cond, "type", str, source, cp)
        if kind not in CONDITION_TYPES:
            raise Unsupported(source, f"condition type {kind!r}", f"{cp}.type")
        entry = {"type": kind}
        if kind in ("tag-exists", "tag-value"):
            entry["key"] = need(cond, "key", str, source, cp)
        if kind not in ("any", "tag-exists"):
            operator = need(cond, "operator", str, source, cp)
            if operator not in OPERATORS:
                raise Unsupported(source, f"operator {operator!r}", f"{cp}.operator")
            entry["operator"] = operator
            entry["value"] = need(cond, "value", str, source, cp)
        out.append(entry)
    logic = rule.get("condition-logic")
    if logic is None and len(out) > 1:
        raise NetworkInputError(source, f"{path}.condition-logic", "condition-logic is mandatory with more than one condition")
    if logic not in (None, "and", "or"):
        raise Unsupported(source, f"condition-logic {logic!r}", f"{path}.condition-logic")
    return out


def _segment_names(value, segments: dict, source: str, path: str, own: str | None = None,
                   reading: Reading = DEFAULT_READING, met: set | None = None) -> list[str]:
    """A list of segments, "*" or {"except": [...]}: every other segment, or every segment, as the
    reading says (see Reading.star_includes_self)."""
    if (value == "*" or isinstance(value, dict)) and met is not None and own is not None:
        met.add(STAR)
    if reading.star_includes_self:
        own = None
    if value == "*":
        return [s for s in segments if s != own]
    if isinstance(value, dict):
        only(value, {"except"}, source, path)
        excluded = need(value, "except", list, source, path)
        for i, name in enumerate(excluded):
            if name not in segments:
                raise NetworkInputError(source, f"{path}.except[{i}]", f"dangling reference: no segment {name!r}")
        return [s for s in segments if s != own and s not in excluded]
    if not isinstance(value, list):
        raise NetworkInputError(source, path, f"expected a list of segments, \"*\" or {{\"except\": [...]}}, got {value!r}")
    for i, name in enumerate(value):
        if name not in segments:
            raise NetworkInputError(source, f"{path}[{i}]", f"dangling reference: no segment {name!r}")
    return list(value)


def _strings(obj: dict, key: str, source: str, path: str) -> list[str]:
    """A list of strings where the policy wants one: a bare string is a type error, never read
    letter by letter."""
    values = need(obj, key, list, source, path)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise NetworkInputError(source, f"{path}.{key}[{i}]", f"expected a string, got {type(v).__name__}")
    return values


def _region(value, source: str, path: str) -> str:
    if not isinstance(value, str) or not REGION.fullmatch(value):
        raise NetworkInputError(source, path, f"{value!r} is not an AWS Region code (such as ap-northeast-1)")
    return value


def _read_configuration(config, source: str) -> set[str]:
    """The core network's edge locations (Regions); inside CIDR blocks must be networks."""
    from govcloud.network.readers import network

    cp = "$.core-network-configuration"
    only(config, CONFIG_FIELDS, source, cp)
    for j, cidr in enumerate(_strings(config, "inside-cidr-blocks", source, cp) if "inside-cidr-blocks" in config else []):
        network(cidr, source, f"{cp}.inside-cidr-blocks[{j}]")
    edges: set[str] = set()
    for i, edge in enumerate(need(config, "edge-locations", list, source, cp) if "edge-locations" in config else []):
        ep = f"{cp}.edge-locations[{i}]"
        only(edge, EDGE_LOCATION_FIELDS, source, ep)
        location = _region(need(edge, "location", str, source, ep), source, f"{ep}.location")
        if location in edges:
            raise NetworkInputError(source, f"{ep}.location", f"edge location {location} appears twice")
        edges.add(location)
        if "asn" in edge:
            need(edge, "asn", int, source, ep)
        for j, cidr in enumerate(_strings(edge, "inside-cidr-blocks", source, ep) if "inside-cidr-blocks" in edge else []):
            network(cidr, source, f"{ep}.inside-cidr-blocks[{j}]")
    return edges


def read_cloudwan_readings(policy, attachments: dict[str, dict], source: str):
    """(the result under the default reading, [(reading, result)] under every other reading the
    policy depends on). A policy that meets no open question has no other reading."""
    met: set = set()
    first = read_cloudwan(policy, attachments, source, DEFAULT_READING, met)
    others = []
    for reading in (Reading(a, b) for a in (True, False) for b in (False, True)):
        if reading == DEFAULT_READING:
            continue
        if (reading.absent_tag_not_equals != DEFAULT_READING.absent_tag_not_equals and ABSENT_TAG not in met) or \
                (reading.star_includes_self != DEFAULT_READING.star_includes_self and STAR not in met):
            continue
        try:
            others.append((reading, read_cloudwan(policy, attachments, source, reading)))
        except NetworkInputError as exc:
            raise NetworkInputError(exc.source, exc.path, f"under the reading {reading.label}: {exc.message}") from None
    return first, others


def read_cloudwan(policy, attachments: dict[str, dict], source: str, reading: Reading = DEFAULT_READING,
                  met: set | None = None):
    """(tables, associations, functions {attachment: group}, unattached [(attachment, why)]) under
    ``reading``; ``met`` collects the open questions the policy depends on."""
    from govcloud.network.model import BLACKHOLE, Table
    from govcloud.network.readers import network

    only(policy, TOP_FIELDS, source, "$")
    version = need(policy, "version", str, source, "$")
    if version not in VERSIONS:
        raise Unsupported(source, f"version {version!r}", "$.version")
    edges = None
    if "core-network-configuration" in policy:
        edges = _read_configuration(policy["core-network-configuration"], source)
    segments = {}
    at = {}
    for i, seg in enumerate(need(policy, "segments", list, source, "$")):
        sp = f"$.segments[{i}]"
        only(seg, SEGMENT_FIELDS, source, sp)
        name = need(seg, "name", str, source, sp)
        if name in segments:
            raise NetworkInputError(source, f"{sp}.name", f"segment {name} appears twice")
        segments[name], at[name] = seg, sp
        # A segment's edge locations are a subset of the core network's.
        for j, location in enumerate(_strings(seg, "edge-locations", source, sp) if "edge-locations" in seg else []):
            _region(location, source, f"{sp}.edge-locations[{j}]")
            if edges is not None and location not in edges:
                raise NetworkInputError(source, f"{sp}.edge-locations[{j}]",
                                        f"dangling reference: {location} is not an edge location of the core network")
    for name, seg in segments.items():
        for key in ("deny-filter", "allow-filter"):
            for j, other in enumerate(_strings(seg, key, source, at[name]) if key in seg else []):
                if other not in segments:
                    raise NetworkInputError(source, f"{at[name]}.{key}[{j}]", f"dangling reference: no segment {other!r}")
    groups = {}
    for i, g in enumerate(policy.get("network-function-groups", [])):
        gp = f"$.network-function-groups[{i}]"
        only(g, NFG_FIELDS, source, gp)
        groups[need(g, "name", str, source, gp)] = g

    rules = []
    numbers: dict[int, str] = {}
    for i, rule in enumerate(policy.get("attachment-policies", [])):
        rp = f"$.attachment-policies[{i}]"
        only(rule, POLICY_FIELDS, source, rp)
        number = need(rule, "rule-number", int, source, rp)
        if number not in RULE_NUMBERS:
            raise NetworkInputError(source, f"{rp}.rule-number", f"rule-number {number} is not from 1 to 65535")
        if number in numbers:
            raise NetworkInputError(source, f"{rp}.rule-number",
                                    f"rule-number {number} is also {numbers[number]}'s: rules are ordered by number "
                                    "alone, so which matches first cannot be told")
        numbers[number] = rp
        conditions = _read_conditions(rule, source, rp)
        action = only(need(rule, "action", dict, source, rp), ACTION_FIELDS, source, f"{rp}.action")
        if "add-to-network-function-group" in action:
            group = need(action, "add-to-network-function-group", str, source, f"{rp}.action")
            if group not in groups:
                raise NetworkInputError(source, f"{rp}.action.add-to-network-function-group",
                                        f"dangling reference: no network function group {group!r}")
        else:
            method = need(action, "association-method", str, source, f"{rp}.action")
            if method == "constant":
                seg = need(action, "segment", str, source, f"{rp}.action")
                if seg not in segments:
                    raise NetworkInputError(source, f"{rp}.action.segment", f"dangling reference: no segment {seg!r}")
            elif method == "tag":
                need(action, "tag-value-of-key", str, source, f"{rp}.action")
            else:
                raise Unsupported(source, f"association-method {method!r}", f"{rp}.action.association-method")
        rules.append((number, rp, rule.get("condition-logic", "or"), conditions, action))
    rules.sort(key=lambda r: r[0])

    members: dict[str, list[str]] = {name: [] for name in segments}
    nfg_members: dict[str, list[str]] = {name: [] for name in groups}
    assoc: dict[str, str] = {}
    functions: dict[str, str] = {}
    unattached: list[tuple[str, str]] = []
    for name, a in attachments.items():
        if a.get("cloud") != "aws" or a.get("kind") == "external":
            continue
        matched = False
        for number, rp, logic, conditions, action in rules:
            # In order, stopping as soon as the logic is decided: a condition on a field the
            # attachment lacks is refused only when the outcome depends on it.
            results = (_condition(c, a, source, f"{rp}.conditions[{j}]", reading, met) for j, c in enumerate(conditions))
            if not (all(results) if logic == "and" else any(results)):
                continue
            matched = True
            if "add-to-network-function-group" in action:
                group = action["add-to-network-function-group"]
                nfg_members[group].append(name)
                assoc[name] = f"cloudwan-nfg:{group}"
                functions[name] = group
            elif action["association-method"] == "constant":
                members[action["segment"]].append(name)
                assoc[name] = f"cloudwan:{action['segment']}"
            else:
                seg = a.get("tags", {}).get(action["tag-value-of-key"])
                if seg is None:
                    unattached.append((name, f"rule {number} associates by tag {action['tag-value-of-key']}, "
                                             "which the attachment does not carry"))
                elif seg not in segments:
                    raise NetworkInputError(source, f"{rp}.action.tag-value-of-key",
                                            f"dangling reference: attachment {name} names segment {seg!r}, which does not exist")
                else:
                    members[seg].append(name)
                    assoc[name] = f"cloudwan:{seg}"
            break
        if not matched and a.get("kind") in ("tenant", "site", "inspection", "function", "intercloud"):
            unattached.append((name, "no attachment policy matches it"))
    if not assoc:
        raise NetworkInputError(source, "$.attachment-policies",
                                "the policy attaches nothing: no attachment policy matches any attachment")

    tables = {f"cloudwan:{s}": Table(f"cloudwan:{s}") for s in segments}
    for group in groups:
        tables[f"cloudwan-nfg:{group}"] = Table(f"cloudwan-nfg:{group}")

    def attachment_routes(segment: str) -> list[tuple[str, str]]:
        return [(c, m) for m in members.get(segment, []) for c in attachments[m]["cidrs"]]

    def admits(into: str, origin: str) -> bool:
        seg = segments[into]
        if origin in seg.get("deny-filter", []):
            return False
        return "allow-filter" not in seg or origin in seg["allow-filter"]

    for name, seg in segments.items():
        if not seg.get("isolate-attachments", False):
            for cidr, target in attachment_routes(name):
                tables[f"cloudwan:{name}"].add(cidr, target)
    by_id = {a.get("resourceId"): n for n, a in attachments.items() if a.get("resourceId")}
    for i, action in enumerate(policy.get("segment-actions", [])):
        ap = f"$.segment-actions[{i}]"
        kind = need(action, "action", str, source, ap)
        segment = need(action, "segment", str, source, ap)
        if segment not in segments:
            raise NetworkInputError(source, f"{ap}.segment", f"dangling reference: no segment {segment!r}")
        if kind == "create-route":
            only(action, {"action", "segment", "destination-cidr-blocks", "destinations", "description"}, source, ap)
            destinations = []
            for j, dest in enumerate(need(action, "destinations", list, source, ap)):
                if dest == BLACKHOLE:
                    destinations.append(BLACKHOLE)
                    continue
                name = dest.removeprefix("attachment:") if isinstance(dest, str) else dest
                name = by_id.get(name, name)
                if name not in attachments:
                    raise NetworkInputError(source, f"{ap}.destinations[{j}]", f"dangling reference: no attachment {dest!r}")
                destinations.append(name)
            for j, cidr in enumerate(need(action, "destination-cidr-blocks", list, source, ap)):
                for dest in destinations:
                    tables[f"cloudwan:{segment}"].add(network(cidr, source, f"{ap}.destination-cidr-blocks[{j}]"), dest,
                                                      static=True)
        elif kind == "share":
            only(action, {"action", "segment", "mode", "share-with", "description"}, source, ap)
            mode = action.get("mode", "attachment-route")
            if mode != "attachment-route":
                raise Unsupported(source, f"share mode {mode!r}", f"{ap}.mode")
            for other in _segment_names(need(action, "share-with", (list, str, dict), source, ap), segments, source,
                                        f"{ap}.share-with", own=segment, reading=reading, met=met):
                if admits(other, segment):
                    for cidr, target in attachment_routes(segment):
                        tables[f"cloudwan:{other}"].add(cidr, target)
                if admits(segment, other):
                    for cidr, target in attachment_routes(other):
                        tables[f"cloudwan:{segment}"].add(cidr, target)
        elif kind in ("send-via", "send-to"):
            fields = {"action", "segment", "mode", "via", "description"} | ({"when-sent-to"} if kind == "send-via" else set())
            only(action, fields, source, ap)
            if kind == "send-via" and action.get("mode", "single-hop") not in ("single-hop", "dual-hop"):
                raise Unsupported(source, f"send-via mode {action['mode']!r}", f"{ap}.mode")
            via = only(need(action, "via", dict, source, ap), {"network-function-groups", "with-edge-overrides"},
                       source, f"{ap}.via")
            via_groups = need(via, "network-function-groups", list, source, f"{ap}.via")
            for j, group in enumerate(via_groups):
                if group not in groups:
                    raise NetworkInputError(source, f"{ap}.via.network-function-groups[{j}]",
                                            f"dangling reference: no network function group {group!r}")
            # with-edge-overrides picks which edge's function serves a pair of edges: every member of
            # the group is explored anyway, so the choice does not change what is reachable.
            for group in via_groups:
                nfg_table = tables[f"cloudwan-nfg:{group}"]
                for function in nfg_members[group]:  # no member: traffic is dropped (documented)
                    if kind == "send-to":
                        tables[f"cloudwan:{segment}"].add("0.0.0.0/0", function)
                        tables[f"cloudwan:{segment}"].add("::/0", function)
                        for cidr, target in attachment_routes(segment):
                            nfg_table.add(cidr, target)
                        continue
                    wst = only(need(action, "when-sent-to", dict, source, ap), {"segments"}, source, f"{ap}.when-sent-to")
                    for other in _segment_names(need(wst, "segments", (list, str, dict), source, f"{ap}.when-sent-to"),
                                                segments, source, f"{ap}.when-sent-to.segments", own=segment,
                                                reading=reading, met=met):
                        for cidr, _ in attachment_routes(other):
                            tables[f"cloudwan:{segment}"].add(cidr, function)
                        for cidr, _ in attachment_routes(segment):
                            tables[f"cloudwan:{other}"].add(cidr, function)
                        for seg in (segment, other):
                            for cidr, target in attachment_routes(seg):
                                nfg_table.add(cidr, target)
                if kind == "send-via" and not nfg_members[group]:
                    need(action, "when-sent-to", dict, source, ap)
        else:
            raise Unsupported(source, f"segment action {kind!r}", f"{ap}.action")
    return tables, assoc, functions, unattached

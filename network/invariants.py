"""Zone invariants from data: what each zone may reach and through what (data/zone-rules.yaml), and
what each municipal security model lets a municipality's sites reach (data/security-models.yaml).

The rules are data so that a model change is a reviewable data change: this module holds only
the evaluation, which is the same for every rule:

- routing layer, once per (route table, source zone): a table that sources of the rule's `from`
  zone use must not route to an attachment of its `to` zone except through inspection, and the
  firewalls on an inspected path pass only declared exceptions (`access: intake`) or nothing
  (`access: never`); for `to: internet` also the tenant's own routes to an internet gateway or NAT
  and routes to internet-zone external sources;
- filtering layer, per destination tenant of the `to` zone: no rule admits a source of the `from`
  zone (or, from the internet, a public range) unless it is a declared exception (`intake`); for
  `to: internet`, no egress rule of a `from`-zone tenant lets it send to public addresses;
- effective layer (site-access-per-security-model): a site reaches a tenant only where its
  municipality's model says `direct` (screen transfer and `never` are not network paths), or by a
  declared exception. A site whose model the inventory does not name is held to every model at
  once (the strictest reading), never to none.

Called by ``verify.py`` (global routing once, the rest inside each tenant's verification so that
incremental re-verification reuses it with the tenant's other results).
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govcloud import yamlio
from govcloud.network.cidr import is_internet, overlaps

DATA_FILE = "zone-rules.yaml"
MODELS_FILE = "security-models.yaml"
SITE_ACCESS = "site-access-per-security-model"
INTERNET = "internet"
ACCESS_VALUES = ("direct", "screen-transfer", "never")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Quote(_Strict):
    ja: str = Field(min_length=1)
    source: str = Field(min_length=1)


class Channel(_Strict):
    ja: str
    en: str


class ZoneRule(_Strict):
    invariant: str
    from_: str = Field(alias="from")
    to: str
    access: Literal["never", "intake"]
    channels: list[str] = Field(default_factory=list)
    quote: str


class ModelText(_Strict):
    ja: str
    en: str


class ModelRules(_Strict):
    quote: str
    lgwan: ModelText


class ZoneRuleTable(_Strict):
    api_version: Literal["govcloud/v1"] = Field(alias="apiVersion")
    kind: Literal["ZoneRuleTable"]
    quotes: dict[str, Quote]
    channels: dict[str, Channel]
    rules: list[ZoneRule] = Field(min_length=1)
    models: dict[str, ModelRules]

    @model_validator(mode="after")
    def _references(self) -> "ZoneRuleTable":
        for i, rule in enumerate(self.rules):
            if rule.quote not in self.quotes:
                raise ValueError(f"rules[{i}].quote: no quote {rule.quote!r}")
            for c in rule.channels:
                if c not in self.channels:
                    raise ValueError(f"rules[{i}].channels: no channel {c!r}")
            if rule.from_ == rule.to:
                raise ValueError(f"rules[{i}]: from and to are both {rule.to!r}")
        for name, m in self.models.items():
            if m.quote not in self.quotes:
                raise ValueError(f"models.{name}.quote: no quote {m.quote!r}")
        return self


class SecurityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ja: str
    guideline: str
    access: dict[str, dict[str, Literal["direct", "screen-transfer", "never"]]]


class SecurityModelTable(_Strict):
    api_version: Literal["govcloud/v1"] = Field(alias="apiVersion")
    kind: Literal["SecurityModelTable"]
    models: dict[str, SecurityModel] = Field(min_length=1)


class ZoneRulesError(ValueError):
    """The rule data cannot be read: the proof cannot be made without it."""


def _load(name: str, model: type[BaseModel]):
    from govcloud.network.intent import DATA

    path = DATA / name
    data, _ = yamlio.load_file(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ZoneRulesError(f"{path}: {where}: {first['msg']}") from None


@functools.cache
def zone_rules() -> ZoneRuleTable:
    """The zone rules, validated once: every rule names an invariant of invariants.yaml and zones
    of the zone catalogue, and every model of the security-model table has its rules."""
    from govcloud.network.intent import invariant_catalogue
    from govcloud.tenants.catalogue import load_catalogue

    table = _load(DATA_FILE, ZoneRuleTable)
    known = {inv["id"] for inv in invariant_catalogue()}
    zones = set(load_catalogue().zones)
    for i, rule in enumerate(table.rules):
        if rule.invariant not in known:
            raise ZoneRulesError(f"{DATA_FILE}: rules[{i}].invariant: {rule.invariant!r} is not in invariants.yaml")
        for side in (rule.from_, rule.to):
            if side not in zones:
                raise ZoneRulesError(f"{DATA_FILE}: rules[{i}]: zone {side!r} is not in the zone catalogue")
    if SITE_ACCESS not in known:
        raise ZoneRulesError(f"invariants.yaml has no {SITE_ACCESS}")
    models = set(security_model_table())
    if set(table.models) != models:
        raise ZoneRulesError(f"{DATA_FILE}: models must be exactly those of {MODELS_FILE} ({', '.join(sorted(models))}),"
                             f" got {', '.join(sorted(table.models))}")
    return table


@functools.cache
def security_model_table() -> dict[str, dict[str, dict[str, str]]]:
    """security-models.yaml, validated (the intent reads the same file for the flows it declares)."""
    return {name: m.access for name, m in _load(MODELS_FILE, SecurityModelTable).models.items()}


def site_access(model: str | None, site_zone: str, tenant_zone: str) -> str:
    """What a model lets a site of `site_zone` do to a tenant of `tenant_zone`. Without a known
    model, the strictest answer any model gives (fail closed)."""
    table = security_model_table()
    if model in table:
        return table[model].get(site_zone, {}).get(tenant_zone, "never")
    answers = {m.get(site_zone, {}).get(tenant_zone, "never") for m in table.values()}
    return "direct" if answers == {"direct"} else ("never" if "never" in answers else "screen-transfer")


# --- evaluation ----------------------------------------------------------------------------------------------


def _quote(rule: ZoneRule) -> str:
    return zone_rules().quotes[rule.quote].ja.split("。")[0]


def _destinations(atts: dict, zone: str) -> list[str]:
    """Tenants and sites of a zone: a site is part of its zone (an LGWAN site is LGWAN, an internet
    site the internet)."""
    return [n for n in sorted(atts) if atts[n]["zone"] == zone and atts[n]["kind"] in ("tenant", "site")
            and atts[n]["cidrs"]]


def routing_violations(fabric, tenants: list[str], index, exceptions: set) -> list:
    """The routing layer of every zone rule, once per (route table, source zone)."""
    from govcloud.network.readers import candidate_ports
    from govcloud.network.verify import SOURCE_KINDS, Violation

    atts = fabric.attachments
    out = []
    groups: dict[tuple[str, str], str] = {}
    for name in sorted(atts):
        a = atts[name]
        if a["kind"] in SOURCE_KINDS and name in fabric.associated:
            groups.setdefault((fabric.associated[name], a["zone"]), name)
    for rule in zone_rules().rules:
        if "routing" not in fabric.layers:
            continue
        destinations = _destinations(atts, rule.to)
        for (table, zone), example in sorted(groups.items()):
            if zone != rule.from_:
                continue
            for dst in destinations:
                path = fabric.route_from_table(table, dst)
                if path is None:
                    continue
                hops = (f"{example} and every source in {table} ({zone} zone)",) + tuple(path.hops) \
                    + (f"{atts[dst]['kind']} {dst} ({rule.to} zone)",)
                if not path.inspected:
                    out.append(Violation(rule.invariant, "routing", example, dst,
                                         f"{zone}-zone sources in {table} route to {rule.to}-zone {dst} without crossing "
                                         f"inspection: {_quote(rule)}", hops))
                    continue
                firewalls = [fabric.firewall_for(f) for f in path.functions]
                if any(fw is None or fw.default == "pass" for fw in firewalls):
                    why = "a network function on the path has no firewall modelled" if None in firewalls \
                        else "the firewall's default action passes traffic"
                    out.append(Violation(rule.invariant, "routing", example, dst,
                                         f"{zone}-zone sources in {table} reach {rule.to}-zone {dst} through inspection: "
                                         f"{why}", hops))
                    continue
                for fw in firewalls:
                    for fr in fw.rules:
                        if fr["action"] != "pass" or not any(overlaps(d, c) for d in fr["destinations"]
                                                             for c in atts[dst]["cidrs"]):
                            continue
                        for src in sorted({s for c in fr["sources"] for s in index.admitted(c)}):
                            if atts[src]["zone"] != zone or fabric.associated.get(src) != table:
                                continue
                            for p in candidate_ports(fr["port"]):
                                if rule.access == "intake" and (src, dst, fr["protocol"], p) in exceptions:
                                    continue
                                if fabric.firewall_passes(atts[src]["cidrs"][0], atts[dst]["cidrs"][0], fr["protocol"],
                                                          p, path):
                                    out.append(Violation(
                                        rule.invariant, "routing", src, dst,
                                        f"inspection rule {fr['id']} passes {src} ({zone}) to {rule.to}-zone {dst} "
                                        f"{fr['protocol']}/{p}"
                                        + (" without a declared exception" if rule.access == "intake" else
                                           f": {rule.from_} never reaches {rule.to}"), hops))
    return out


def tenant_violations(fabric, t: str, index, exceptions: set, reachable: list) -> list:
    """Everything the zone rules and the security models say about one tenant: its filters as a
    destination, its routes and egress as a source, and the sites that reach it."""
    from govcloud.network.verify import Violation, _internet_egress, _rules, admits

    atts = fabric.attachments
    dst, entry = atts[t], fabric.filters.get(t, {})
    out = []
    for rule in zone_rules().rules:
        if rule.to == dst["zone"] and "filtering" in fabric.layers:
            for group, cidr, proto, port, _, upto in _rules(entry):
                where = (f"{group}: {cidr} {proto}/{port}", f"tenant {t} ({rule.to} zone)")
                if not admits(entry, cidr if cidr != "Internet" else "0.0.0.0/0", dst["cidrs"][0], proto, port, upto):
                    continue
                if rule.from_ == INTERNET and is_internet(cidr):
                    out.append(Violation(rule.invariant, "filtering", cidr, t,
                                         f"{group} of {rule.to}-zone tenant {t} admits {cidr} (the internet): "
                                         f"{_quote(rule)}", where))
                    continue
                for src in index.admitted(cidr):
                    if src == t or atts[src]["zone"] != rule.from_:
                        continue
                    if rule.access == "intake" and (src, t, proto, port) in exceptions:
                        continue
                    if admits(entry, atts[src]["cidrs"][0], dst["cidrs"][0], proto, port, upto):
                        out.append(Violation(rule.invariant, "filtering", src, t,
                                             f"{group} of {rule.to}-zone tenant {t} admits {rule.from_}-zone {src} "
                                             f"({cidr} {proto}/{port})", where))
        if rule.from_ == dst["zone"] and rule.to == INTERNET:
            if "routing" in fabric.layers:
                for route in entry.get("routes", []):
                    if route.get("leads") == "internet":
                        out.append(Violation(rule.invariant, "routing", t, "internet",
                                             f"route table of {rule.from_}-zone tenant {t} sends {route['destination']} "
                                             f"to {route['target']}",
                                             (f"tenant {t}", f"VPC route {route['destination']} → {route['target']}",
                                              "internet")))
                for ext in (n for n, a in atts.items() if a["kind"] == "external" and a["zone"] == INTERNET):
                    path = fabric.route(t, ext)
                    if path is not None and not path.inspected:
                        out.append(Violation(rule.invariant, "routing", t, ext,
                                             f"{rule.from_}-zone tenant {t} routes to internet source {ext}",
                                             tuple(path.hops)))
            if "filtering" in fabric.layers:
                leak = _internet_egress(entry)
                if leak:
                    out.append(Violation(rule.invariant, "filtering", t, "internet",
                                         f"{leak} of {rule.from_}-zone tenant {t} lets it send to the internet",
                                         (f"tenant {t}", leak)))
    if "effective" in fabric.layers:
        for r in reachable:
            a = atts[r.source]
            if a["kind"] != "site":
                continue
            key = (r.source, t, r.protocol, r.port)
            model = a.get("securityModel")
            access = site_access(model, a["zone"], dst["zone"])
            if access == "direct" or key in exceptions:
                continue
            named = f"the {model} model" if model else "every security model (the inventory names none)"
            text = zone_rules().models[model].lgwan.en if model in zone_rules().models else ""
            out.append(Violation(SITE_ACCESS, "effective", r.source, t,
                                 f"{a['zone']}-zone site {r.source} reaches {dst['zone']}-zone tenant {t} directly on "
                                 f"{r.protocol}/{r.port}; {named} allows {access} only"
                                 + (f" ({text})" if text else ""), r.path))
    return out

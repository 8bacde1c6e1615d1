"""Zone invariants as data: what each zone may reach and through what (data/zone-rules.yaml), and
what each municipal security model lets a municipality's sites reach (data/security-models.yaml),
read once and validated (a schema in pydantic; a bad file is refused by name).

The rules are data so that a model change is a reviewable data change. The evaluation, the same
for every rule, is in verify.py (``_zone_routing``, ``_zone_tenant``):

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

verify.py evaluates global routing once and the rest inside each tenant's verification, so that
incremental re-verification reuses it with the tenant's other results.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from govcloud import yamlio

DATA_FILE = "zone-rules.yaml"
MODELS_FILE = "security-models.yaml"
SITE_ACCESS = "site-access-per-security-model"
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

"""The report as typed data: what `govcloud report --format json` prints and what the HTML page
is rendered from. Plain dataclasses of plain values (strings, numbers, lists, dicts), so the JSON
form is just ``dataclasses.asdict``. Field names are the JSON names (camelCase is applied by
``to_json``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Bilingual:
    ja: str
    en: str


@dataclass
class TenantRow:
    name: str
    cloud: str
    region: str
    zone: str
    usage: str                 # dedicated (単独利用方式) or shared (共同利用方式)
    environment: str
    vendor: str
    system: str
    municipalities: list[str]


@dataclass
class MunicipalityRow:
    code: str
    name: str
    prefecture: str
    security_model: str
    tenants: int


@dataclass
class Expiring:
    """A waiver or network exception: who allowed what until when."""

    kind: str                  # waiver or network-exception
    id: str
    subject: str               # what it allows, in words
    approver: str
    expires: str               # ISO date
    days_left: int             # negative: expired (no longer applies)
    status: str                # active, expiring (within the warning window), expired, ignored
    note: str = ""


@dataclass
class FleetSummary:
    tenants: list[TenantRow]
    municipalities: list[MunicipalityRow]
    by_cloud: dict[str, int]
    by_region: dict[str, int]
    by_zone: dict[str, int]
    by_usage: dict[str, int]
    by_environment: dict[str, int]


@dataclass
class InvariantVerdict:
    id: str
    title: Bilingual
    layers: list[str]
    violations: int


@dataclass
class Violation:
    invariant: str
    layer: str
    source: str
    destination: str
    message: str
    path: list[str]
    reading: str = ""          # the reading of ambiguous cloud documentation it breaks under ("": every one)

    @property
    def key(self) -> tuple:
        """The same violation in the base and now (its message may carry counts)."""
        return (self.invariant, self.layer, self.source, self.destination, self.reading)


@dataclass
class Reachable:
    source: str
    source_zone: str
    destination: str
    destination_zone: str
    protocol: str
    port: int | str
    declared: str              # the declaration's reason ("site-access", "api:…", "exception:…") or ""
    path: list[str]


@dataclass
class TableNode:
    """A route table / segment of the WAN, as the verifier read it."""

    name: str
    side: str                  # aws or azure
    zone: str                  # the zone it serves ("" for inspection)
    routes: int
    to_inspection: bool        # holds routes whose next hop is the inspection function
    to_intercloud: bool        # holds routes into the inter-cloud link


@dataclass
class AttachmentNode:
    name: str
    kind: str                  # tenant, site, external, intercloud, inspection
    zone: str
    cloud: str
    table: str
    municipalities: list[str]
    vendor: str


@dataclass
class NetworkProof:
    variant: str
    ok: bool
    invariants: list[InvariantVerdict]
    violations: list[Violation]
    matrix: dict[str, dict[str, int]]          # source zone -> destination zone -> reachable triples
    reachable: list[Reachable]
    unreachable_declared: list[list]
    tables: list[TableNode]
    attachments: list[AttachmentNode]
    intercloud: list[list[str]]                # [aws attachment, azure attachment] pairs


@dataclass
class FindingRow:
    control: str
    title: Bilingual
    remediation: Bilingual
    severity: str
    mode: str                  # mandatory or advisory
    status: str                # failed or waived
    stack: str
    tenant: str | None
    resource: str
    resource_type: str
    message: str
    waiver: str | None


@dataclass
class Findings:
    stacks: int
    evaluated: int
    failed_mandatory: int
    advisory: int
    waived: int
    rows: list[FindingRow]
    notes: list[str]


@dataclass
class PropertyChange:
    path: str                  # dotted property path
    before: str | None         # compact JSON of the old value (None: absent)
    after: str | None


@dataclass
class ResourceChange:
    urn: str
    type: str
    name: str
    action: str                # create, update, delete
    properties: list[PropertyChange]


@dataclass
class StackChange:
    stack: str
    tenant: str | None
    action: str                # create, update, delete (the stack itself)
    creates: int
    updates: int
    deletes: int
    resources: list[ResourceChange]


@dataclass
class ReachKey:
    source: str
    source_zone: str
    destination: str
    destination_zone: str
    protocol: str
    port: int | str
    path: list[str]


@dataclass
class Change:
    base: str
    tenants_added: list[str]
    tenants_removed: list[str]
    tenants_changed: list[str]
    stacks: list[StackChange]
    unchanged_stacks: int
    paths_opened: list[ReachKey]
    paths_closed: list[ReachKey]
    base_proof_ok: bool
    note: str
    violations_new: list[Violation] = dataclasses.field(default_factory=list)   # broken now, not in the base
    violations_fixed: list[Violation] = dataclasses.field(default_factory=list)
    controls_new: list[str] = dataclasses.field(default_factory=list)           # "control @ tenant or stack", failing now only

    @property
    def proof_newly_fails(self) -> bool:
        return bool(self.violations_new)

    @property
    def opened_into_mynumber(self) -> list[ReachKey]:
        return [p for p in self.paths_opened if p.destination_zone == "mynumber"]

    @property
    def opened_into_mynumber_across_zones(self) -> list[ReachKey]:
        """New paths into the My Number zone from another zone: the ones the three-layer
        separation exists to prevent (each must be a declared, inspected exception)."""
        return [p for p in self.opened_into_mynumber if p.source_zone != "mynumber"]


@dataclass
class DriftChange:
    layer: str
    kind: str
    where: str
    declared: str | None
    live: str | None


@dataclass
class Live:
    sources: list[str]                         # the files read
    endpoint: str
    audit_findings: list[FindingRow]
    audit_failures: list[dict]
    drift: list[DriftChange]
    drift_violations: list[Violation]
    drift_failures: list[dict]
    drift_notes: list[str]


@dataclass
class Report:
    schema_version: int
    generated_at: str
    today: str
    lang: str
    workspace: str
    fleet: FleetSummary
    proof: NetworkProof
    findings: Findings
    approvals: list[Expiring]                  # waivers and network exceptions
    warn_days: int
    change: Change | None = None
    live: Live | None = None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def plain(value):
    if dataclasses.is_dataclass(value):
        return {_camel(f.name): plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def to_dict(report: Report) -> dict:
    return plain(report)


def to_json(report: Report, indent: int | None = 1) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=indent) + "\n"



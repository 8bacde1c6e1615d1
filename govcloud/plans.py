"""The plan as a contract between the stages.

Everything after ``stacks`` (checks, network verification, live commands, reports) reads plan
documents, never the Pulumi programs. This module owns that contract:

- stack names: one Pulumi program, the stack name picks what to build (DESIGN.md §3):
  ``foundation``, ``network``, or ``tenant-<tenant name>``;
- the typed ``PlanDocument``, shaped like ``pulumi stack export`` (deployment version 3:
  ``deployment.resources`` with urn, custom, type, inputs, parent, provider, dependencies) plus a
  ``govcloud`` section with the stack's summary;
- reading plans and plan folders, failing closed: a file that is not a plan, a plan without its
  ``govcloud`` section, a stack with no resources, a resource a control cannot judge, a folder with
  only an index, two files for one stack — each is a diagnostic (GC901–GC904) with file, line and
  field, never a silent pass or a traceback. It is the only reader of plan documents.

It sits at the bottom of the import layers (with workspace and io) so that producers (stacks) and
consumers (policies, network, live, report) share it without importing each other.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from govcloud import yamlio
from govcloud.diagnostics import Diagnostic, DiagnosticError, UsageError, dotted, locate

# --- stack names ----------------------------------------------------------------------------------

FOUNDATION = "foundation"
NETWORK = "network"
TENANT_PREFIX = "tenant-"
EXPECTED_STACKS = f"{FOUNDATION}, {NETWORK} or {TENANT_PREFIX}<tenant name>"


def tenant_stack(tenant: str) -> str:
    return f"{TENANT_PREFIX}{tenant}"


def tenant_of(stack: str) -> str | None:
    """The tenant a stack builds; None for the platform stacks and for names that are not stacks."""
    if stack.startswith(TENANT_PREFIX) and len(stack) > len(TENANT_PREFIX):
        return stack.removeprefix(TENANT_PREFIX)
    return None


def is_stack_name(stack: str) -> bool:
    return stack in (FOUNDATION, NETWORK) or tenant_of(stack) is not None


# --- the document ---------------------------------------------------------------------------------

PLAN_VERSION = 3
INDEX_FILE = "index.json"
# A whole-country network plan is a few MB; anything far beyond that is not a plan we wrote.
MAX_PLAN_BYTES = 256 * 1024 * 1024


class PlanResource(BaseModel):
    """One entry of ``deployment.resources``. A real ``pulumi stack export`` carries more fields
    (created, modified, protect, ...): they are kept, but the ones every consumer needs must be
    there with the right types."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)

    urn: str = Field(min_length=1)
    custom: bool
    type: str = Field(min_length=1)
    id: str | None = None
    # Absent or null inputs read as {} here; the reader reports them (GC904) on a resource that has
    # controls, so no consumer ever sees a resource whose inputs were silently missing.
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    parent: str | None = None
    provider: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    property_dependencies: dict[str, list[str]] = Field(default_factory=dict, alias="propertyDependencies")

    @field_validator("inputs", mode="before")
    @classmethod
    def _null_inputs(cls, value: Any) -> Any:
        return {} if value is None else value


class PlanSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    resources: int = Field(ge=0)
    components: int = Field(ge=0)
    by_type: dict[str, int] = Field(alias="byType")


class PlanSection(BaseModel):
    """What govcloud adds to the export: which stack, tenant and cloud, and how it was planned."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    stack: str
    tenant: str | None = None
    cloud: Literal["aws", "azure"] | None = None
    zone: str | None = None
    mode: str
    inputs_hash: str = Field(alias="inputsHash")
    summary: PlanSummary


class Deployment(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    manifest: dict[str, Any] = Field(default_factory=dict)
    resources: list[PlanResource]


class PlanDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    version: int
    deployment: Deployment
    govcloud: PlanSection
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this plan was read from (None when built in memory)."""
        return self._source

    @property
    def stack(self) -> str:
        return self.govcloud.stack

    @property
    def resources(self) -> list[PlanResource]:
        return self.deployment.resources

    def of_type(self, type_token: str) -> list[PlanResource]:
        return [r for r in self.deployment.resources if r.type == type_token]

    def as_json(self) -> dict:
        """The document as plain JSON values, exactly in the exported field names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- reading, failing closed ----------------------------------------------------------------------
#
# The one reader of plan documents: `govcloud check`, the deploy gate, the live commands and
# `govcloud report --plans` read plan files through here. Its diagnostics:
#   GC100/GC106  the file is not JSON, or exceeds a limit (govcloud.yamlio's rules for every document);
#   GC901        not a plan document: wrong shape or types, another plan version, not a stack name,
#                a tenant that disagrees with its stack, a URN twice, a stack planned twice, a
#                provider's resource marked ``custom: false`` (only the stack and components are);
#   GC902        no ``govcloud`` section: which stack it is cannot be known, so nothing can be judged;
#   GC903        nothing to judge: no plan documents in the folder (or only an index), no resources;
#   GC904        a plan lacks what a control needs: ``cloud``/``zone`` of a tenant plan, a resource's
#                inputs, the provider a resource names (its region).
# A plan may be edited by hand (that is how a check is tried), so its summary is not held against
# its resources.

PLAN_LIMITS = replace(yamlio.DEFAULT_LIMITS, max_bytes=MAX_PLAN_BYTES)
# Validation errors of one file shown at most: the first ones say what is wrong.
MAX_SHAPE_ERRORS = 20


class _Where:
    """Positions of one plan's fields, computed only when a diagnostic needs them."""

    def __init__(self, path: Path, text: str | None):
        self.path, self.text, self._positions = str(path), text, None

    def __call__(self, code: str, message: str, loc: tuple = ()) -> Diagnostic:
        if self._positions is None:
            self._positions = yamlio.json_positions(self.text) if self.text else {}
        line, col = locate(self._positions, loc)
        return Diagnostic(self.path, line, col, code, message, dotted(loc))


def _is_provider(type_token: object) -> bool:
    return isinstance(type_token, str) and type_token.startswith("pulumi:providers:")


STACK_TYPE = "pulumi:pulumi:Stack"
COMPONENT_PACKAGE = "govcloud:"


def is_component(type_token: str) -> bool:
    """The resources a plan legitimately marks ``custom: false``: the stack itself and govcloud's
    component resources (govcloud:aws:TenantNetwork, ...). Anything else is a provider's resource
    (aws:, azure-native:, pulumi:providers:, ...), which the controls judge."""
    return type_token == STACK_TYPE or type_token.startswith(COMPONENT_PACKAGE)


def provider_urn(reference: str) -> str:
    """The URN part of a provider reference (``<provider URN>::<provider id>``)."""
    return reference.rsplit("::", 1)[0]


def _validate(data: Any, where: _Where) -> tuple[PlanDocument | None, list[Diagnostic]]:
    if not isinstance(data, dict) or "deployment" not in data:
        return None, [where("GC901", "not a plan document: expected a JSON object with `deployment.resources` and "
                                     "`govcloud` (the shape of `pulumi stack export` that govcloud plan writes)")]
    out: list[Diagnostic] = []
    if "govcloud" not in data:
        out.append(where("GC902", "the plan has no `govcloud` section (stack, tenant, cloud, zone): which stack it is "
                                  "cannot be known, so nothing in it can be checked; write plans with govcloud plan",
                         ("govcloud",)))
    try:
        doc = PlanDocument.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors()[:MAX_SHAPE_ERRORS]:
            loc = tuple(err["loc"])
            if loc[:1] == ("govcloud",) and "govcloud" not in data:
                continue                 # said once above
            shown = err.get("input")
            got = f" (got {shown!r})" if isinstance(shown, (str, int, float, bool)) or shown is None else ""
            out.append(where("GC901", f"not a plan document: {err['msg']}{got}", loc))
        return None, out
    meta = doc.govcloud
    if doc.version != PLAN_VERSION:
        out.append(where("GC901", f"plan version {doc.version}; this govcloud reads version {PLAN_VERSION}", ("version",)))
    if not is_stack_name(meta.stack):
        out.append(where("GC901", f"{meta.stack!r} is not a stack name: expected {EXPECTED_STACKS}", ("govcloud", "stack")))
    elif meta.tenant != tenant_of(meta.stack):
        out.append(where("GC901", f"govcloud.tenant is {meta.tenant!r} but stack {meta.stack} builds "
                                  f"{tenant_of(meta.stack)!r}", ("govcloud", "tenant")))
    if not any(r.custom for r in doc.resources):
        out.append(where("GC903", f"stack {meta.stack} has no resources: an empty plan proves nothing",
                         ("deployment", "resources")))
    if meta.tenant is not None:
        for name in ("cloud", "zone"):
            if not getattr(meta, name):
                out.append(where("GC904", f"tenant plan without govcloud.{name}: the controls that select by {name} "
                                          f"cannot be applied", ("govcloud", name)))
    # Only the stack and govcloud's components are not custom: a provider's resource marked
    # `custom: false` would pass by every control (they judge custom resources), so it is refused.
    for i, r in enumerate(doc.resources):
        if not r.custom and not is_component(r.type):
            out.append(where("GC901", f"resource {r.urn} of type {r.type} is marked custom: false, which only the "
                                      f"stack ({STACK_TYPE}) and govcloud components are: re-plan with govcloud plan",
                             ("deployment", "resources", i, "custom")))
    # A resource's inputs are what its controls judge: absent (or null) is not "nothing to judge".
    for i, raw in enumerate(data["deployment"]["resources"]):
        if not is_component(raw["type"]) and raw.get("inputs") is None:
            out.append(where("GC904", f"resource {raw['urn']} has no inputs: its controls cannot be evaluated",
                             ("deployment", "resources", i, "inputs")))
    # The provider a resource names decides its region (GC-GEN-REGION-1 judges the provider): one
    # that is not a provider of this plan leaves the region unknown.
    providers = {r.urn for r in doc.resources if _is_provider(r.type)}
    for i, r in enumerate(doc.resources):
        if r.provider is not None and provider_urn(r.provider) not in providers:
            out.append(where("GC904", f"resource {r.urn} names provider {r.provider!r}, which is not a provider of "
                                      f"this plan: its region cannot be known", ("deployment", "resources", i, "provider")))
    seen: set[str] = set()
    for i, r in enumerate(doc.resources):
        if r.urn in seen:
            out.append(where("GC901", f"resource URN {r.urn} appears twice", ("deployment", "resources", i, "urn")))
        seen.add(r.urn)
    return doc, out


def plan_diagnostic(doc: PlanDocument, code: str, message: str, loc: tuple = ()) -> Diagnostic:
    """A diagnostic about a plan that was read, at the line of its field ``loc`` (for rules that
    join a plan with other documents, which this module does not read)."""
    path = doc.source or Path("<plan>")
    try:
        text = yamlio.read_text(path, PLAN_LIMITS) if doc.source else None
    except (OSError, DiagnosticError):
        text = None
    return _Where(path, text)(code, message, loc)


def plan_problems(data: Any, path: Path, text: str | None = None) -> list[Diagnostic]:
    """Why a parsed value cannot be read as a plan (empty when it can). ``text``, the JSON it was
    parsed from, lets each diagnostic name the line of its field."""
    return _validate(data, _Where(path, text))[1]


def parse_plan(text: str, path: Path) -> PlanDocument:
    """One plan document, or a DiagnosticError naming every problem found."""
    data = yamlio.load_json_text(text, path, PLAN_LIMITS)
    doc, problems = _validate(data, _Where(path, text))
    if problems:
        raise DiagnosticError(problems)
    doc._source = path
    return doc


def read_plan(path: Path) -> PlanDocument:
    """A plan file: bounded in size, UTF-8, JSON without duplicate keys or NaN, and a plan."""
    return parse_plan(yamlio.read_text(path, PLAN_LIMITS), path)


def plan_files(plan_dir: Path) -> list[Path]:
    return sorted(p for p in plan_dir.glob("*.json") if p.name != INDEX_FILE)


def read_plan_folder(plan_dir: Path, progress: Callable[[int, int], None] | None = None) -> list[PlanDocument]:
    """Every plan in a folder written by ``govcloud plan`` (or exported by hand), all problems at
    once. ``progress(done, total)`` is called after each file."""
    if not plan_dir.is_dir():
        raise UsageError(f"{plan_dir} is not a folder of plan documents: run govcloud plan --all first")
    files = plan_files(plan_dir)
    if not files:
        index = plan_dir / INDEX_FILE
        raise DiagnosticError([Diagnostic(str(index), 1, 1, "GC903", "the folder holds only an index and no plan documents: "
                                          "run govcloud plan --all first") if index.exists() else
                               Diagnostic(str(plan_dir), 1, 1, "GC903", "no plan documents (*.json) in the folder: "
                                          "run govcloud plan --all first")])
    docs, problems, seen = [], [], {}
    for done, path in enumerate(files, start=1):
        try:
            doc = read_plan(path)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
        else:
            if doc.stack in seen:
                where = _Where(path, yamlio.read_text(path, PLAN_LIMITS))
                problems.append(where("GC901", f"stack {doc.stack} is planned twice (also in {seen[doc.stack].name})",
                                      ("govcloud", "stack")))
            else:
                seen[doc.stack] = path
                docs.append(doc)
        if progress:
            progress(done, len(files))
    if problems:
        raise DiagnosticError(problems)
    return docs


def iter_plan_json(plan_dir: Path) -> Iterable[tuple[Path, dict]]:
    """(path, plain JSON) for every plan of a folder, each validated against the contract first."""
    for doc in read_plan_folder(plan_dir):
        yield doc.source, doc.as_json()


def render_plan(doc: dict) -> str:
    """The on-disk form: stable, diffable JSON (one value per line)."""
    return json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n"

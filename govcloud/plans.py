"""The plan as a contract between the stages.

Everything after ``stacks`` (checks, network verification, live commands, reports) reads plan
documents, never the Pulumi programs. This module owns that contract:

- stack names: one Pulumi program, the stack name picks what to build (DESIGN.md §3):
  ``foundation``, ``network``, or ``tenant-<tenant name>``;
- the typed ``PlanDocument``, shaped like ``pulumi stack export`` (deployment version 3:
  ``deployment.resources`` with urn, custom, type, inputs, parent, provider, dependencies) plus a
  ``govcloud`` section with the stack's summary;
- reading plans and plan folders, failing closed: a file that is not a plan, a plan without its
  ``govcloud`` section, a stack with no resources, a folder with only an index, two files for one
  stack — each is a diagnostic with file, line and field, never a silent pass or a traceback.

It sits at the bottom of the import layers (with workspace and io) so that producers (stacks) and
consumers (policies, network, live, report) share it without importing each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from govcloud.diagnostics import Diagnostic, DiagnosticError, UsageError, dotted

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
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    parent: str | None = None
    provider: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    property_dependencies: dict[str, list[str]] = Field(default_factory=dict, alias="propertyDependencies")


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
    cloud: str | None = None
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


def _positions(text: str) -> dict[tuple, tuple[int, int]]:
    """Line and column of every field, for diagnostics only: plans are JSON, which is YAML, so the
    position-keeping YAML reader finds them (slow, hence only on the error path)."""
    from govcloud import yamlio

    try:
        return yamlio.load_text(text, "<plan>")[1]
    except Exception:  # the JSON parsed, so this is best effort; positions are a courtesy
        return {}


def _diagnostic(path: Path, text: str | None, loc: tuple, message: str, positions: dict | None = None) -> Diagnostic:
    from govcloud.diagnostics import locate

    positions = positions if positions is not None else (_positions(text) if text else {})
    line, col = locate(positions, loc)
    return Diagnostic(str(path), line, col, "GC600", message, dotted(loc))


def parse_plan(text: str, path: Path) -> PlanDocument:
    """One plan document, or a DiagnosticError naming every problem found."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiagnosticError([Diagnostic(str(path), exc.lineno, exc.colno, "GC600",
                                          f"not a plan document: invalid JSON ({exc.msg})")]) from None
    except RecursionError:
        raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC600", "not a plan document: nested too deeply")]) from None
    if not isinstance(data, dict) or "deployment" not in data:
        raise DiagnosticError([_diagnostic(path, None, (), "not a plan document: expected a JSON object with "
                                           "`deployment.resources` (the shape of `pulumi stack export`)")])
    if "govcloud" not in data:
        raise DiagnosticError([_diagnostic(path, text, (), "the plan has no `govcloud` section: which stack it is "
                                           "cannot be known, so nothing in it can be checked")])
    try:
        doc = PlanDocument.model_validate(data)
    except ValidationError as exc:
        positions = _positions(text)
        raise DiagnosticError([_diagnostic(path, text, tuple(err["loc"]), f"not a plan document: {err['msg']}", positions)
                               for err in exc.errors()]) from None
    problems = []
    if doc.version != PLAN_VERSION:
        problems.append(_diagnostic(path, text, ("version",), f"plan version {doc.version}; this govcloud reads version {PLAN_VERSION}"))
    if not is_stack_name(doc.stack):
        problems.append(_diagnostic(path, text, ("govcloud", "stack"), f"{doc.stack!r} is not a stack name: expected {EXPECTED_STACKS}"))
    if not any(r.custom for r in doc.resources):
        problems.append(_diagnostic(path, text, ("deployment", "resources"),
                                    f"stack {doc.stack} has no resources: a plan with nothing in it proves nothing"))
    if problems:
        raise DiagnosticError(problems)
    doc._source = path
    return doc


def read_plan(path: Path) -> PlanDocument:
    try:
        size = path.stat().st_size
        if size > MAX_PLAN_BYTES:
            raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC600", f"plan is {size} bytes; the limit is {MAX_PLAN_BYTES}")])
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC600", "plan file not found")]) from None
    except UnicodeDecodeError as exc:
        raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC600", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_plan(text, path)


def plan_files(plan_dir: Path) -> list[Path]:
    return sorted(p for p in plan_dir.glob("*.json") if p.name != INDEX_FILE)


def read_plan_folder(plan_dir: Path) -> list[PlanDocument]:
    """Every plan in a folder written by ``govcloud plan`` (or exported by hand), all problems at once."""
    if not plan_dir.is_dir():
        raise UsageError(f"{plan_dir} is not a folder of plan documents: run govcloud plan --all first")
    files = plan_files(plan_dir)
    if not files:
        raise UsageError(f"no plan documents in {plan_dir}" + (" (only an index)" if (plan_dir / INDEX_FILE).exists() else "")
                         + ": run govcloud plan --all first")
    docs, problems, seen = [], [], {}
    for path in files:
        try:
            doc = read_plan(path)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            continue
        if doc.stack in seen:
            problems.append(Diagnostic(str(path), 1, 1, "GC600", f"stack {doc.stack} is planned twice (also in {seen[doc.stack].name})",
                                       "govcloud.stack"))
            continue
        seen[doc.stack] = path
        docs.append(doc)
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

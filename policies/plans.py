"""Read plan documents for `govcloud check`: bounded, typed, and refused when they cannot be judged.

A check that cannot see is not a pass (DESIGN.md §4): a folder without plans, a file that is not
a plan, a plan without its ``govcloud`` section (which says the stack, tenant, cloud and zone the
controls select by), a stack without resources, a resource without inputs — each is an error
with the file and the field. (A plan may be edited by hand — that is how a check is tried — so
its summary is not held against its resources.)

The shape follows `pulumi stack export` (``deployment.resources[]`` with urn, type, custom,
inputs) plus the ``govcloud`` section that `govcloud plan` writes (stacks/planner.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govcloud import yamlio
from govcloud.diagnostics import Diagnostic, DiagnosticError, UsageError, dotted

INDEX = "index.json"
TENANT_CLOUDS = ("aws", "azure")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class PlanResource(_Strict):
    urn: str = Field(min_length=1)
    type: str = Field(min_length=1)
    custom: bool
    inputs: dict[str, Any] | None = None


class Deployment(_Strict):
    resources: list[PlanResource]


class Summary(_Strict):
    resources: int = Field(ge=0)


class GovcloudSection(_Strict):
    stack: str = Field(min_length=1)
    tenant: str | None
    cloud: Literal["aws", "azure"] | None
    zone: str | None
    summary: Summary


class PlanDocument(_Strict):
    deployment: Deployment
    govcloud: GovcloudSection


def plan_problems(doc: Any, path: Path) -> list[Diagnostic]:
    """Why ``doc`` cannot be checked (empty when it can)."""
    where = str(path)
    if not isinstance(doc, dict):
        return [Diagnostic(where, 1, 1, "GC901", "not a plan document: expected a JSON object with deployment and govcloud")]
    out: list[Diagnostic] = []
    if "govcloud" not in doc:
        out.append(Diagnostic(where, 1, 1, "GC902", "the plan has no govcloud section (stack, tenant, cloud, zone): "
                                                   "the controls cannot tell what they judge; write plans with govcloud plan",
                              "govcloud"))
    try:
        plan = PlanDocument.model_validate(doc)
    except ValidationError as exc:
        for err in exc.errors()[:20]:
            loc = tuple(err["loc"])
            if loc[:1] == ("govcloud",) and "govcloud" not in doc:
                continue
            shown = err.get("input")
            got = f" (got {shown!r})" if isinstance(shown, (str, int, float, bool)) or shown is None else ""
            out.append(Diagnostic(where, 1, 1, "GC901", f"not a plan document: {err['msg']}{got}", dotted(loc)))
        return out
    resources = plan.deployment.resources
    custom = [r for r in resources if r.custom]
    meta = plan.govcloud
    if not custom:
        out.append(Diagnostic(where, 1, 1, "GC903", f"stack {meta.stack} has no resources: an empty plan proves nothing",
                              "deployment.resources"))
    if meta.tenant is not None:
        for name in ("cloud", "zone"):
            if not getattr(meta, name):
                out.append(Diagnostic(where, 1, 1, "GC904", f"tenant plan without govcloud.{name}: the controls that "
                                                           f"select by {name} cannot be applied", f"govcloud.{name}"))
    for i, r in enumerate(resources):
        if (r.custom or r.type.startswith("pulumi:providers:")) and r.inputs is None:
            out.append(Diagnostic(where, 1, 1, "GC904", f"resource {r.urn} has no inputs: its controls cannot be evaluated",
                                  f"deployment.resources[{i}].inputs"))
    urns = [r.urn for r in resources]
    if len(set(urns)) != len(urns):
        out.append(Diagnostic(where, 1, 1, "GC901", "a resource URN appears twice", "deployment.resources"))
    return out


def read_plans(folder: Path) -> list[tuple[Path, dict]]:
    """Every plan document of a folder, each bounded and checked; raises with every problem."""
    if not folder.is_dir():
        raise UsageError(f"no plan folder {folder}: run govcloud plan --all first")
    paths = sorted(p for p in folder.glob("*.json") if p.name != INDEX)
    if not paths:
        only_index = (folder / INDEX).exists()
        raise DiagnosticError([Diagnostic(str(folder / INDEX) if only_index else str(folder), 1, 1, "GC903",
                                          "the folder holds only an index and no plan documents" if only_index
                                          else "no plan documents (*.json) in the folder: run govcloud plan --all first")])
    plans, problems = [], []
    for path in paths:
        try:
            doc = yamlio.load_json_file(path)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            continue
        found = plan_problems(doc, path)
        problems.extend(found)
        if not found:
            plans.append((path, doc))
    if problems:
        raise DiagnosticError(problems)
    return plans

"""The one entry point of the network proof over plan documents: `network verify` (planned now or
`--plans DIR`), the deploy gate and the report all prove plans through ``prove_plans``.

It sits in the stacks layer, below both the application services and the report (which may not
import each other): the plans come in as documents — from the planner, or from a folder read by
the plan contract's one reader (govcloud/plans.py: a `govcloud plan` folder, or exports of a real
deployment in the shape of `pulumi stack export` with their `govcloud` section) — and are proved
as given, never re-planned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from govcloud.diagnostics import UsageError
from govcloud.network.fabric import Fabric
from govcloud.network.intent import Intent
from govcloud.network.verify import Report, verify
from govcloud.stacks.network_plans import fabrics_from_plan_documents
from govcloud.workspace import Workspace

PLANNED = ("aws-cloudwan", "azure-vwan")   # what the stacks deploy (no Transit Gateway)


@dataclass(frozen=True)
class PlanProof:
    intent: Intent
    fabrics: list[Fabric]
    reports: list[Report]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)

    @property
    def violations(self) -> list:
        return [v for r in self.reports for v in r.violations]


def read_plan_documents(plans_dir: Path) -> dict[str, dict]:
    """stack name -> plan document, every file read by the plan contract (fails closed with file,
    line and field: GC901-GC904)."""
    from govcloud.plans import read_plan_folder

    return {doc.stack: doc.as_json() for doc in read_plan_folder(plans_dir)}


def prove_plans(ws: Workspace, plans: dict[str, dict], *, reg=None, quotas: dict[str, int] | None = None,
                today: dt.date | None = None) -> PlanProof:
    """Read what ``plans`` (stack -> document) deploy into the model and prove every invariant.
    The workspace supplies only who-is-who (the compiled inventory); routes, tables and rules come
    from the plans. Raises NetworkInputError / Unsupported for what cannot be read."""
    from govcloud.network import pipeline
    from govcloud.network.compile import QuotaError

    try:
        intent, compiled = pipeline.compile_workspace(ws, PLANNED, quota_overrides=quotas or None, reg=reg, today=today)
    except QuotaError as exc:
        raise UsageError(str(exc)) from None
    fabrics = fabrics_from_plan_documents(ws, plans, compiled.files)
    return PlanProof(intent, fabrics, [verify(f) for f in fabrics])

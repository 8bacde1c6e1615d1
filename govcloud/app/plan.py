"""Plan service: stacks planned offline under Pulumi's mock runtime, one plan document each,
through the content-hash cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from govcloud.stacks import planner
from govcloud.stacks.planner import PlanResult, PlanRun
from govcloud.stacks.program import network_inputs
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace


@dataclass(frozen=True)
class PlanRequest:
    stack: str | None = None
    tenant: str | None = None
    all_stacks: bool = False
    out_dir: Path | None = None       # default: the workspace's plans folder
    jobs: int = 0                     # default: one worker per core
    use_cache: bool = True


@dataclass(frozen=True)
class PlanOutcome:
    run: PlanRun
    out_dir: Path
    jobs: int

    @property
    def planned(self) -> list[PlanResult]:
        return [r for r in self.run.results if not r.error]

    @property
    def cached(self) -> int:
        return sum(1 for r in self.planned if r.cached)

    @property
    def resources(self) -> int:
        return sum(r.resources for r in self.planned)

    @property
    def ok(self) -> bool:
        return not self.run.failed


def stack_count(ws: Workspace, request: PlanRequest, reg: Registry | None = None) -> int:
    """How many stacks a request plans (for an adapter's progress bar)."""
    reg = reg or load_registry(ws)
    return len(planner.select_stacks(reg, stack=request.stack, tenant=request.tenant, all_stacks=request.all_stacks))


def plan(ws: Workspace, request: PlanRequest, *, progress: Callable[[PlanResult], None] | None = None,
         reg: Registry | None = None) -> PlanOutcome:
    reg = reg or load_registry(ws)
    stacks = planner.select_stacks(reg, stack=request.stack, tenant=request.tenant, all_stacks=request.all_stacks)
    out_dir = (request.out_dir or ws.plans_dir).resolve()
    jobs = request.jobs or planner.default_jobs()
    run = planner.run_plans(ws, stacks, out_dir, jobs=jobs, use_cache=request.use_cache, prune=request.all_stacks,
                            network=network_inputs(ws, reg), progress=progress)
    return PlanOutcome(run, out_dir, jobs)

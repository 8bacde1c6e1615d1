"""Check-and-gate service: the baseline controls over plan documents (govcloud's engine, with
checkov's catalogue and checkov's run of our own controls as a cross-check), and the deploy gate
that refuses a stack whose plan fails a mandatory control."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from govcloud.diagnostics import UsageError
from govcloud.plans import read_plan_folder
from govcloud.policies.catalogue import Control, load_controls
from govcloud.policies.engine import CheckRun, Finding, run_checks
from govcloud.stacks import planner
from govcloud.stacks.program import network_inputs
from govcloud.tenants.registry import Registry
from govcloud.workspace import Workspace


@dataclass(frozen=True)
class CheckRequest:
    plans_dir: Path | None = None          # default: the workspace's plans folder
    checkov: bool | None = None            # None: when installed; True: required; False: never
    export_dir: Path | None = None         # also write what checkov reads, one file per stack


@dataclass(frozen=True)
class CheckovSummary:
    documents: int
    shapes: int
    scanned: int
    resources: int
    findings: int
    seconds: float


@dataclass
class CheckOutcome:
    run: CheckRun
    controls: dict[str, Control]
    plans: list[dict]
    plans_dir: Path
    sources: dict[str, str] = field(default_factory=dict)   # stack -> plan file read (for SARIF)
    checkov: CheckovSummary | None = None
    exported: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        """Mandatory controls that fail (waivers applied): what makes `check` and the gate refuse."""
        return self.run.failures(self.controls)


def load_plans(plans_dir: Path) -> list[dict]:
    """Every plan of a folder, each checked against the plan contract first (fails closed)."""
    return [doc.as_json() for doc in read_plan_folder(plans_dir)]


def source_uri(ws: Workspace, path: Path) -> str:
    """A plan file as SARIF names it: relative to the workspace root when inside it (what code
    scanning resolves against the repository), else an absolute file URI."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(ws.root.resolve()).as_posix()
    except ValueError:
        return resolved.as_uri()


def check(ws: Workspace, request: CheckRequest = CheckRequest()) -> CheckOutcome:
    from govcloud.policies.plans import read_plans

    plans_dir = request.plans_dir or ws.plans_dir
    # The check's own fail-closed reading: bounded, typed, and what every control needs present
    # (policies/plans.py); a folder or a plan that cannot be judged is an error, never a pass.
    read = read_plans(plans_dir)
    documents = [doc for _, doc in read]
    run = run_checks(documents, ws.waivers_file)
    outcome = CheckOutcome(run, dict(load_controls()), documents, plans_dir, notes=list(run.waiver_notes),
                           sources={doc["govcloud"]["stack"]: source_uri(ws, path) for path, doc in read})
    if request.export_dir:
        from govcloud.policies.export import write_exports

        request.export_dir.mkdir(parents=True, exist_ok=True)
        outcome.exported = write_exports(documents, request.export_dir)
    if request.checkov is not False:
        _with_checkov(ws, outcome, required=bool(request.checkov))
    return outcome


def _with_checkov(ws: Workspace, outcome: CheckOutcome, *, required: bool) -> None:
    from govcloud.policies.checkov_runner import find_checkov, run_checkov

    checkov = find_checkov(ws.root)
    if checkov is None:
        if required:
            raise UsageError("checkov is not installed: run `make setup` (it creates .venv-checkov) or set $GOVCLOUD_CHECKOV")
        outcome.notes.append("checkov not found (make setup installs it); ran govcloud's controls only")
        return
    result = run_checkov(outcome.plans, checkov)
    outcome.controls.update(result.controls)
    run = outcome.run
    run.findings.extend(result.findings)
    run.findings.sort(key=lambda f: (f.stack, f.control, f.resource, f.message))
    # The cross-check: checkov running our control functions must fail exactly what our engine fails.
    ours = {(f.control, f.resource) for f in run.findings if f.status in ("failed", "waived")
            and outcome.controls[f.control].scope == "resource" and not f.resource_type.startswith("pulumi:providers:")}
    if result.ours != {k for k in ours if k[0].startswith("GC-")}:
        raise UsageError(f"checkov's run of govcloud's controls disagrees with govcloud check: {sorted(result.ours ^ ours)[:5]}")
    outcome.checkov = CheckovSummary(result.documents, result.shapes, result.scanned, result.resources,
                                     len(result.findings), result.seconds)


def network_gate(ws: Workspace, reg: Registry, stack: str) -> None:
    """Never deploy the network stack or a tenant stack whose plans fail the network proof: the
    verifier reads the plans of the network stack and every tenant (from the plan cache) and
    refuses on any violation, or on anything it cannot model."""
    if stack == "foundation":
        return
    from govcloud.network.errors import NetworkInputError, Unsupported
    from govcloud.network.pipeline import fabrics_from_plans
    from govcloud.network.verify import verify

    try:
        _, fabrics = fabrics_from_plans(ws, reg=reg)
    except (NetworkInputError, Unsupported) as exc:
        raise UsageError(f"refusing to deploy {stack}: the network proof cannot be made from the plans: {exc}") from None
    violations = [v for f in fabrics for v in verify(f).violations]
    if violations:
        listed = "; ".join(f"{v.invariant}: {v.message}" for v in violations[:5])
        raise UsageError(f"refusing to deploy {stack}: the plans fail the network proof ({len(violations)} "
                         f"violation(s)): {listed}. govcloud network verify shows each path")


@dataclass(frozen=True)
class GateOutcome:
    stack: str
    failures: list[Finding]

    @property
    def passed(self) -> bool:
        return not self.failures


def gate(ws: Workspace, reg: Registry, stack: str) -> GateOutcome:
    """Plan ``stack`` now (cached) and judge it: never deploy a plan that fails a mandatory control."""
    with tempfile.TemporaryDirectory(prefix="govcloud-gate-") as tmp:
        stacks = planner.select_stacks(reg, stack=stack)
        run = planner.run_plans(ws, stacks, Path(tmp), jobs=1, network=network_inputs(ws, reg))
        if run.failed:
            raise UsageError(f"cannot plan {stack} for the deploy gate: {run.failed[0].error}")
        result = run_checks(load_plans(Path(tmp)), ws.waivers_file)
    return GateOutcome(stack, result.failures(load_controls()))

"""Check-and-gate service: the baseline controls over plan documents (govcloud's engine, with
checkov's catalogue and checkov's run of our own controls as a cross-check), and the deploy gate
that refuses a stack whose plan fails a mandatory control (GateOutcome; the deploy judges the
plan it made once, govcloud.app.deploy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from govcloud.fsio import make_dir
from govcloud.app.progress import Progress, Step, bracket, counted, ignore
from govcloud.diagnostics import Diagnostic, DiagnosticError, UsageError
from govcloud.plans import FOUNDATION, NETWORK, PlanDocument, plan_diagnostic, read_plan_folder, tenant_stack
from govcloud.policies.catalogue import Control, load_controls
from govcloud.policies.controls.common import PROVIDER_REGION
from govcloud.policies.engine import CheckRun, Finding, run_checks
from govcloud.tenants.catalogue import load_catalogue
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace


@dataclass(frozen=True)
class CheckRequest:
    plans_dir: Path | None = None          # default: the workspace's plans folder
    checkov: bool | None = None            # None: when installed; True: required; False: never
    export_dir: Path | None = None         # also write what checkov reads, one file per stack
    partial: bool = False                  # the folder holds some stacks on purpose: do not require every one


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


def _judged(documents: list[dict], progress: Progress):
    """The documents, reporting each as the engine takes the next (it judges one at a time)."""
    for done, doc in enumerate(documents, start=1):
        yield doc
        progress(Step("check", done, len(documents), doc["govcloud"]["stack"]))


def check(ws: Workspace, request: CheckRequest = CheckRequest(), *, progress: Progress | None = None) -> CheckOutcome:
    """Judge every plan of a folder; ``progress`` hears of each plan read (stage ``read``), each
    plan judged (``check``) and checkov's run (``checkov``, not countable)."""
    plans_dir = request.plans_dir or ws.plans_dir
    # The plan contract's fail-closed reading (govcloud/plans.py): bounded, typed, and what every
    # control needs present; a folder or a plan that cannot be judged is an error, never a pass.
    read = read_plan_folder(plans_dir, progress=counted(progress, "read"))
    notes = confirm_plans(ws, read, plans_dir, partial=request.partial)
    documents = [doc.as_json() for doc in read]
    run = run_checks(_judged(documents, progress or ignore), ws.waivers_file)
    outcome = CheckOutcome(run, dict(load_controls()), documents, plans_dir, notes=notes + list(run.waiver_notes),
                           sources={doc.stack: source_uri(ws, doc.source) for doc in read})
    if request.export_dir:
        from govcloud.policies.export import write_exports

        make_dir(request.export_dir)
        outcome.exported = write_exports(documents, request.export_dir)
    if request.checkov is not False:
        _with_checkov(ws, outcome, required=bool(request.checkov), progress=progress)
    return outcome


def expected_stacks(reg: Registry) -> list[str]:
    """The stacks a workspace defines (what `govcloud plan --all` plans): foundation, network and
    one per tenant of tenants/active."""
    return [FOUNDATION, NETWORK, *(tenant_stack(name) for name in sorted(reg.tenants))]


def confirm_plans(ws: Workspace, read: list[PlanDocument], plans_dir: Path, *, partial: bool = False) -> list[str]:
    """What a plan says of itself, held against what govcloud and the workspace know, failing closed:

    - its zone must be one govcloud models (tenants/catalogues/zones.yaml): the zone picks the
      controls, so an unknown one would skip the closed-zone controls;
    - a tenant plan's tenant, cloud, zone and its providers' region must be those of the tenant's
      document (tenants/active): a plan that says ``internet`` for a mynumber tenant is stale or edited;
    - every stack the workspace defines must have a plan in the folder, unless ``partial``.

    Raises DiagnosticError with every problem; returns notes (a folder outside a workspace, where
    there is nothing to compare the plans with)."""
    zones = load_catalogue().zones
    problems: list[Diagnostic] = []
    for doc in read:
        zone = doc.govcloud.zone
        if zone is not None and zone not in zones:
            problems.append(plan_diagnostic(doc, "GC904", f"govcloud.zone {zone!r} is not a zone govcloud models "
                                            f"({', '.join(zones)}): the controls of its zone cannot be chosen",
                                            ("govcloud", "zone")))
    if not ws.tenants_dir.is_dir():
        if problems:
            raise DiagnosticError(problems)
        return [f"{ws.root} is not a workspace (no tenants/ folder): the plans were not compared with tenant "
                "documents, nor the folder checked for missing stacks"]
    reg = load_registry(ws, require_plan=False)
    for doc in read:
        problems += _against_tenant(doc, reg)
    if not partial:
        present = {doc.stack for doc in read}
        for stack in expected_stacks(reg):
            if stack not in present:
                problems.append(Diagnostic(str(plans_dir / f"{stack}.json"), 1, 1, "GC903",
                                           f"missing plan for stack {stack}: run govcloud plan --stack {stack} "
                                           "(or check --partial when the folder is meant to hold only some stacks)"))
    if problems:
        raise DiagnosticError(problems)
    return []


# The Japan regions an AWS tenant's second-region provider may name (templates/aws/baseline.py).
SECOND_REGIONS = ("ap-northeast-1", "ap-northeast-3")


def _against_tenant(doc: PlanDocument, reg: Registry) -> list[Diagnostic]:
    meta = doc.govcloud
    if meta.tenant is None:
        return []
    tenant = reg.tenants.get(meta.tenant)
    if tenant is None:
        return [plan_diagnostic(doc, "GC901", f"the plan is for tenant {meta.tenant}, which the workspace does not "
                                f"define (tenants/active): its zone and cloud cannot be confirmed; remove the stale "
                                f"plan or re-plan with govcloud plan --all", ("govcloud", "tenant"))]
    out = []
    for label, want in (("cloud", tenant.spec.cloud), ("zone", tenant.spec.zone)):
        got = getattr(meta, label)
        if got is not None and got != want:      # absent: the reader's GC904
            out.append(plan_diagnostic(doc, "GC901", f"the plan says {label} {got}, tenant {tenant.name} is {want}: "
                                       f"re-plan with govcloud plan --stack {doc.stack}", ("govcloud", label)))
    for i, r in enumerate(doc.resources):
        key = PROVIDER_REGION.get(r.type)
        got = r.inputs.get(key) if key else None
        # The one exception: the second-region provider of an AWS tenant (stacks/tenant.py), named
        # tenant-<region>, places the regional baseline in the other Japan region; it must say that region.
        want = tenant.spec.region
        second = r.urn.rsplit("::", 1)[-1].removeprefix("tenant-") if r.type == "pulumi:providers:aws" else None
        if second in SECOND_REGIONS and second != tenant.spec.region:
            want = second
        if isinstance(got, str) and got and got != want:   # absent or unreadable: GC-GEN-REGION-1 fails it
            out.append(plan_diagnostic(doc, "GC901", f"provider {r.urn} says {key} {got}, tenant {tenant.name} is in "
                                       f"{tenant.spec.region}: re-plan with govcloud plan --stack {doc.stack}",
                                       ("deployment", "resources", i, "inputs", key)))
    return out


def _with_checkov(ws: Workspace, outcome: CheckOutcome, *, required: bool, progress: Progress | None = None) -> None:
    from govcloud.policies.checkov_runner import find_checkov, run_checkov

    checkov = find_checkov(ws.root)
    if checkov is None:
        if required:
            raise UsageError("checkov is not installed: run `make setup` (it creates .venv-checkov) or set $GOVCLOUD_CHECKOV")
        outcome.notes.append("checkov not found (make setup installs it); ran govcloud's controls only")
        return
    finished = bracket(progress, "checkov", f"{len(outcome.plans)} plan(s)")
    result = run_checkov(outcome.plans, checkov)
    finished()
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


@dataclass(frozen=True)
class GateOutcome:
    stack: str
    failures: list[Finding]

    @property
    def passed(self) -> bool:
        return not self.failures

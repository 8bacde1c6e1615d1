"""Commands over the stacks: offline plan, and preview/up with the Pulumi CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from govcloud.cli import console, err_console, report_errors, workspace
from govcloud.diagnostics import UsageError
from govcloud.tenants.registry import load_registry


def _default_out(ws) -> Path:
    return ws.root / "build" / "plans"


@report_errors
def plan_cmd(
    stack: Optional[str] = typer.Option(None, "--stack", help="foundation, network or tenant-<name>."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Plan the stack of this tenant."),
    all_stacks: bool = typer.Option(False, "--all", help="Foundation, network and every tenant."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where plan documents go (default build/plans)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: one per core)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Plan every stack even if unchanged."),
) -> None:
    """Plan stacks offline under Pulumi's mock runtime: one plan document per stack."""
    from govcloud.stacks import planner
    from govcloud.stacks.program import network_inputs

    ws = workspace()
    reg = load_registry(ws)
    stacks = planner.select_stacks(reg, stack=stack, tenant=tenant, all_stacks=all_stacks)
    out_dir = (out or _default_out(ws)).resolve()
    workers = jobs or planner.default_jobs()
    with Progress(TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        task = progress.add_task("", total=len(stacks))

        def tick(result) -> None:
            progress.update(task, advance=1, description=result.stack)

        run = planner.run_plans(ws, stacks, out_dir, jobs=workers, use_cache=not no_cache,
                                prune=all_stacks, network=network_inputs(ws, reg), progress=tick)
    planned = [r for r in run.results if not r.error]
    cached = sum(1 for r in planned if r.cached)
    resources = sum(r.resources for r in planned)
    for r in run.failed:
        err_console.print(f"error: stack {r.stack} failed to plan: {r.error}", markup=False, highlight=False)
    console.print(f"planned {len(planned)} stack(s) ({cached} from cache), {resources} resources, "
                  f"in {run.seconds:.1f}s with {workers} job(s) → {ws.relative(out_dir)}", highlight=False)
    if run.failed:
        raise typer.Exit(1)


def _real(action: str, stack: str, org: Optional[str], yes: bool) -> None:
    from govcloud.stacks import automation
    from govcloud.stacks.program import TENANT_PREFIX

    ws = workspace()
    reg = load_registry(ws)
    if stack not in ("foundation", "network") and stack.removeprefix(TENANT_PREFIX) not in reg.tenants:
        raise UsageError(f"unknown stack {stack!r}: expected foundation, network or tenant-<name>")
    if action == "up" and not yes:
        raise UsageError("govcloud up changes real infrastructure: run `govcloud preview` first, then pass --yes")
    if action == "up":
        deploy_gate(ws, reg, stack)
    fn = automation.up if action == "up" else automation.preview
    result = fn(ws, stack, org=org, on_output=lambda line: console.print(line, markup=False, highlight=False, end=""))
    console.print(f"\n{action} of {stack}: {getattr(result, 'change_summary', None) or getattr(result.summary, 'resource_changes', '')}")


def deploy_gate(ws, reg, stack: str) -> None:
    """Never deploy a stack whose plan fails a mandatory control (waivers apply)."""
    import tempfile

    from govcloud.cli.policies_cmd import run_check
    from govcloud.policies.catalogue import load_controls
    from govcloud.stacks import planner
    from govcloud.stacks.program import network_inputs

    with tempfile.TemporaryDirectory(prefix="govcloud-gate-") as tmp:
        stacks = planner.select_stacks(reg, stack=stack)
        run = planner.run_plans(ws, stacks, Path(tmp), jobs=1, network=network_inputs(ws, reg))
        if run.failed:
            raise UsageError(f"cannot plan {stack} for the deploy gate: {run.failed[0].error}")
        result = run_check(Path(tmp), ws)
    failures = result.failures(load_controls())
    if failures:
        listed = "; ".join(f"{f.control} ({f.message})" for f in failures[:10])
        raise UsageError(f"refusing to deploy {stack}: {len(failures)} mandatory control(s) fail: {listed}. "
                         f"Fix them or record a waiver in policies/waivers.yaml (govcloud check --plans shows details)")
    network_gate(ws, reg, stack)
    console.print(f"deploy gate: {stack} passes every mandatory control and the network proof", highlight=False)


def network_gate(ws, reg, stack: str) -> None:
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


@report_errors
def preview_cmd(
    stack: str = typer.Argument(..., help="foundation, network or tenant-<name>."),
    org: Optional[str] = typer.Option(None, "--org", help="Pulumi organisation of the stack."),
) -> None:
    """Preview a stack with the Pulumi CLI (Automation API)."""
    _real("preview", stack, org, True)


@report_errors
def up_cmd(
    stack: str = typer.Argument(..., help="foundation, network or tenant-<name>."),
    org: Optional[str] = typer.Option(None, "--org", help="Pulumi organisation of the stack."),
    yes: bool = typer.Option(False, "--yes", help="Deploy without asking (required)."),
) -> None:
    """Deploy a stack with the Pulumi CLI (Automation API)."""
    _real("up", stack, org, yes)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
    app.command("preview")(preview_cmd)
    app.command("up")(up_cmd)

"""Commands over the stacks: offline plan, and preview/up with the Pulumi CLI (adapters over
govcloud.app.plan and govcloud.app.deploy)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from govcloud.cli import console, err_console, report_errors, workspace
from govcloud.plans import EXPECTED_STACKS, FOUNDATION, NETWORK, tenant_of

STACK_HELP = f"{EXPECTED_STACKS}."


def _stack_name(value: str | None) -> str | None:
    """A stack name has one of three shapes: anything else is a usage error (exit 2) naming the
    argument; a well-formed tenant stack of a tenant that does not exist is the workspace's answer (1)."""
    if value is None or value in (FOUNDATION, NETWORK) or tenant_of(value) is not None:
        return value
    raise typer.BadParameter(f"{value!r} is not a stack: expected {EXPECTED_STACKS}")


@report_errors
def plan_cmd(
    stack: Optional[str] = typer.Option(None, "--stack", help=STACK_HELP, metavar="STACK", callback=_stack_name),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Plan the stack of this tenant.", metavar="TENANT"),
    all_stacks: bool = typer.Option(False, "--all", help="Foundation, network and every tenant."),
    out: Optional[Path] = typer.Option(None, "--out", help="Where plan documents go (default build/plans).", metavar="DIR"),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (default: one per core).", metavar="N", min=0),
    no_cache: bool = typer.Option(False, "--no-cache", help="Plan every stack even if unchanged."),
) -> None:
    """Plan stacks offline under Pulumi's mock runtime: one plan document per stack."""
    from govcloud.app.plan import PlanRequest, plan, stack_count

    ws = workspace()
    request = PlanRequest(stack=stack, tenant=tenant, all_stacks=all_stacks, out_dir=out, jobs=jobs,
                          use_cache=not no_cache)
    with Progress(TextColumn("planning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        task = progress.add_task("", total=stack_count(ws, request))
        outcome = plan(ws, request, progress=lambda result: progress.update(task, advance=1, description=result.stack))
    for r in outcome.run.failed:
        err_console.print(f"error: stack {r.stack} failed to plan: {r.error}", markup=False, highlight=False)
    console.print(f"planned {len(outcome.planned)} stack(s) ({outcome.cached} from cache), {outcome.resources} resources, "
                  f"in {outcome.run.seconds:.1f}s with {outcome.jobs} job(s) → {ws.relative(outcome.out_dir)}", highlight=False)
    if not outcome.ok:
        raise typer.Exit(1)


def _deploy(action: str, stack: str, org: Optional[str], yes: bool) -> None:
    from govcloud.app.deploy import DeployRequest, deploy

    outcome = deploy(workspace(), DeployRequest(action, stack, org, confirmed=yes),
                     on_output=lambda line: console.print(line, markup=False, highlight=False, end=""),
                     on_gate=lambda judged: console.print(f"deploy gate: {judged.stack} passes every mandatory control and the network proof",
                                                          highlight=False))
    console.print(f"\n{outcome.action} of {outcome.stack}: {outcome.summary}")


@report_errors
def preview_cmd(
    stack: str = typer.Argument(..., help=STACK_HELP, metavar="STACK", callback=_stack_name),
    org: Optional[str] = typer.Option(None, "--org", help="Pulumi organisation of the stack.", metavar="ORG"),
) -> None:
    """Preview a stack with the Pulumi CLI (Automation API)."""
    _deploy("preview", stack, org, True)


@report_errors
def up_cmd(
    stack: str = typer.Argument(..., help=STACK_HELP, metavar="STACK", callback=_stack_name),
    org: Optional[str] = typer.Option(None, "--org", help="Pulumi organisation of the stack.", metavar="ORG"),
    yes: bool = typer.Option(False, "--yes", help="Deploy without asking (required)."),
) -> None:
    """Deploy a stack with the Pulumi CLI (Automation API), after the deploy gate."""
    _deploy("up", stack, org, yes)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
    app.command("preview")(preview_cmd)
    app.command("up")(up_cmd)

"""`govcloud network`: compile the SDN intent, prove the invariants, explain and diff paths.

An adapter: it parses options, calls the network service (govcloud/app/network.py) and renders
its outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Literal, Optional

import typer

from govcloud.cli import bad_usage, console, err_console, report_errors, workspace
from govcloud.diagnostics import UsageError

network_app = typer.Typer(help="SDN WAN and zero-trust network controller.", no_args_is_help=True)


def refusals(func):
    """The verifier's refusals: malformed input or a dangling reference exits 1, a feature the
    proof does not model exits 2; both name the file and the JSON path, never a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from govcloud.network.cidr import CidrError
        from govcloud.network.errors import NetworkInputError, Unsupported

        try:
            return func(*args, **kwargs)
        except Unsupported as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except (NetworkInputError, CidrError) as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _quota_overrides(values: list[str]) -> dict[str, int]:
    from govcloud.network.compile import quotas

    out = {}
    for value in values or []:
        key, sep, number = value.partition("=")
        if not sep or not number.isdigit() or key not in quotas():
            bad_usage(f"--quota wants ID=N with a known quota id ({', '.join(quotas())}), got {value!r}")
        out[key] = int(number)
    return out


def _targets(target: Optional[str]) -> tuple[str, ...]:
    from govcloud.network.compile import TARGETS

    if target is None:
        return TARGETS
    # The Azure side is always compiled with an AWS variant: the verifier follows paths across both.
    return (target, "azure-vwan") if target != "azure-vwan" else ("azure-vwan",)


def _inputs(compiled: Optional[Path], quota: list[str] | None = None, policy: Optional[Path] = None,
            attachments: Optional[Path] = None, plans: Optional[Path] = None):
    from govcloud.app.network import ProofInput

    inputs = ProofInput(compiled_dir=compiled, policy=policy, attachments=attachments,
                        quotas=_quota_overrides(quota or []), plans_dir=plans)
    try:
        inputs.source
    except UsageError as exc:
        bad_usage(str(exc))
    return inputs


@network_app.command("compile")
@report_errors
@refusals
def compile_cmd(
    target: Optional[Literal["aws-cloudwan", "aws-tgw", "azure-vwan"]] = typer.Option(
        None, "--target", help="aws-cloudwan, aws-tgw or azure-vwan (default: all)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the compiled files (default build/network)."),
    quota: List[str] = typer.Option([], "--quota", help="Approved quota increase, ID=N (repeatable)."),
) -> None:
    """Compile the intent (tenants, sites, security models, exceptions) to cloud configuration."""
    from govcloud.app.network import CompileRequest, compile_to_folder

    ws = workspace()
    done = compile_to_folder(ws, CompileRequest(_targets(target), out, _quota_overrides(quota)))
    for exc in done.intent.expired:
        err_console.print(f"warning: exception {exc.id} expired on {exc.expires} and no longer applies", markup=False)
    console.print(f"compiled {len(done.intent.attachments)} attachments and {len(done.intent.flows)} declared flows "
                  f"into {len(done.written)} files → {ws.relative(done.out_dir)}", highlight=False)


@network_app.command("verify")
@report_errors
@refusals
def verify_cmd(
    compiled: Optional[Path] = typer.Option(None, "--compiled", help="Verify this folder of compiled (possibly hand-edited) configuration instead of the plans."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="Verify a native Cloud WAN core network policy (JSON) as written."),
    attachments: Optional[Path] = typer.Option(None, "--attachments", help="With --policy: the attachments (JSON list) the policy places."),
    plans: Optional[Path] = typer.Option(None, "--plans", help="Prove this folder of plan documents as given (govcloud plan --all --out DIR, or exports of a deployment); nothing is re-planned."),
    fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
    quota: List[str] = typer.Option([], "--quota", help="Approved quota increase, ID=N (repeatable)."),
) -> None:
    """Prove the invariants over what the plans deploy (or a plan folder, a compiled folder, or a
    native policy); exit 1 on any violation, 2 on a feature the proof cannot model."""
    from govcloud.app.network import VerifyRequest, verify_network

    outcome = verify_network(workspace, VerifyRequest(_inputs(compiled, quota, policy, attachments, plans)))
    if fmt == "json":
        console.print_json(json.dumps([{
            "variant": r.variant, "ok": r.ok, "layers": list(r.layers), "violations": [v.as_dict() for v in r.violations],
            "reachable": len(r.reachable), "matrix": {f"{a}->{b}": n for (a, b), n in sorted(r.matrix.items())},
            "unreachableDeclared": [list(d) for d in r.unreachable_declared], "readings": r.readings,
        } for r in outcome.reports], ensure_ascii=False))
    else:
        _render_reports(outcome)
    if not outcome.ok:
        raise typer.Exit(1)


def _render_reports(outcome) -> None:
    from govcloud.network.intent import invariant_catalogue
    from govcloud.network.verify import matrix_lines

    zones = ["mynumber", "lgwan", "internet"]
    for r in outcome.reports:
        if "effective" in r.layers:
            console.print(f"[bold]{r.variant}[/]: {len(r.reachable)} reachable (source, tenant, port) triples, "
                          f"{r.checked_tables} route tables", highlight=False)
        else:
            console.print(f"[bold]{r.variant}[/]: routing layer only (a policy holds no filters): "
                          f"{r.routed_pairs} routed (source, tenant) pairs, {r.checked_tables} route tables",
                          highlight=False)
        if r.readings:
            console.print(f"  proved under each reading of what the Cloud WAN documentation leaves open: "
                          f"{' | '.join(r.readings)}", markup=False, highlight=False)
        for inv in invariant_catalogue():
            found = [v for v in r.violations if v.invariant == inv["id"]]
            mark = "[green]ok[/]  " if not found else f"[red]FAIL[/] ({len(found)})"
            if not found and not set(inv["layers"]) & set(r.layers):
                mark = "n/a "
            console.print(f"  {mark} {inv['id']} \\[{', '.join(inv['layers'])}]: {inv['en']}", highlight=False)
        for v in r.violations:
            console.print(f"\n[red]violation[/] {v.invariant} ({v.layer} layer): {v.message}", highlight=False)
            if v.reading:
                console.print(f"    broken under the reading: {v.reading}", markup=False, highlight=False)
            for i, hop in enumerate(v.path, start=1):
                console.print(f"    {i}. {hop}", markup=False, highlight=False)
        for d in r.unreachable_declared:
            console.print(f"  [yellow]warning[/]: declared flow {d[0]} → {d[1]} {d[2]}/{d[3]} does not get through",
                          highlight=False)
        console.print("\n".join("  " + line for line in matrix_lines(r, zones)), highlight=False)
    if outcome.intent is not None:
        for exc in outcome.intent.expired:
            console.print(f"  [yellow]expired[/] exception {exc.id} ({exc.expires}) no longer applies", highlight=False)


@network_app.command("explain")
@report_errors
@refusals
def explain_cmd(
    source: str = typer.Option(..., "--from", help="Tenant name, site (CODE/SITE) or external:NAME."),
    destination: str = typer.Option(..., "--to", help="Tenant name."),
    port: Optional[int] = typer.Option(None, "--port", min=0, max=65535, help="Only this destination port (0-65535)."),
    compiled: Optional[Path] = typer.Option(None, "--compiled", help="Explain this folder of compiled configuration instead of the plans."),
    plans: Optional[Path] = typer.Option(None, "--plans", help="Explain this folder of plan documents as given."),
) -> None:
    """Show, hop by hop, whether and how SOURCE reaches DESTINATION in what the plans deploy."""
    from govcloud.app.network import ExplainRequest, explain_path

    outcome = explain_path(workspace, ExplainRequest(source, destination, port, _inputs(compiled, plans=plans)))
    for variant, lines in outcome.sections:
        console.print(f"[bold]{variant}[/]", highlight=False)
        console.print("\n".join(lines), markup=False, highlight=False)


@network_app.command("diff")
@report_errors
@refusals
def diff_cmd(
    base: str = typer.Option(..., "--base", help="Git ref (e.g. HEAD~1, main) or a folder with an older tenants/."),
    fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
    source: Literal["plans", "compiled"] = typer.Option(
        "plans", "--source", help="plans (what each side's plans deploy) or compiled (each side's compiled intent)."),
    allow_mynumber_paths: bool = typer.Option(
        False, "--allow-mynumber-paths", help="Do not fail on new paths into the My Number zone (a reviewed intake); "
        "a newly broken invariant still fails."),
) -> None:
    """Paths opened and closed between BASE and now, in what the plans deploy, keyed with the zones
    of both ends. Exit 1 when the change opens a path into the My Number zone or newly breaks an
    invariant (a CI job gates on it)."""
    from govcloud.app.network import DiffRequest, diff

    outcome = diff(workspace(), DiffRequest(base, source))
    gate = outcome.gate(allow_mynumber_paths)
    if fmt == "json":
        console.print_json(json.dumps({"opened": [list(k) for k in outcome.opened],
                                       "closed": [list(k) for k in outcome.closed],
                                       "openedIntoMynumber": [list(k) for k in outcome.opened_into_mynumber],
                                       "newViolations": [v.as_dict() for v in outcome.new_violations],
                                       "fixedViolations": [v.as_dict() for v in outcome.fixed_violations],
                                       "gate": gate}, ensure_ascii=False))
    else:
        console.print(f"{len(outcome.opened)} path(s) opened, {len(outcome.closed)} closed since {base}; "
                      f"{len(outcome.opened_into_mynumber)} new into the My Number zone, "
                      f"{len(outcome.new_violations)} new violation(s)", highlight=False)
        for key in outcome.opened:
            mark = "[red]! opened[/]" if key[3] == "mynumber" else "[green]+ opened[/]"
            console.print(f"{mark} {key[0]} ({key[1]}) → {key[2]} ({key[3]}) {key[4]}/{key[5]}", highlight=False)
            for hop in outcome.after[key].path:
                console.print(f"      {hop}", markup=False, highlight=False)
        for key in outcome.closed:
            console.print(f"[red]- closed[/] {key[0]} ({key[1]}) → {key[2]} ({key[3]}) {key[4]}/{key[5]}", highlight=False)
        for v in outcome.new_violations:
            console.print(f"[red]new violation[/] {v.invariant} ({v.layer} layer): {v.message}", highlight=False)
            for i, hop in enumerate(v.path, start=1):
                console.print(f"    {i}. {hop}", markup=False, highlight=False)
        for v in outcome.fixed_violations:
            console.print(f"[green]fixed[/] {v.invariant} ({v.layer} layer): {v.message}", highlight=False)
    if gate:
        for reason in gate:
            err_console.print(f"diff gate: {reason}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(network_app, name="network")

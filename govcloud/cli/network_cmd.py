"""`govcloud network`: compile the SDN intent, prove the invariants, explain and diff paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from govcloud.cli import console, err_console, report_errors, workspace
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
            raise UsageError(f"--quota wants ID=N with a known quota id ({', '.join(quotas())}), got {value!r}")
        out[key] = int(number)
    return out


def _targets(target: Optional[str]) -> tuple[str, ...]:
    from govcloud.network.compile import TARGETS

    if target is None:
        return TARGETS
    if target not in TARGETS:
        raise UsageError(f"--target must be one of {', '.join(TARGETS)}")
    # The Azure side is always compiled with an AWS variant: the verifier follows paths across both.
    return (target, "azure-vwan") if target != "azure-vwan" else ("azure-vwan",)


def _fabrics(compiled_dir: Optional[Path], quota: list[str], source: str = "compiled", policy: Optional[Path] = None,
             attachments: Optional[Path] = None):
    from govcloud.network import pipeline
    from govcloud.network.compile import QuotaError
    from govcloud.network.fabric import load_fabrics

    if policy is not None:
        from govcloud.network.native import load_native_policy

        return load_native_policy(policy, attachments), None
    if attachments is not None:
        raise UsageError("--attachments goes with --policy")
    if compiled_dir is not None:
        if not compiled_dir.is_dir():
            raise UsageError(f"{compiled_dir} is not a folder of compiled configuration")
        return load_fabrics(compiled_dir), None
    if source == "plans":
        try:
            intent, fabrics = pipeline.fabrics_from_plans(workspace(), quota_overrides=_quota_overrides(quota))
        except QuotaError as exc:
            raise UsageError(str(exc)) from None
        return fabrics, intent
    try:
        intent, compiled = pipeline.compile_workspace(workspace(), quota_overrides=_quota_overrides(quota))
    except QuotaError as exc:
        raise UsageError(str(exc)) from None
    return pipeline.fabrics_from_compiled(compiled), intent


@network_app.command("compile")
@report_errors
@refusals
def compile_cmd(
    target: Optional[str] = typer.Option(None, "--target", help="aws-cloudwan, aws-tgw or azure-vwan (default: all)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the compiled files (default build/network)."),
    quota: List[str] = typer.Option([], "--quota", help="Approved quota increase, ID=N (repeatable)."),
) -> None:
    """Compile the intent (tenants, sites, security models, exceptions) to cloud configuration."""
    from govcloud.network import pipeline
    from govcloud.network.compile import QuotaError

    ws = workspace()
    try:
        intent, compiled = pipeline.compile_workspace(ws, _targets(target), quota_overrides=_quota_overrides(quota))
    except QuotaError as exc:
        raise UsageError(str(exc)) from None
    out_dir = (out or ws.root / "build" / "network").resolve()
    written = pipeline.write_compiled(out_dir, compiled)
    for exc in intent.expired:
        err_console.print(f"warning: exception {exc.id} expired on {exc.expires} and no longer applies", markup=False)
    console.print(f"compiled {len(intent.attachments)} attachments and {len(intent.flows)} declared flows "
                  f"into {len(written)} files → {ws.relative(out_dir)}", highlight=False)


@network_app.command("verify")
@report_errors
@refusals
def verify_cmd(
    compiled: Optional[Path] = typer.Option(None, "--compiled", help="Verify this folder of compiled (possibly hand-edited) configuration instead of the plans."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="Verify a native Cloud WAN core network policy (JSON) as written."),
    attachments: Optional[Path] = typer.Option(None, "--attachments", help="With --policy: the attachments (JSON list) the policy places."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    quota: List[str] = typer.Option([], "--quota", help="Approved quota increase, ID=N (repeatable)."),
) -> None:
    """Prove the invariants over what the plans deploy (or a compiled folder, or a native policy);
    exit 1 on any violation, 2 on a feature the proof cannot model."""
    from govcloud.network.intent import invariant_catalogue
    from govcloud.network.verify import matrix_lines, verify

    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    fabrics, intent = _fabrics(compiled, quota, "plans", policy, attachments)
    reports = [verify(f) for f in fabrics]
    if fmt == "json":
        console.print_json(json.dumps([{
            "variant": r.variant, "ok": r.ok, "layers": list(r.layers), "violations": [v.as_dict() for v in r.violations],
            "reachable": len(r.reachable), "matrix": {f"{a}->{b}": n for (a, b), n in sorted(r.matrix.items())},
            "unreachableDeclared": [list(d) for d in r.unreachable_declared],
        } for r in reports], ensure_ascii=False))
    else:
        zones = ["mynumber", "lgwan", "internet"]
        for r in reports:
            if "effective" in r.layers:
                console.print(f"[bold]{r.variant}[/]: {len(r.reachable)} reachable (source, tenant, port) triples, "
                              f"{r.checked_tables} route tables", highlight=False)
            else:
                console.print(f"[bold]{r.variant}[/]: routing layer only (a policy holds no filters): "
                              f"{r.routed_pairs} routed (source, tenant) pairs, {r.checked_tables} route tables",
                              highlight=False)
            for inv in invariant_catalogue():
                found = [v for v in r.violations if v.invariant == inv["id"]]
                mark = "[green]ok[/]  " if not found else f"[red]FAIL[/] ({len(found)})"
                if not found and not set(inv["layers"]) & set(r.layers):
                    mark = "n/a "
                console.print(f"  {mark} {inv['id']} \\[{', '.join(inv['layers'])}]: {inv['en']}", highlight=False)
            for v in r.violations:
                console.print(f"\n[red]violation[/] {v.invariant} ({v.layer} layer): {v.message}", highlight=False)
                for i, hop in enumerate(v.path, start=1):
                    console.print(f"    {i}. {hop}", markup=False, highlight=False)
            for d in r.unreachable_declared:
                console.print(f"  [yellow]warning[/]: declared flow {d[0]} → {d[1]} {d[2]}/{d[3]} does not get through",
                              highlight=False)
            console.print("\n".join("  " + line for line in matrix_lines(r, zones)), highlight=False)
        if intent is not None:
            for exc in intent.expired:
                console.print(f"  [yellow]expired[/] exception {exc.id} ({exc.expires}) no longer applies", highlight=False)
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


@network_app.command("explain")
@report_errors
@refusals
def explain_cmd(
    source: str = typer.Option(..., "--from", help="Tenant name, site (CODE/SITE) or external:NAME."),
    destination: str = typer.Option(..., "--to", help="Tenant name."),
    port: Optional[int] = typer.Option(None, "--port", help="Only this destination port."),
    compiled: Optional[Path] = typer.Option(None, "--compiled", help="Folder of compiled configuration."),
) -> None:
    """Show, hop by hop, whether and how SOURCE reaches DESTINATION."""
    from govcloud.network.verify import explain

    fabrics, _ = _fabrics(compiled, [])
    names = [_attachment_name(source), _attachment_name(destination)]
    for fabric in fabrics:
        try:
            lines = explain(fabric, *names, port)
        except KeyError as exc:
            raise UsageError(str(exc).strip('"')) from None
        console.print(f"[bold]{fabric.variant}[/]", highlight=False)
        console.print("\n".join(lines), markup=False, highlight=False)


def _attachment_name(text: str) -> str:
    if "/" in text and not text.startswith("site:"):
        code, _, site = text.partition("/")
        return f"site:{code}:{site}"
    return text


@network_app.command("diff")
@report_errors
@refusals
def diff_cmd(
    base: str = typer.Option(..., "--base", help="Git ref (e.g. HEAD~1, main) or a folder with an older tenants/."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Paths opened and closed between BASE and the current intent."""
    from govcloud.network import pipeline
    from govcloud.network.verify import verify

    ws = workspace()

    def reachable(target_ws) -> dict[tuple, tuple]:
        _, compiled = pipeline.compile_workspace(target_ws, ("aws-cloudwan", "azure-vwan"))
        (fabric,) = pipeline.fabrics_from_compiled(compiled)
        return {(r.source, r.destination, r.protocol, r.port): r for r in verify(fabric).reachable}

    with pipeline.workspace_at(ws, base) as old_ws:
        before = reachable(old_ws)
    after = reachable(ws)
    opened = sorted(set(after) - set(before))
    closed = sorted(set(before) - set(after))
    if fmt == "json":
        console.print_json(json.dumps({"opened": [list(k) for k in opened], "closed": [list(k) for k in closed]},
                                      ensure_ascii=False))
        return
    console.print(f"{len(opened)} path(s) opened, {len(closed)} closed since {base}", highlight=False)
    for key in opened:
        console.print(f"[green]+ opened[/] {key[0]} → {key[1]} {key[2]}/{key[3]}", highlight=False)
        for hop in after[key].path:
            console.print(f"      {hop}", markup=False, highlight=False)
    for key in closed:
        console.print(f"[red]- closed[/] {key[0]} → {key[1]} {key[2]}/{key[3]}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(network_app, name="network")

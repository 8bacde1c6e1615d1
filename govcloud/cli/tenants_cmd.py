"""Commands over the tenants/ folder: requests, tenants, history, schemas, catalogues."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from govcloud.cli import console, err_console, report_errors, workspace
from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.fsio import atomic_write
from govcloud.tenants import history, ledger, schema, workflow
from govcloud.tenants.catalogue import load_catalogue
from govcloud.tenants.registry import load_registry

request_app = typer.Typer(help="Vendors' tenant requests: validate, approve, apply.", no_args_is_help=True)
tenant_app = typer.Typer(help="Materialised tenants (one per environment).", no_args_is_help=True)
history_app = typer.Typer(help="The hash-chained workflow history.", no_args_is_help=True)


def _actor() -> str:
    return os.environ.get("GOVCLOUD_ACTOR") or getpass.getuser()


@request_app.command("validate")
@report_errors
def request_validate(
    files: List[Path] = typer.Argument(..., help="TenantRequest YAML files."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Check requests against the schema, the catalogues and the workspace (nothing is written)."""
    ws = workspace()
    reg = load_registry(ws)
    problems, results = [], []
    for path in files:
        try:
            checked = workflow.validate_request(path, reg)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            results.append({"file": str(path), "valid": False,
                            "errors": [d.as_dict() for d in exc.diagnostics]})
            continue
        results.append({"file": str(path), "valid": True, "request": checked.request.metadata.name,
                        "digest": checked.digest,
                        "tenants": {p.name: p.cidr for p in checked.planned}})
        if fmt == "text":
            tenants = ", ".join(f"{p.name} ({p.cidr})" for p in checked.planned)
            console.print(f"[green]ok[/] {path}: {checked.request.metadata.name} → {tenants}", highlight=False)
    if fmt == "json":
        console.print_json(json.dumps(results, ensure_ascii=False))
        if problems:
            raise typer.Exit(1)
        return
    if problems:
        raise DiagnosticError(problems)


@request_app.command("approve")
@report_errors
def request_approve(
    file: Path = typer.Argument(..., help="TenantRequest YAML file."),
    by: str = typer.Option(..., "--by", help="Name of the approver."),
    role: str = typer.Option(..., "--role", help="platform or municipality."),
    municipality: Optional[str] = typer.Option(None, "--municipality", help="Approving municipality code (needed when the request lists several)."),
) -> None:
    """Record an approval of the request's exact content in the history."""
    entry = workflow.approve(workspace(), file, by=by, role=role, municipality=municipality)
    who = f"municipality {entry['data']['municipality']}" if role == "municipality" else "platform"
    console.print(f"approved {entry['data']['request']} as {who} by {by} (history #{entry['seq']})")


@request_app.command("apply")
@report_errors
def request_apply(file: Path = typer.Argument(..., help="Approved TenantRequest YAML file.")) -> None:
    """Materialise an approved request: one Tenant per environment, CIDRs allocated."""
    tenants = workflow.apply(workspace(), file, actor=_actor())
    for t in tenants:
        console.print(f"created tenant {t.name}  {t.spec.cloud}/{t.spec.region}  {t.spec.zone}  {t.spec.network.cidr}", highlight=False)


@tenant_app.command("list")
@report_errors
def tenant_list(fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """List tenants."""
    reg = load_registry(workspace())
    tenants = sorted(reg.tenants.values(), key=lambda t: t.name)
    if fmt == "json":
        console.print_json(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tenants], ensure_ascii=False))
        return
    cat = load_catalogue()
    table = Table(title=f"{len(tenants)} tenants")
    for col in ("tenant", "system", "usage", "municipalities", "cloud/region", "zone", "cidr"):
        table.add_column(col)
    for t in tenants:
        s = t.spec
        munis = ", ".join(f"{c} {reg.municipalities[c].spec.name}" if c in reg.municipalities else c for c in s.municipalities)
        system = cat.systems.get(s.system)
        table.add_row(t.name, f"{s.system} {system.ja if system else ''}", s.usage, munis, f"{s.cloud}/{s.region}", s.zone, s.network.cidr)
    console.print(table)


@tenant_app.command("show")
@report_errors
def tenant_show(name: str = typer.Argument(..., help="Tenant name.")) -> None:
    """Show one tenant document."""
    reg = load_registry(workspace())
    tenant = reg.tenants.get(name)
    if tenant is None:
        raise UsageError(f"no tenant named {name}; see govcloud tenant list")
    console.print(workflow.render_document(tenant), highlight=False, markup=False)


@tenant_app.command("remove")
@report_errors
def tenant_remove(name: str = typer.Argument(..., help="Tenant name.")) -> None:
    """Remove a tenant and release its CIDR."""
    tenant = workflow.remove(workspace(), name, actor=_actor())
    console.print(f"removed tenant {tenant.name}; released {tenant.spec.network.cidr}")


@history_app.command("verify")
@report_errors
def history_verify(
    expect_head: Optional[str] = typer.Option(None, "--expect-head", help="Hash the newest entry must have (e.g. one you recorded elsewhere)."),
) -> None:
    """Check the hash chain and its anchors: the address plan's recorded head, the tenants' and the
    applied requests' history entries."""
    ws = workspace()
    if expect_head is not None and not history.is_hash(expect_head):
        raise UsageError("--expect-head must be a SHA-256 hash (64 lowercase hex digits)")
    display = ws.relative(ws.history_file)
    try:
        reg = load_registry(ws)
    except DiagnosticError as exc:
        # The anchors live in documents that do not load; still report the chain itself.
        chain = history.diagnostics(ws.history_file, history.verify(ws.history_file), display)
        raise DiagnosticError(chain + exc.diagnostics) from None
    hist, problems = ledger.problems(ws, reg)
    if expect_head is not None and not problems and hist.head != expect_head:
        problems.append(history.diagnostics(ws.history_file, history.verify(ws.history_file, expect_head), display)[0])
    if problems:
        raise DiagnosticError(problems)
    console.print(f"history intact: {len(hist.entries)} entries, head {hist.head}")


@history_app.command("show")
@report_errors
def history_show(limit: int = typer.Option(20, "--limit", help="Newest N entries.")) -> None:
    """Show the newest history entries (of a verified chain)."""
    ws = workspace()
    hist = history.load(ws.history_file, ws.relative(ws.history_file))
    table = Table(title=f"history ({len(hist.entries)} entries)")
    for col in ("#", "time", "event", "actor", "detail"):
        table.add_column(col)
    for e in hist.entries[-limit:] if limit > 0 else ():
        d = e["data"]
        detail = d["tenant"] if e["event"].startswith("tenant.") else d["request"]
        if e["event"] == "request.approved":
            detail += f" ({d['role']}{' ' + d['municipality'] if d.get('municipality') else ''})"
        elif e["event"] == "tenant.account-recorded":
            detail += f" (account {d['accountId']})"
        table.add_row(str(e["seq"]), e["time"], e["event"], e["actor"], detail)
    console.print(table)


def schema_cmd(
    kind: Optional[str] = typer.Argument(None, help=f"One of: {', '.join(schema.kinds())}."),
    write: bool = typer.Option(False, "--write", help="Regenerate the published schemas in tenants/schemas/."),
) -> None:
    """Print the JSON Schema of a document kind."""
    if write:
        for path, text in schema.published_files().items():
            atomic_write(path, text)
            console.print(f"wrote {path}")
        return
    if kind is None:
        err_console.print(f"error: name a kind: {', '.join(schema.kinds())}")
        raise typer.Exit(1)
    try:
        typer.echo(schema.render(kind), nl=False)
    except KeyError:
        err_console.print(f"error: unknown kind {kind!r}; known: {', '.join(schema.kinds())}")
        raise typer.Exit(1) from None


@report_errors
def validate_cmd() -> None:
    """Validate every document of the workspace (municipalities, vendors, tenants, address plan, applied requests, network exceptions, waivers, history) and the rules across them."""
    from govcloud.tenants.validation import validate_workspace

    ws = workspace()
    report = validate_workspace(ws)
    problems = history.verify(ws.history_file)
    if problems:
        raise UsageError(f"history is broken ({len(problems)} problem(s)); run govcloud history verify")
    for warning in report.warnings:
        err_console.print(warning.format(), markup=False, highlight=False, soft_wrap=True)
    console.print("workspace valid: " + ", ".join(f"{n} {what}" for what, n in report.counts.items()))


def catalogue_cmd(what: str = typer.Argument("systems", help="systems, zones, environments or regions.")) -> None:
    """Show a reference catalogue."""
    cat = load_catalogue()
    table = Table()
    if what == "systems":
        for col in ("id", "日本語", "English", "kind", "default zone"):
            table.add_column(col)
        for s in cat.systems.values():
            table.add_row(s.id, s.ja, s.en, s.kind, s.default_zone)
    elif what == "zones":
        for col in ("id", "日本語", "English", "closed"):
            table.add_column(col)
        for z in cat.zones.values():
            table.add_row(z.id, z.ja, z.en, "yes" if z.closed else "no")
    elif what == "environments":
        for col in ("id", "日本語", "English"):
            table.add_column(col)
        for e in cat.environments.values():
            table.add_row(e.id, e.ja, e.en)
    elif what == "regions":
        for col in ("cloud", "region", "日本語", "English"):
            table.add_column(col)
        for c in cat.clouds.values():
            for r in c.regions:
                table.add_row(c.id, r.id, r.ja, r.en)
    else:
        err_console.print("error: choose systems, zones, environments or regions")
        raise typer.Exit(1)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(request_app, name="request")
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(history_app, name="history")
    app.command("schema")(schema_cmd)
    app.command("validate")(validate_cmd)
    app.command("catalogue")(catalogue_cmd)

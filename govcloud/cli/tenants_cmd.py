"""Commands over the tenants/ folder: requests, tenants, history, schemas, catalogues."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import List, Literal, Optional

import typer
from rich.table import Table

from govcloud.app import onboarding
from govcloud.cli import bad_usage, console, current_lang, err_console, report_errors, workspace
from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.fsio import atomic_write, make_dir
from govcloud.tenants import history, schema, workflow
from govcloud.tenants.principals import DetachedSignature, KeySigner
from govcloud.tenants.workflow import RequestSource
from govcloud.tenants.catalogue import load_catalogue
from govcloud.tenants.registry import load_registry

request_app = typer.Typer(help="Vendors' tenant requests: validate, approve, apply.", no_args_is_help=True)
tenant_app = typer.Typer(help="Materialised tenants (one per environment).", no_args_is_help=True)
history_app = typer.Typer(help="The hash-chained workflow history.", no_args_is_help=True)
principals_app = typer.Typer(help="Who may act on the workspace (tenants/principals.yaml).", no_args_is_help=True)
exceptions_app = typer.Typer(help="Network exceptions (tenants/network-exceptions.yaml): signed, recorded decisions.",
                             no_args_is_help=True)


def _actor() -> str:
    return os.environ.get("GOVCLOUD_ACTOR") or getpass.getuser()


def _anchor_note() -> None:
    """After a write: say plainly when its head was anchored nowhere outside the workspace."""
    from govcloud import anchor

    ws = workspace()
    if anchor.load_settings(ws) is None:
        err_console.print(f"warning[GC624]: {anchor.not_configured(ws)}", markup=False, highlight=False, soft_wrap=True)


@request_app.command("validate")
@report_errors
def request_validate(
    files: List[Path] = typer.Argument(..., help="TenantRequest YAML files."),
    fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Check requests against the schema, the catalogues and the workspace (nothing is written)."""
    ws = workspace()
    problems, results = [], []
    for path in files:
        try:
            source = RequestSource.from_path(path)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            results.append({"file": str(path), "valid": False, "errors": [d.as_dict() for d in exc.diagnostics]})
            continue
        outcome = onboarding.validate(ws, source)
        results.append(outcome.as_dict())
        problems.extend(outcome.diagnostics)
        if outcome.valid and fmt == "text":
            tenants = ", ".join(f"{t.name} ({t.cidr})" for t in outcome.summary.tenants)
            console.print(f"[green]ok[/] {path}: {outcome.summary.name} → {tenants}", highlight=False)
    if fmt == "json":
        console.print_json(json.dumps(results, ensure_ascii=False))
        if problems:
            raise typer.Exit(1)
        return
    if problems:
        raise DiagnosticError(problems)


def _signer(key: Optional[Path], signature: Optional[Path], principal: Optional[str]):
    if (key is None) == (signature is None):
        bad_usage("sign with exactly one of --key (your SSH private key) or --signature (a file made by "
                  "ssh-keygen -Y sign over `govcloud request statement`)")
    if signature is not None:
        if not principal:
            bad_usage("--signature needs --principal ID (who signed it)")
        return DetachedSignature(principal, onboarding.read_signature(signature))
    if principal:
        bad_usage("--principal goes with --signature; with --key the key says who you are")
    return KeySigner(onboarding.load_key(key))


def signers(keys: Optional[List[Path]], signatures: Optional[List[Path]], principals: Optional[List[str]]) -> list:
    """Every signer of a co-signed decision: each --key, and each --signature with the --principal
    at the same position (who signed it)."""
    keys, signatures, principals = keys or [], signatures or [], principals or []
    if not keys and not signatures:
        bad_usage("sign with --key (an SSH private key) or --signature with --principal (a file made by "
                  "ssh-keygen -Y sign over the `statement` command's output), once per signer")
    if len(signatures) != len(principals):
        bad_usage("give one --principal ID per --signature, in the same order (who made each signature)")
    return ([KeySigner(onboarding.load_key(k)) for k in keys]
            + [DetachedSignature(p, onboarding.read_signature(sig)) for sig, p in zip(signatures, principals)])


@request_app.command("approve")
@report_errors
def request_approve(
    file: Path = typer.Argument(..., help="TenantRequest YAML file."),
    key: Optional[Path] = typer.Option(None, "--key", help="Your SSH private key (e.g. ~/.ssh/id_ed25519), declared in tenants/principals.yaml."),
    signature: Optional[Path] = typer.Option(None, "--signature", help="A signature made with ssh-keygen -Y sign -n govcloud-approval over `govcloud request statement` (instead of --key)."),
    principal: Optional[str] = typer.Option(None, "--principal", help="With --signature: the principal id that signed."),
    municipality: Optional[str] = typer.Option(None, "--municipality", help="Approving municipality code (needed when you approve for several of the request's municipalities)."),
    by: Optional[str] = typer.Option(None, "--by", hidden=True, help="Gone: a typed name approves nothing; sign with --key."),
    role: Optional[str] = typer.Option(None, "--role", hidden=True, help="Gone: the role comes from tenants/principals.yaml."),
) -> None:
    """Sign an approval of the request's exact content and record it in the history. Your role
    and municipality come from tenants/principals.yaml."""
    if by is not None or role is not None:
        bad_usage("approvals are signed: --by and --role are gone. Sign with your SSH key: "
                  "govcloud request approve FILE --key ~/.ssh/id_ed25519 (your role comes from tenants/principals.yaml)")
    signer = _signer(key, signature, principal)
    try:
        entry = onboarding.approve(workspace(), RequestSource.from_path(file), signer, municipality=municipality)
    except workflow.ChooseMunicipality as exc:
        raise UsageError(f"{exc}: add --municipality {' or '.join(exc.choices)}") from None
    d = entry["data"]
    who = f"municipality {d['municipality']}" if d["role"] == "municipality" else "platform"
    console.print(f"approved {d['request']} as {who} by {d['by']} ({d['principal']}), signed "
                  f"(history #{entry['seq']})", highlight=False)
    _anchor_note()


@request_app.command("withdraw-approval")
@report_errors
def request_withdraw_approval(
    file: Path = typer.Argument(..., help="TenantRequest YAML file."),
    key: Optional[Path] = typer.Option(None, "--key", help="Your SSH private key, the one declared for you in tenants/principals.yaml."),
    signature: Optional[Path] = typer.Option(None, "--signature", help="A signature made with ssh-keygen -Y sign -n govcloud-approval over `govcloud request statement --withdrawal` (instead of --key)."),
    principal: Optional[str] = typer.Option(None, "--principal", help="With --signature: the principal id that signed."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the history; at most 2000 characters)."),
) -> None:
    """Take back your approval of the request's exact content before it is applied (signed like
    the approval, so only you can). The approval no longer counts."""
    signer = _signer(key, signature, principal)
    entry = onboarding.withdraw_approval(workspace(), RequestSource.from_path(file), signer, reason=reason)
    d = entry["data"]
    console.print(f"withdrew {d['principal']}'s approval of {d['request']} (history #{d['withdraws']}), signed "
                  f"(history #{entry['seq']})", highlight=False)
    _anchor_note()


@request_app.command("statement")
@report_errors
def request_statement(
    file: Path = typer.Argument(..., help="TenantRequest YAML file."),
    principal: str = typer.Option(..., "--principal", help="The principal id who will sign."),
    municipality: Optional[str] = typer.Option(None, "--municipality", help="Approving municipality code (when the principal approves for several)."),
    withdrawal: bool = typer.Option(False, "--withdrawal", help="The statement that withdraws the principal's approval instead (for request withdraw-approval --signature)."),
) -> None:
    """Print the exact statement an approval signs, for signing elsewhere:
    govcloud request statement F --principal ID | ssh-keygen -Y sign -f KEY -n govcloud-approval"""
    if withdrawal and municipality:
        bad_usage("--withdrawal names the principal's own approval: --municipality does not apply")
    source = RequestSource.from_path(file)
    message = (onboarding.withdrawal_statement(workspace(), source, principal) if withdrawal else
               onboarding.statement(workspace(), source, principal, municipality))
    sys.stdout.buffer.write(message)
    sys.stdout.flush()


@request_app.command("status")
@report_errors
def request_status(file: Path = typer.Argument(..., help="TenantRequest YAML file.")) -> None:
    """Which approvals of the request's exact content count, which are missing, and why others do not count."""
    status = onboarding.approval_status(workspace(), RequestSource.from_path(file))
    console.print(f"{status.request} ({status.digest[:19]}…)", highlight=False)
    for a in status.counted:
        console.print(f"  [green]✓[/] {a.slot}: {a.by} ({a.principal}, {a.signer}, history #{a.seq})", highlight=False)
    for a, why in status.ignored:
        console.print(f"  [yellow]✗[/] {a.slot}: {a.by} (history #{a.seq}) does not count: {why}", highlight=False)
    for slot in status.missing:
        console.print(f"  [red]…[/] {slot}: missing", highlight=False)
    if status.missing:
        raise typer.Exit(1)


@request_app.command("preflight")
@report_errors
def request_preflight(
    file: Path = typer.Argument(..., help="TenantRequest YAML file."),
    fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Before approving: plan the request's tenants offline, run the baseline controls over them and
    prove the network with them added (nothing is written). Exit 1 unless everything passes."""
    result = onboarding.preflight(workspace(), RequestSource.from_path(file))
    if fmt == "json":
        console.print_json(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        console.print(f"{result.request}: {len(result.stacks)} stacks planned, {result.resources} resources", highlight=False)
        for t in result.tenants:
            console.print(f"  {t.name}  {t.cidr}", highlight=False)
        console.print(f"baseline controls: {'[green]pass[/]' if not result.findings else f'[red]{len(result.findings)} failing[/]'}")
        for f in result.findings:
            console.print(f"  {f['control']} {f['stack']} {f['resource']}: {f['message']}", highlight=False, markup=False)
        console.print(f"network proof: {'[green]holds[/]' if not result.violations else f'[red]{len(result.violations)} violations[/]'}")
        for v in result.violations:
            console.print(f"  {v['invariant']}: {v['message']}", highlight=False, markup=False)
        console.print(f"new reachable flows: {len(result.new_reachable)}")
        for line in result.new_reachable:
            console.print(f"  {line}", highlight=False, markup=False)
        for r in result.refusals:
            err_console.print(f"error: {r}", highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


@request_app.command("apply")
@report_errors
def request_apply(file: Path = typer.Argument(..., help="Approved TenantRequest YAML file.")) -> None:
    """Materialise an approved request: one Tenant per environment, CIDRs allocated."""
    try:
        tenants = onboarding.apply(workspace(), RequestSource.from_path(file), actor=_actor())
    except workflow.NotApproved as exc:
        raise UsageError(f"{exc}\nEach approver runs: govcloud request approve {file} --key THEIR_SSH_KEY "
                         f"(see govcloud request status {file})") from None
    for t in tenants:
        console.print(f"created tenant {t.name}  {t.spec.cloud}/{t.spec.region}  {t.spec.zone}  {t.spec.network.cidr}", highlight=False)
    _anchor_note()


@tenant_app.command("list")
@report_errors
def tenant_list(fmt: Literal["table", "json"] = typer.Option("table", "--format", help="table or json.")) -> None:
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
def tenant_remove(
    name: str = typer.Argument(..., help="Tenant name."),
    key: Optional[Path] = typer.Option(None, "--key", help="Your SSH private key: you must be a platform principal."),
    signature: Optional[Path] = typer.Option(None, "--signature", help="A signature made with ssh-keygen -Y sign -n govcloud-approval over --statement's output (instead of --key)."),
    principal: Optional[str] = typer.Option(None, "--principal", help="With --signature or --statement: the platform principal id."),
    statement: bool = typer.Option(False, "--statement", help="Print the exact statement a removal signs (for ssh-keygen -Y sign) and exit."),
    yes: bool = typer.Option(False, "--yes", help="Remove without asking (required when not on a terminal)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Run every check and say what would be removed; write nothing."),
) -> None:
    """Remove a tenant and release its CIDR, signed by a platform principal (asks first; --yes to
    skip, --dry-run to only check)."""
    ws = workspace()
    if statement:
        if not principal:
            bad_usage("--statement needs --principal ID (who will sign)")
        sys.stdout.buffer.write(onboarding.removal_statement(ws, name, principal))
        sys.stdout.flush()
        return
    if dry_run:
        tenant = onboarding.remove_tenant(ws, name, actor=_actor(), dry_run=True)
        console.print(f"would remove tenant {tenant.name} and release {tenant.spec.network.cidr} "
                      f"(history event tenant.removed); nothing was written", highlight=False)
        return
    signer = _signer(key, signature, principal) if key is not None or signature is not None else None
    if not yes:
        if not sys.stdin.isatty():
            bad_usage("tenant remove deletes a tenant and releases its addresses: confirm with --yes "
                      "(or see what it would do with --dry-run)")
        if not typer.confirm(f"remove tenant {name} and release its CIDR?", default=False):
            raise typer.Exit(1)
    tenant = onboarding.remove_tenant(ws, name, actor=_actor(), signer=signer)
    console.print(f"removed tenant {tenant.name}; released {tenant.spec.network.cidr}")
    _anchor_note()


@history_app.command("verify")
@report_errors
def history_verify(
    expect_head: Optional[str] = typer.Option(None, "--expect-head", help="Hash the newest entry must have (e.g. one you recorded elsewhere)."),
    fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Check the hash chain, its anchors and every signature: who approved what, with which key,
    under which version of tenants/principals.yaml. With a history anchor configured
    (tenants/anchor.yaml), the head is compared with the one anchored outside the workspace."""
    proof = onboarding.prove_history(workspace(), expect_head)
    if fmt == "json":
        console.print_json(json.dumps(proof.as_dict(), ensure_ascii=False))
        return
    unsigned = [a for a in proof.approvals if a.status == "unsigned"]
    if unsigned:
        # One line for the legacy approvals (--format json lists each): a history migrated from
        # before signatures would otherwise bury everything else under them.
        err_console.print(f"warning: {len(unsigned)} approvals are unsigned, recorded before approvals were signed "
                          f"(entries {', '.join(f'#{a.seq}' for a in unsigned)}); they prove nothing about who "
                          "approved", markup=False, highlight=False, soft_wrap=True)
    for warning in proof.anchor_warnings:
        err_console.print(warning.format(current_lang()), markup=False, highlight=False, soft_wrap=True)
    signed = [a for a in proof.approvals if a.status == "verified"]
    console.print(f"history intact: {proof.entries} entries, head {proof.head}")
    if proof.anchored_at is not None:
        console.print(f"anchored outside the workspace: {proof.anchored_at}", highlight=False)
    console.print(f"approvals: {len(signed)} signed and verified, {len(proof.approvals) - len(signed)} unsigned "
                  f"(legacy, proving nothing); principals recorded {proof.principals_versions} time(s)", highlight=False)
    for a in signed:
        withdrawn = f" — withdrawn by #{proof.withdrawn[a.seq]}" if a.seq in proof.withdrawn else ""
        console.print(f"  #{a.seq} {a.request} {a.slot}: {a.by} ({a.principal}) {a.signer}{withdrawn}", highlight=False)


@history_app.command("anchor")
@report_errors
def history_anchor() -> None:
    """Publish the current head to the history anchor (tenants/anchor.yaml): the first anchoring
    of an existing history, or after a write whose publication failed. Every write publishes its
    own head; this is for catching up."""
    seq, head, where, published = onboarding.publish_head(workspace())
    verb = "anchored" if published else "already anchored"
    console.print(f"{verb}: head #{seq} {head} at {where}", highlight=False)


@history_app.command("signature")
@report_errors
def history_signature(
    seq: int = typer.Argument(..., help="Sequence number of a signed entry."),
    out: Path = typer.Option(..., "--out", help="Folder to write statement, statement.sig and allowed_signers into."),
) -> None:
    """Export a signed entry for checking by hand with ssh-keygen -Y verify."""
    ws = workspace()
    message, signature, namespace = onboarding.entry_signature(ws, seq)
    from govcloud import sshsig
    signer = sshsig.parse(signature).public
    make_dir(out)
    atomic_write(out / "statement", message.decode("utf-8"))
    atomic_write(out / "statement.sig", signature)
    atomic_write(out / "allowed_signers", f"signer {signer.openssh}\n")
    console.print(f"wrote {out}/statement, statement.sig, allowed_signers. Check by hand:\n"
                  f"  ssh-keygen -Y verify -f {out}/allowed_signers -I signer -n {namespace} "
                  f"-s {out}/statement.sig < {out}/statement", highlight=False)


@history_app.command("show")
@report_errors
def history_show(limit: int = typer.Option(20, "--limit", help="Newest N entries (0: all).")) -> None:
    """Show the newest history entries (of a verified chain)."""
    ws = workspace()
    hist = history.load(ws.history_file, ws.relative(ws.history_file))
    table = Table(title=f"history ({len(hist.entries)} entries)")
    for col in ("#", "time", "event", "actor", "detail"):
        table.add_column(col)
    if limit < 0:
        bad_usage("--limit must be 0 (all entries) or more")
    shown = hist.entries[-limit:] if limit > 0 else hist.entries
    for e in shown:
        d = e["data"]
        if e["event"] == "principals.recorded":
            people = d["document"].get("spec", {}).get("principals", [])
            who = ", ".join(s["principal"] for s in d["signatures"]) if d.get("signatures") else d.get("principal")
            detail = f"{len(people)} principals {d['digest'][:19]}…, signed by {who}"
        elif e["event"] == "document.recorded":
            detail = (f"{d['kind']} version {d['version']} {d['digest'][:19]}…, signed by "
                      f"{', '.join(s['principal'] for s in d['signatures'])}")
        else:
            detail = d["tenant"] if e["event"].startswith("tenant.") else d["request"]
        if e["event"] == "request.approved":
            detail += f" ({d['role']}{' ' + d['municipality'] if d.get('municipality') else ''}"
            detail += f", signed by {d['principal']})" if d.get("signature") else ", unsigned)"
        elif e["event"] == "tenant.account-recorded":
            detail += f" (account {d['accountId']})"
        table.add_row(str(e["seq"]), e["time"], e["event"], e["actor"], detail)
    console.print(table)
    if len(shown) < len(hist.entries):
        err_console.print(f"showing the newest {len(shown)} of {len(hist.entries)} entries; --limit 0 shows all",
                          highlight=False)


# Closed sets as Literal types: a value outside them is a usage error (exit 2) that names the
# argument and lists the choices, before the command runs (govcloud/cli/__init__.py).
SchemaKind = Literal[tuple(schema.kinds())]  # type: ignore[valid-type]
CatalogueName = Literal["systems", "zones", "environments", "regions"]


def schema_cmd(
    kind: Optional[SchemaKind] = typer.Argument(None, metavar="KIND", help=f"One of: {', '.join(schema.kinds())}."),
    write: bool = typer.Option(False, "--write", help="Regenerate the published schemas in tenants/schemas/."),
) -> None:
    """Print the JSON Schema of a document kind."""
    if write:
        for path, text in schema.published_files().items():
            atomic_write(path, text)
            console.print(f"wrote {path}")
        return
    if kind is None:
        bad_usage(f"name a kind: {', '.join(schema.kinds())} (or --write)")
    typer.echo(schema.render(kind), nl=False)


@report_errors
def validate_cmd() -> None:
    """Validate every document of the workspace (municipalities, vendors, tenants, address plan, applied requests, network exceptions, waivers, history) and the rules across them."""
    from govcloud.app.validate import validate_workspace

    ws = workspace()
    report = validate_workspace(ws)
    problems = history.verify(ws.history_file)
    if problems:
        raise UsageError(f"history is broken ({len(problems)} problem(s)); run govcloud history verify")
    for warning in report.warnings:
        err_console.print(warning.format(current_lang()), markup=False, highlight=False, soft_wrap=True)
    console.print("workspace valid: " + ", ".join(f"{n} {what}" for what, n in report.counts.items()))


def catalogue_cmd(what: CatalogueName = typer.Argument("systems", metavar="CATALOGUE", help="systems, zones, environments or regions.")) -> None:
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
    else:  # pragma: no cover - CatalogueName admits nothing else
        raise AssertionError(what)
    console.print(table)


@principals_app.command("list")
@report_errors
def principals_list(fmt: Literal["table", "json"] = typer.Option("table", "--format", help="table or json.")) -> None:
    """List the declared principals, their roles, scopes and key fingerprints."""
    from govcloud import sshsig
    reg = load_registry(workspace())
    if reg.principals is None:
        raise UsageError("tenants/principals.yaml is missing")
    people = reg.principals.spec.principals
    if fmt == "json":
        console.print_json(json.dumps([p.model_dump(mode="json", by_alias=True) for p in people], ensure_ascii=False))
        return
    table = Table(title=f"{len(people)} principals")
    for col in ("id", "name", "role", "scope", "keys", "OIDC subjects"):
        table.add_column(col)
    for p in people:
        scope = p.vendor or ", ".join(p.municipalities) or "-"
        keys = "\n".join(sshsig.parse_public_key(k).fingerprint for k in p.ssh_keys)
        table.add_row(p.id, p.display_name, p.role, scope, keys, ", ".join(p.oidc_subjects))
    console.print(table)


@principals_app.command("record")
@report_errors
def principals_record(
    key: Optional[List[Path]] = typer.Option(None, "--key", help="SSH private key of a platform principal of the recorded version (the first time: of the new one). Repeat for each co-signer: a change that adds or extends a platform, security or municipality principal, or a service key, needs two platform principals (or one and the municipality's current approver)."),
    signature: Optional[List[Path]] = typer.Option(None, "--signature", help="A signature (ssh-keygen -Y sign -n govcloud-principals over `govcloud principals statement`) instead of --key; repeatable."),
    principal: Optional[List[str]] = typer.Option(None, "--principal", help="With each --signature, in order: the principal id that signed it."),
) -> None:
    """Record the current tenants/principals.yaml in the history, signed: until then, every write refuses the workspace."""
    entry = onboarding.record_principals(workspace(), signers(key, signature, principal))
    if entry is None:
        console.print("tenants/principals.yaml is already the recorded version; nothing to record")
        return
    d = entry["data"]
    console.print(f"recorded {len(d['document']['spec']['principals'])} principals ({d['digest'][:19]}…), version "
                  f"{d['version']}, signed by {', '.join(s['principal'] for s in d['signatures'])} "
                  f"(history #{entry['seq']})", highlight=False)
    _anchor_note()


@principals_app.command("statement")
@report_errors
def principals_statement(
    principal: str = typer.Option(..., "--principal", help="The principal id who will sign."),
) -> None:
    """Print the exact statement that records the current tenants/principals.yaml, for signing elsewhere:
    govcloud principals statement --principal ID | ssh-keygen -Y sign -f KEY -n govcloud-principals"""
    sys.stdout.buffer.write(onboarding.principals_statement(workspace(), principal))
    sys.stdout.flush()


def _record_decision(kind: str, file: str, keys, signatures, principals) -> None:
    from govcloud.app import decisions

    entry = decisions.record(workspace(), kind, signers(keys, signatures, principals))
    if entry is None:
        console.print(f"{file} is already the recorded version; nothing to record")
        return
    d = entry["data"]
    console.print(f"recorded {file} version {d['version']} ({d['digest'][:19]}…), signed by "
                  f"{', '.join(s['principal'] for s in d['signatures'])} (history #{entry['seq']})", highlight=False)
    _anchor_note()


def _decision_statement(kind: str, principal: str) -> None:
    from govcloud.app import decisions

    sys.stdout.buffer.write(decisions.statement(workspace(), kind, principal))
    sys.stdout.flush()


@exceptions_app.command("record")
@report_errors
def exceptions_record(
    key: Optional[List[Path]] = typer.Option(None, "--key", help="SSH private key of a signer; repeat for each (platform, the approver of every municipality an exception touches, security for the My Number zone)."),
    signature: Optional[List[Path]] = typer.Option(None, "--signature", help="A signature (ssh-keygen -Y sign -n govcloud-governed over `govcloud exceptions statement`) instead of --key; repeatable."),
    principal: Optional[List[str]] = typer.Option(None, "--principal", help="With each --signature, in order: the principal id that signed it."),
) -> None:
    """Record the current tenants/network-exceptions.yaml in the history, signed by the people its
    new or changed exceptions need (docs/trust.md). Until then no command reads it."""
    _record_decision("NetworkExceptions", "tenants/network-exceptions.yaml", key, signature, principal)


@exceptions_app.command("statement")
@report_errors
def exceptions_statement(principal: str = typer.Option(..., "--principal", help="The principal id who will sign.")) -> None:
    """Print the exact statement that records the current tenants/network-exceptions.yaml:
    govcloud exceptions statement --principal ID | ssh-keygen -Y sign -f KEY -n govcloud-governed"""
    _decision_statement("NetworkExceptions", principal)


@principals_app.command("allowed-signers")
@report_errors
def principals_allowed_signers() -> None:
    """Print an ssh allowed_signers file of the declared keys (for ssh-keygen -Y verify -I PRINCIPAL_ID)."""
    reg = load_registry(workspace())
    if reg.principals is None:
        raise UsageError("tenants/principals.yaml is missing")
    for p in reg.principals.spec.principals:
        for k in p.ssh_keys:
            typer.echo(f'{p.id} namespaces="govcloud-approval,govcloud-principals,govcloud-governed" '
                       f'{" ".join(k.split()[:2])}')


def register(app: typer.Typer) -> None:
    app.add_typer(principals_app, name="principals")
    app.add_typer(exceptions_app, name="exceptions")
    app.add_typer(request_app, name="request")
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(history_app, name="history")
    app.command("schema")(schema_cmd)
    app.command("validate")(validate_cmd)
    app.command("catalogue")(catalogue_cmd)

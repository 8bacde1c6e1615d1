"""Live operations with boto3: the local dev cloud, account vending, the live audit, network drift.

Every live command takes --endpoint-url (or $GOVCLOUD_ENDPOINT_URL); without it, the running dev
cloud; real AWS only with --aws (standard credential chain, --profile / AWS_PROFILE).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Literal, Optional

import typer

from govcloud.cli import Lang, bad_usage, console, current_lang, progress_bar, report_errors, workspace
from govcloud.fsio import atomic_write

dev_app = typer.Typer(help="A local AWS (moto) on 127.0.0.1 for the live commands, seeded with the sample fleet.",
                      no_args_is_help=True)
fault_app = typer.Typer(help="Simulate what real accounts do to a call: deny it, throttle it, or hang.", no_args_is_help=True)
accounts_app = typer.Typer(help="Tenant accounts in AWS Organizations.", no_args_is_help=True)

ENDPOINT_HELP = "AWS endpoint (e.g. http://127.0.0.1:4566). Default: $GOVCLOUD_ENDPOINT_URL, else the running dev cloud."
EndpointOpt = typer.Option(None, "--endpoint-url", help=ENDPOINT_HELP)
AwsOpt = typer.Option(False, "--aws", help="Use real AWS with the standard credential chain (never the default).")
ProfileOpt = typer.Option(None, "--profile", help="AWS profile (with --aws).")
RoleOpt = typer.Option(None, "--role", help="Role to assume in each tenant account (default govcloud-audit; '' to use the caller).")


def _endpoint(endpoint_url, use_aws, profile):
    from govcloud.live.clients import resolve_endpoint

    return resolve_endpoint(workspace().root, endpoint_url, use_aws, profile)


def _failure_line(who: str, step: str, failure) -> str:
    from govcloud.app.live import failure_line

    return failure_line(who, step, failure)


# --- dev-cloud ---------------------------------------------------------------------------------------


@dev_app.command("start")
@report_errors
def dev_start(port: Optional[int] = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one).", metavar="PORT"),
              no_seed: bool = typer.Option(False, "--no-seed", help="Start empty: no organisation, no tenants.")) -> None:
    """Start the dev cloud (if not running) and seed it with the foundation, the sample tenants and the network."""
    from govcloud.app.live import start_dev_cloud

    ws = workspace()
    started = start_dev_cloud(ws, port, seed_fleet=not no_seed)
    state = started.state
    if started.already_running:
        console.print(f"dev cloud already running at {state['url']} (pid {state['pid']})", highlight=False)
        return
    console.print(f"dev cloud running at {state['url']} (pid {state['pid']}); recorded in {ws.relative(started.state_file)}",
                  highlight=False)
    if started.seeded:
        console.print(f"  organisation with {started.ous} OUs; {len(state['accounts'])} tenant account(s) vended, baselined and "
                      f"released; network account {state['networkAccount']} with Transit Gateway {state['transitGateway']}",
                      highlight=False)
    console.print("  stop it with: govcloud dev-cloud stop", highlight=False)


@dev_app.command("stop")
@report_errors
def dev_stop() -> None:
    """Stop the dev cloud; everything in it is gone."""
    from govcloud.app.live import stop_dev_cloud

    state = stop_dev_cloud(workspace())
    console.print("dev cloud stopped" if state else "no dev cloud was running", highlight=False)


@dev_app.command("status")
@report_errors
def dev_status(fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json.")) -> None:
    """Where the dev cloud listens and what it was seeded with; exit 1 when it is not running."""
    from govcloud.app.live import dev_cloud_status

    status = dev_cloud_status(workspace())
    state = status.state
    if fmt == "json":
        console.print_json(json.dumps(status.as_json()))
    elif state:
        console.print(f"running at {state['url']} (port {state['port']}, pid {state['pid']}, since {state['started']})", highlight=False)
        if state.get("managementAccount"):
            console.print(f"  management account {state['managementAccount']}, network account {state.get('networkAccount')}",
                          highlight=False)
            for tenant, account in status.accounts.items():
                console.print(f"  {tenant}: account {account}", highlight=False)
        for f in status.faults:
            console.print(f"  fault: {f['error']} on {f['call']} in account {f['account']}", highlight=False)
    else:
        console.print("not running (start it with: govcloud dev-cloud start)", highlight=False)
    if not status.running:
        raise typer.Exit(1)


@fault_app.command("add")
@report_errors
def fault_add(call: str = typer.Option(..., "--call", help="The call as IAM names it, service:Operation (or service:*)."),
              error: Literal["access-denied", "throttling", "timeout"] = typer.Option(..., "--error", help="access-denied, throttling or timeout."),
              account: Optional[str] = typer.Option(None, "--account", help="Account id (default: every account)."),
              tenant: Optional[str] = typer.Option(None, "--tenant", help="The dev cloud account of this tenant."),
              seconds: float = typer.Option(30.0, "--seconds", help="How long a timeout fault hangs.")) -> None:
    """Make one call fail in one account, the way real accounts fail."""
    from govcloud.app.live import FaultRequest, add_fault

    fault = add_fault(workspace(), FaultRequest(call, error, account, tenant, seconds))
    console.print(f"{fault.error} on {fault.call} in account {fault.account}", highlight=False)


@fault_app.command("list")
@report_errors
def fault_list() -> None:
    """The faults in force."""
    from govcloud.app.live import list_faults

    for f in list_faults(workspace()):
        console.print(f"{f['error']} on {f['call']} in account {f['account']}", highlight=False)


@fault_app.command("clear")
@report_errors
def fault_clear() -> None:
    """Remove every fault."""
    from govcloud.app.live import clear_faults

    clear_faults(workspace())
    console.print("no faults", highlight=False)


@dev_app.command("deploy")
@report_errors
def dev_deploy(tenant: str = typer.Argument(..., help="Tenant whose planned baseline to apply.", metavar="TENANT")) -> None:
    """Apply a tenant's planned baseline and network to its account in the dev cloud (what
    `govcloud up` does in real AWS), e.g. after vending a new tenant."""
    from govcloud.app.live import deploy_to_dev_cloud

    done = deploy_to_dev_cloud(workspace(), tenant)
    console.print(f"applied the planned baseline of {tenant} to account {done.account_id}; release it with: "
                  f"govcloud accounts vend {tenant}", highlight=False)


# --- accounts --------------------------------------------------------------------------------------------


@accounts_app.command("vend")
@report_errors
def vend_cmd(tenant: str = typer.Argument(..., help="Tenant name (tenants/active/<name>.yaml).", metavar="TENANT"),
             endpoint_url: Optional[str] = EndpointOpt, use_aws: bool = AwsOpt, profile: Optional[str] = ProfileOpt) -> None:
    """Create (or find) the tenant's account, quarantine it until its baseline passes, then move it
    into its tenant OU; record the account id in the tenant document. Safe to re-run."""
    from govcloud.app.live import vend_account

    ws = workspace()
    done = vend_account(ws, tenant, lambda: _endpoint(endpoint_url, use_aws, profile))
    for step in done.steps:
        console.print(f"  {step}", highlight=False)
    for failure in done.baseline_failures:
        console.print(f"  baseline: {failure}", highlight=False)
    console.print(f"{tenant}: account {done.account_id} in {done.location}" +
                  (f"; recorded in {ws.relative(done.document)}" if done.recorded else " (already recorded)"), highlight=False)


# --- audit ------------------------------------------------------------------------------------------------


@report_errors
def audit_cmd(tenant: List[str] = typer.Option([], "--tenant", help="Audit this tenant (repeatable).", metavar="TENANT"),
              all_tenants: bool = typer.Option(False, "--all", help="Audit every AWS tenant (the default without --tenant)."),
              fmt: Literal["text", "json", "sarif"] = typer.Option("text", "--format", help="text, json or sarif."),
              out: Optional[Path] = typer.Option(None, "--out", help="Write the report to this file (atomically).", metavar="FILE"),
              lang: Optional[Lang] = typer.Option(None, "--lang", help="ja or en (default: the global --lang)."),
              role: Optional[str] = RoleOpt,
              endpoint_url: Optional[str] = EndpointOpt, use_aws: bool = AwsOpt, profile: Optional[str] = ProfileOpt) -> None:
    """Read each tenant account's live configuration and judge it with the controls `govcloud check`
    uses; exit 1 when a mandatory control fails or a tenant could not be read."""
    from govcloud.app.live import audit
    from govcloud.policies import report

    lang = current_lang(lang)
    if tenant and all_tenants:
        bad_usage("give --tenant or --all, not both")
    ws = workspace()
    endpoint = _endpoint(endpoint_url, use_aws, profile)
    with progress_bar(lang) as progress:
        outcome = audit(ws, endpoint, list(tenant) or None, role, progress=progress)
    result = outcome.result
    if fmt == "text":
        lines = report.to_text(result.run, result.controls, lang)
        lines[-1] = f"audited {len(result.tenants) - len(result.incomplete)} of {len(result.tenants)} tenant(s) at " \
                    f"{outcome.endpoint}: " + lines[-1]
        for t in result.tenants:
            for step, f in t.failures:
                lines.append("ERROR  " + _failure_line(f"{t.tenant} (account {t.account_id or '?'})", step, f))
            if t.failures:
                lines.append(f"       not evaluated for {t.tenant}: {', '.join(t.unevaluated) or 'none'}")
        text = "\n".join(lines) + "\n"
    else:
        doc = outcome.as_json(lang) if fmt == "json" else outcome.as_sarif(lang)
        text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    if out:
        atomic_write(out, text)
        console.print(f"wrote {out}", highlight=False)
    else:
        console.print(text, markup=False, highlight=False, end="")
    if not outcome.passed:
        raise typer.Exit(1)


# --- network drift --------------------------------------------------------------------------------------------


@report_errors
def drift_cmd(fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
              network_account: Optional[str] = typer.Option(None, "--network-account", metavar="ACCOUNT",
                                                            help="Account of the Transit Gateway (default: the dev cloud's, or govcloud:networkAccountId)."),
              role: Optional[str] = typer.Option(None, "--role", help="Role to assume in each account (default govcloud-audit).", metavar="ROLE"),
              endpoint_url: Optional[str] = EndpointOpt, use_aws: bool = AwsOpt, profile: Optional[str] = ProfileOpt) -> None:
    """Compare live Cloud WAN / Transit Gateway and security-group state with the compiled intent, and verify
    the invariants on what runs; exit 1 when live state breaks an invariant or could not be read."""
    from govcloud.app.live import drift

    ws = workspace()
    endpoint = _endpoint(endpoint_url, use_aws, profile)
    with progress_bar() as progress:
        outcome = drift(ws, endpoint, network_account, role, progress=progress)
    result = outcome.result
    if fmt == "json":
        console.print_json(json.dumps(outcome.as_json(), ensure_ascii=False))
    else:
        console.print(f"live state at {outcome.endpoint}: read {len(result.read)} scope(s) "
                      f"({', '.join(result.read) or 'none'})", highlight=False)
        for note in result.notes:
            console.print(f"note: {note}", markup=False, highlight=False)
        if not result.changes:
            console.print("no drift: live security groups and routing match the compiled intent", highlight=False)
        for c in result.changes:
            detail = {"added": f"+ {c.live}", "removed": f"- {c.declared}", "changed": f"{c.declared} → {c.live}"}[c.kind]
            console.print(f"drift ({c.layer}) {c.kind:7} {c.where}: {detail}", markup=False, highlight=False)
        for who, f in result.failures:
            console.print("ERROR  " + _failure_line(who, "live network state", f), markup=False, highlight=False)
        for r in result.reports:
            console.print(f"verification of the live state ({r.variant}): "
                          f"{'all invariants hold' if r.ok else f'{len(r.violations)} violation(s)'}", highlight=False)
            for v in r.violations:
                console.print(f"\nviolation {v.invariant} ({v.layer} layer): {v.message}\n    {outcome.invariant_names.get(v.invariant, '')}",
                              markup=False, highlight=False)
                for i, hop in enumerate(v.path, start=1):
                    console.print(f"    {i}. {hop}", markup=False, highlight=False)
    if not outcome.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from govcloud.cli.network_cmd import network_app

    dev_app.add_typer(fault_app, name="fault")
    app.add_typer(dev_app, name="dev-cloud")
    app.add_typer(accounts_app, name="accounts")
    app.command("audit")(audit_cmd)
    network_app.command("drift")(drift_cmd)

"""Live operations with boto3: the local dev cloud, account vending, the live audit, network drift.

Every live command takes --endpoint-url (or $GOVCLOUD_ENDPOINT_URL); without it, the running dev
cloud; real AWS only with --aws (standard credential chain, --profile / AWS_PROFILE).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from govcloud.cli import console, report_errors, workspace
from govcloud.diagnostics import UsageError
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
    perm = f"; missing permission {failure.permission}" if failure.permission else ""
    return f"{who}: {failure.call} failed ({failure.kind}{perm}) while reading {step}: {failure.message}"


# --- dev-cloud ---------------------------------------------------------------------------------------


@dev_app.command("start")
@report_errors
def dev_start(port: Optional[int] = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: a free one)."),
              no_seed: bool = typer.Option(False, "--no-seed", help="Start empty: no organisation, no tenants.")) -> None:
    """Start the dev cloud (if not running) and seed it with the foundation, the sample tenants and the network."""
    from govcloud.live import devcloud
    from govcloud.live.clients import Account, Endpoint
    from govcloud.live.plans import fleet
    from govcloud.live.seed import seed
    from govcloud.network.pipeline import compile_workspace

    ws = workspace()
    running = devcloud.running_dev_cloud(ws.root)
    if running:
        console.print(f"dev cloud already running at {running['url']} (pid {running['pid']})", highlight=False)
        return
    reg, plans, tenants = fleet(ws) if not no_seed else (None, {}, [])
    state = devcloud.start_server(ws.root, port)
    try:
        if not no_seed:
            _, compiled = compile_workspace(ws, reg=reg)
            endpoint = Endpoint(state["url"], "ap-northeast-1", None, state["accessKey"], state["secretKey"])
            email_domain = tenants[0]["email"].split("@", 1)[1] if tenants else "gc.example.lg.jp"
            seeded = seed(Account(endpoint), plans, tenants, compiled.files.get("aws-tgw/transit-gateway.json"), email_domain)
            state.update(managementAccount=seeded.management_account, networkAccount=seeded.network_account,
                         transitGateway=seeded.transit_gateway, accounts=seeded.accounts)
        devcloud.save_state(ws.root, state)
    except BaseException:
        devcloud.save_state(ws.root, state)
        devcloud.stop(ws.root)
        raise
    console.print(f"dev cloud running at {state['url']} (pid {state['pid']}); recorded in {devcloud.STATE}", highlight=False)
    if not no_seed:
        console.print(f"  organisation with {seeded.ous} OUs; {len(seeded.accounts)} tenant account(s) vended, baselined and "
                      f"released; network account {seeded.network_account} with Transit Gateway {seeded.transit_gateway}",
                      highlight=False)
    console.print("  stop it with: govcloud dev-cloud stop", highlight=False)


@dev_app.command("stop")
@report_errors
def dev_stop() -> None:
    """Stop the dev cloud; everything in it is gone."""
    from govcloud.live import devcloud

    state = devcloud.stop(workspace().root)
    console.print("dev cloud stopped" if state else "no dev cloud was running", highlight=False)


@dev_app.command("status")
@report_errors
def dev_status(fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Where the dev cloud listens and what it was seeded with; exit 1 when it is not running."""
    from govcloud.live import devcloud

    state = devcloud.running_dev_cloud(workspace().root)
    if fmt == "json":
        console.print_json(json.dumps({"running": bool(state), **({k: v for k, v in state.items() if k != "secretKey"} if state else {})}))
    elif state:
        console.print(f"running at {state['url']} (port {state['port']}, pid {state['pid']}, since {state['started']})", highlight=False)
        if state.get("managementAccount"):
            console.print(f"  management account {state['managementAccount']}, network account {state.get('networkAccount')}",
                          highlight=False)
            for tenant, account in sorted(state.get("accounts", {}).items()):
                console.print(f"  {tenant}: account {account}", highlight=False)
        faults = devcloud.faults(state["url"])
        for f in faults:
            console.print(f"  fault: {f['error']} on {f['call']} in account {f['account']}", highlight=False)
    else:
        console.print("not running (start it with: govcloud dev-cloud start)", highlight=False)
    if not state:
        raise typer.Exit(1)


def _dev_url() -> tuple[str, dict]:
    from govcloud.live import devcloud

    state = devcloud.running_dev_cloud(workspace().root)
    if not state:
        raise UsageError("no dev cloud is running: govcloud dev-cloud start")
    return state["url"], state


@fault_app.command("add")
@report_errors
def fault_add(call: str = typer.Option(..., "--call", help="The call as IAM names it, service:Operation (or service:*)."),
              error: str = typer.Option(..., "--error", help="access-denied, throttling or timeout."),
              account: Optional[str] = typer.Option(None, "--account", help="Account id (default: every account)."),
              tenant: Optional[str] = typer.Option(None, "--tenant", help="The dev cloud account of this tenant."),
              seconds: float = typer.Option(30.0, "--seconds", help="How long a timeout fault hangs.")) -> None:
    """Make one call fail in one account, the way real accounts fail."""
    from govcloud.live import devcloud

    url, state = _dev_url()
    if tenant:
        account = state.get("accounts", {}).get(tenant) or _fail(f"the dev cloud has no account for tenant {tenant!r}")
    devcloud.faults(url, "POST", {"call": call, "error": error, "account": account or "*", "seconds": seconds})
    console.print(f"{error} on {call} in account {account or '*'}", highlight=False)


@fault_app.command("list")
@report_errors
def fault_list() -> None:
    """The faults in force."""
    from govcloud.live import devcloud

    for f in devcloud.faults(_dev_url()[0]):
        console.print(f"{f['error']} on {f['call']} in account {f['account']}", highlight=False)


@fault_app.command("clear")
@report_errors
def fault_clear() -> None:
    """Remove every fault."""
    from govcloud.live import devcloud

    devcloud.faults(_dev_url()[0], "DELETE")
    console.print("no faults", highlight=False)


def _fail(message: str):
    raise UsageError(message)


@dev_app.command("deploy")
@report_errors
def dev_deploy(tenant: str = typer.Argument(..., help="Tenant whose planned baseline to apply.")) -> None:
    """Apply a tenant's planned baseline and network to its account in the dev cloud (what
    `govcloud up` does in real AWS), e.g. after vending a new tenant."""
    from govcloud.live import organization as orgs
    from govcloud.live.clients import Account
    from govcloud.live.plans import fleet
    from govcloud.live.replay import replay_tenant

    url, state = _dev_url()
    ws = workspace()
    endpoint = _endpoint(url, False, None)
    _, _, (t,) = fleet(ws, [tenant])
    mgmt = Account(endpoint)
    found = orgs.find_account(mgmt, t["name"], t["email"])
    if found is None:
        raise UsageError(f"tenant {tenant} has no account yet: govcloud accounts vend {tenant}")
    replay_tenant(mgmt.assume(found["Id"], t["role"]), t["plan"], found["Id"], state.get("managementAccount", ""), t["region"])
    console.print(f"applied the planned baseline of {tenant} to account {found['Id']}; release it with: "
                  f"govcloud accounts vend {tenant}", highlight=False)


# --- accounts --------------------------------------------------------------------------------------------


@accounts_app.command("vend")
@report_errors
def vend_cmd(tenant: str = typer.Argument(..., help="Tenant name (tenants/active/<name>.yaml)."),
             endpoint_url: Optional[str] = EndpointOpt, use_aws: bool = AwsOpt, profile: Optional[str] = ProfileOpt) -> None:
    """Create (or find) the tenant's account, quarantine it until its baseline passes, then move it
    into its tenant OU; record the account id in the tenant document. Safe to re-run."""
    from govcloud.live.accounts import record_account_id, require_recordable, vend
    from govcloud.live.clients import Account, CallFailure
    from govcloud.live.plans import fleet

    ws = workspace()
    require_recordable(ws)
    endpoint = _endpoint(endpoint_url, use_aws, profile)
    _, _, (t,) = fleet(ws, [tenant])
    try:
        result = vend(Account(endpoint), t)
    except CallFailure as failure:
        raise UsageError(_failure_line(tenant, "Organizations", failure)) from None
    for step in result.steps:
        console.print(f"  {step}", highlight=False)
    for failure in result.baseline_failures:
        console.print(f"  baseline: {failure}", highlight=False)
    recorded = record_account_id(ws, tenant, result.account_id)
    console.print(f"{tenant}: account {result.account_id} in {result.location}" +
                  (f"; recorded in tenants/active/{tenant}.yaml" if recorded else " (already recorded)"), highlight=False)


# --- audit ------------------------------------------------------------------------------------------------


@report_errors
def audit_cmd(tenant: List[str] = typer.Option([], "--tenant", help="Audit this tenant (repeatable)."),
              all_tenants: bool = typer.Option(False, "--all", help="Audit every AWS tenant (the default without --tenant)."),
              fmt: str = typer.Option("text", "--format", help="text, json or sarif."),
              out: Optional[Path] = typer.Option(None, "--out", help="Write the report to this file (atomically)."),
              lang: str = typer.Option("ja", "--lang", help="ja or en."),
              role: Optional[str] = RoleOpt,
              endpoint_url: Optional[str] = EndpointOpt, use_aws: bool = AwsOpt, profile: Optional[str] = ProfileOpt) -> None:
    """Read each tenant account's live configuration and judge it with the controls `govcloud check`
    uses; exit 1 when a mandatory control fails or a tenant could not be read."""
    from govcloud.live.audit import audit_tenants
    from govcloud.live.clients import AUDIT_ROLE, Account
    from govcloud.live.plans import fleet
    from govcloud.policies import report

    if fmt not in ("text", "json", "sarif"):
        raise UsageError("--format must be text, json or sarif")
    if lang not in ("ja", "en"):
        raise UsageError("--lang must be ja or en")
    if tenant and all_tenants:
        raise UsageError("give --tenant or --all, not both")
    ws = workspace()
    endpoint = _endpoint(endpoint_url, use_aws, profile)
    _, _, tenants = fleet(ws, list(tenant) or None)
    result = audit_tenants(Account(endpoint), tenants, ws.root / "policies" / "waivers.yaml",
                           role=AUDIT_ROLE if role is None else role)
    failures = [{"tenant": t.tenant, "account": t.account_id, "step": step, "call": f.call, "kind": f.kind,
                 "missingPermission": f.permission, "message": f.message, "controlsNotEvaluated": t.unevaluated}
                for t in result.tenants for step, f in t.failures]
    if fmt == "text":
        lines = report.to_text(result.run, result.controls, lang)
        lines[-1] = f"audited {len(result.tenants) - len(result.incomplete)} of {len(result.tenants)} tenant(s) at " \
                    f"{endpoint.label}: " + lines[-1]
        for t in result.tenants:
            for step, f in t.failures:
                lines.append("ERROR  " + _failure_line(f"{t.tenant} (account {t.account_id or '?'})", step, f))
            if t.failures:
                lines.append(f"       not evaluated for {t.tenant}: {', '.join(t.unevaluated) or 'none'}")
        text = "\n".join(lines) + "\n"
    elif fmt == "json":
        doc = json.loads(report.to_json(result.run, result.controls, lang))
        doc.update(endpoint=endpoint.label, tenants=[{"tenant": t.tenant, "account": t.account_id, "complete": not t.failures}
                                                     for t in result.tenants], failures=failures)
        text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    else:
        doc = json.loads(report.to_sarif(result.run, result.controls, lang))
        doc["runs"][0]["invocations"] = [{"executionSuccessful": not failures, "toolExecutionNotifications": [
            {"level": "error", "message": {"text": _failure_line(f["tenant"], f["step"], _Failure(f))},
             "properties": f} for f in failures]}]
        for res in doc["runs"][0]["results"]:
            for loc in res["locations"]:   # the live resource itself (an ARN is a URI), not a plan file
                loc["physicalLocation"]["artifactLocation"]["uri"] = loc["logicalLocations"][0]["fullyQualifiedName"]
        text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    if out:
        atomic_write(out, text)
        console.print(f"wrote {out}", highlight=False)
    else:
        console.print(text, markup=False, highlight=False, end="")
    if result.run.failures(result.controls) or failures:
        raise typer.Exit(1)


class _Failure:
    def __init__(self, f: dict):
        self.call, self.kind, self.permission, self.message = f["call"], f["kind"], f["missingPermission"], f["message"]


# --- network drift --------------------------------------------------------------------------------------------


@report_errors
def drift_cmd(fmt: str = typer.Option("text", "--format", help="text or json."),
              network_account: Optional[str] = typer.Option(None, "--network-account",
                                                            help="Account of the Transit Gateway (default: the dev cloud's, or govcloud:networkAccountId)."),
              role: Optional[str] = typer.Option(None, "--role", help="Role to assume in each account (default govcloud-audit)."),
              endpoint_url: Optional[str] = EndpointOpt, use_aws: bool = AwsOpt, profile: Optional[str] = ProfileOpt) -> None:
    """Compare live Cloud WAN / Transit Gateway and security-group state with the compiled intent, and verify
    the invariants on what runs; exit 1 when live state breaks an invariant or could not be read."""
    import tempfile

    from govcloud.live import devcloud
    from govcloud.live.clients import AUDIT_ROLE, Account
    from govcloud.live.drift import drift
    from govcloud.live.organization import account_emails, find_account
    from govcloud.live.plans import fleet
    from govcloud.network.intent import invariant_catalogue
    from govcloud.network.pipeline import compile_workspace, write_compiled
    from govcloud.stacks.planner import read_stack_config

    if fmt not in ("text", "json"):
        raise UsageError("--format must be text or json")
    ws = workspace()
    endpoint = _endpoint(endpoint_url, use_aws, profile)
    mgmt = Account(endpoint)
    reg, _, tenants = fleet(ws)
    if any(t["accountId"] is None for t in tenants):
        by_email = account_emails(mgmt)     # a failure here stops the command: no tenant can be found
        for t in tenants:
            if t["accountId"] is None:
                found = by_email.get(t["email"].lower()) or find_account(mgmt, t["name"], t["email"])
                t["accountId"] = found["Id"] if found else None
    dev = devcloud.running_dev_cloud(ws.root)
    network_config = read_stack_config(ws, "network")
    network_account = network_account or (dev or {}).get("networkAccount") or network_config.get("govcloud:networkAccountId")
    configured_ids = json.loads(network_config.get("govcloud:attachmentIds") or "{}")
    with tempfile.TemporaryDirectory(prefix="govcloud-compiled-") as tmp:
        _, compiled = compile_workspace(ws, reg=reg)
        write_compiled(Path(tmp), compiled)
        result = drift(mgmt, tenants, Path(tmp), network_account, endpoint.region, AUDIT_ROLE if role is None else role,
                       configured_ids)
    if fmt == "json":
        console.print_json(json.dumps({
            "endpoint": endpoint.label, "read": result.read, "notes": result.notes, "changes": [c.as_dict() for c in result.changes],
            "failures": [{"scope": who, "call": f.call, "kind": f.kind, "missingPermission": f.permission, "message": f.message}
                         for who, f in result.failures],
            "verification": [{"variant": r.variant, "ok": r.ok, "violations": [v.as_dict() for v in r.violations]}
                             for r in result.reports]}, ensure_ascii=False))
    else:
        console.print(f"live state at {endpoint.label}: read {len(result.read)} scope(s) "
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
            names = {inv["id"]: inv["en"] for inv in invariant_catalogue()}
            for v in r.violations:
                console.print(f"\nviolation {v.invariant} ({v.layer} layer): {v.message}\n    {names.get(v.invariant, '')}",
                              markup=False, highlight=False)
                for i, hop in enumerate(v.path, start=1):
                    console.print(f"    {i}. {hop}", markup=False, highlight=False)
    if result.breaks_invariants or result.failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from govcloud.cli.network_cmd import network_app

    dev_app.add_typer(fault_app, name="fault")
    app.add_typer(dev_app, name="dev-cloud")
    app.add_typer(accounts_app, name="accounts")
    app.command("audit")(audit_cmd)
    network_app.command("drift")(drift_cmd)

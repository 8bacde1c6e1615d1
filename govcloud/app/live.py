"""Live services (boto3 at the edge): the local dev cloud, account vending, the live baseline audit
and network drift. Every service takes the resolved endpoint; none prints or exits."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

from govcloud.app.progress import Progress, Step, bracket, counted, ignore
from govcloud.diagnostics import UsageError
from govcloud.live.clients import AUDIT_ROLE, Account, CallFailure, Endpoint
from govcloud.workspace import Workspace


def failure_line(who: str, step: str, failure) -> str:
    """One line for a failed cloud call: who, which call, why, and the missing permission."""
    perm = f"; missing permission {failure.permission}" if failure.permission else ""
    return f"{who}: {failure.call} failed ({failure.kind}{perm}) while reading {step}: {failure.message}"


# --- dev cloud ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DevCloudStart:
    state: dict
    already_running: bool
    ous: int = 0
    seeded: bool = False
    state_file: Path | None = None           # where the running dev cloud is recorded


def start_dev_cloud(ws: Workspace, port: int | None = None, *, seed_fleet: bool = True) -> DevCloudStart:
    """Start the dev cloud (if not running) and seed it with the foundation, the sample tenants and the network."""
    from govcloud.live import devcloud
    from govcloud.live.plans import fleet
    from govcloud.live.seed import seed
    from govcloud.network.pipeline import compile_workspace

    running = devcloud.running_dev_cloud(ws.root)
    if running:
        return DevCloudStart(running, already_running=True, state_file=devcloud.state_file(ws.root))
    reg, plans, tenants = fleet(ws) if seed_fleet else (None, {}, [])
    state = devcloud.start_server(ws.root, port)
    ous = 0
    try:
        if seed_fleet:
            _, compiled = compile_workspace(ws, reg=reg)
            endpoint = Endpoint(state["url"], "ap-northeast-1", None, state["accessKey"], state["secretKey"])
            email_domain = tenants[0]["email"].split("@", 1)[1] if tenants else "gc.example.lg.jp"
            seeded = seed(Account(endpoint), plans, tenants, compiled.files.get("aws-tgw/transit-gateway.json"), email_domain)
            ous = seeded.ous
            state.update(managementAccount=seeded.management_account, networkAccount=seeded.network_account,
                         transitGateway=seeded.transit_gateway, accounts=seeded.accounts)
        devcloud.save_state(ws.root, state)
    except BaseException:
        devcloud.save_state(ws.root, state)
        devcloud.stop(ws.root)
        raise
    return DevCloudStart(state, already_running=False, ous=ous, seeded=seed_fleet, state_file=devcloud.state_file(ws.root))


def running_dev_cloud(ws: Workspace) -> dict:
    from govcloud.live import devcloud

    state = devcloud.running_dev_cloud(ws.root)
    if not state:
        raise UsageError("no dev cloud is running: govcloud dev-cloud start")
    return state


def stop_dev_cloud(ws: Workspace) -> dict | None:
    """Stop the dev cloud; the state it had (None when none was running). Everything in it is gone."""
    from govcloud.live import devcloud

    return devcloud.stop(ws.root)


@dataclass(frozen=True)
class DevCloudStatus:
    state: dict | None                       # None: not running
    faults: list[dict] = field(default_factory=list)
    state_file: Path | None = None

    @property
    def running(self) -> bool:
        return self.state is not None

    @property
    def accounts(self) -> dict[str, str]:
        """tenant -> account id, as seeded or vended."""
        return dict(sorted((self.state or {}).get("accounts", {}).items()))

    def as_json(self) -> dict:
        """What may be shown: everything but the secret key."""
        return {"running": self.running, **{k: v for k, v in (self.state or {}).items() if k != "secretKey"}}


def dev_cloud_status(ws: Workspace) -> DevCloudStatus:
    from govcloud.live import devcloud

    state = devcloud.running_dev_cloud(ws.root)
    return DevCloudStatus(state, devcloud.faults(state["url"]) if state else [], devcloud.state_file(ws.root))


FaultKind = Literal["access-denied", "throttling", "timeout"]


@dataclass(frozen=True)
class FaultRequest:
    call: str                                # as IAM names it: service:Operation or service:*
    error: FaultKind
    account: str | None = None               # None (and no tenant): every account
    tenant: str | None = None                # the dev cloud account of this tenant
    seconds: float = 30.0                    # how long a timeout hangs


@dataclass(frozen=True)
class Fault:
    call: str
    error: FaultKind
    account: str                             # "*": every account


def add_fault(ws: Workspace, request: FaultRequest) -> Fault:
    """Make one call fail in one account of the running dev cloud, the way real accounts fail."""
    from govcloud.live import devcloud

    state = running_dev_cloud(ws)
    account = request.account
    if request.tenant:
        account = state.get("accounts", {}).get(request.tenant)
        if not account:
            raise UsageError(f"the dev cloud has no account for tenant {request.tenant!r}")
    fault = Fault(request.call, request.error, account or "*")
    devcloud.faults(state["url"], "POST", {"call": fault.call, "error": fault.error, "account": fault.account,
                                          "seconds": request.seconds})
    return fault


def list_faults(ws: Workspace) -> list[dict]:
    from govcloud.live import devcloud

    return devcloud.faults(running_dev_cloud(ws)["url"])


def clear_faults(ws: Workspace) -> None:
    from govcloud.live import devcloud

    devcloud.faults(running_dev_cloud(ws)["url"], "DELETE")


@dataclass(frozen=True)
class DevDeployOutcome:
    tenant: str
    account_id: str


def deploy_to_dev_cloud(ws: Workspace, tenant: str) -> DevDeployOutcome:
    """Apply a tenant's planned baseline and network to its account in the dev cloud (what `govcloud
    up` does in real AWS)."""
    from govcloud.live import organization as orgs
    from govcloud.live.clients import resolve_endpoint
    from govcloud.live.plans import fleet
    from govcloud.live.replay import replay_tenant

    state = running_dev_cloud(ws)
    endpoint = resolve_endpoint(ws.root, state["url"], False, None)
    _, _, (t,) = fleet(ws, [tenant])
    mgmt = Account(endpoint)
    found = orgs.find_account(mgmt, t["name"], t["email"])
    if found is None:
        raise UsageError(f"tenant {tenant} has no account yet: govcloud accounts vend {tenant}")
    replay_tenant(mgmt.assume(found["Id"], t["role"]), t["plan"], found["Id"], state.get("managementAccount", ""), t["region"])
    return DevDeployOutcome(tenant, found["Id"])


# --- accounts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendOutcome:
    tenant: str
    account_id: str
    location: str
    steps: list[str]
    baseline_failures: list[str]
    recorded: bool
    document: Path | None = None             # the tenant document the account id is recorded in


def vend_account(ws: Workspace, tenant: str, endpoint: Callable[[], Endpoint]) -> VendOutcome:
    """Create (or find) the tenant's account, quarantine it until its baseline passes, move it into
    its tenant OU, and record the account id. Safe to re-run. ``endpoint`` is resolved only after
    the ledger is known to be intact: a broken workspace is refused before any cloud is chosen."""
    from govcloud.live.accounts import record_account_id, require_recordable, vend
    from govcloud.live.plans import fleet

    require_recordable(ws)    # refuse before anything is created in the cloud if the ledger is broken
    endpoint = endpoint()
    _, _, (t,) = fleet(ws, [tenant])
    try:
        result = vend(Account(endpoint), t)
    except CallFailure as failure:
        raise UsageError(failure_line(tenant, "Organizations", failure)) from None
    recorded = record_account_id(ws, tenant, result.account_id)
    return VendOutcome(tenant, result.account_id, result.location, list(result.steps),
                       [str(f) for f in result.baseline_failures], recorded, ws.active_dir / f"{tenant}.yaml")


# --- audit -------------------------------------------------------------------------------------------------


@dataclass
class AuditOutcome:
    result: object            # govcloud.live.audit.AuditResult
    endpoint: str             # the endpoint's label, for reports

    @property
    def failures(self) -> list[dict]:
        """Tenants that could not be read, one entry per failed call."""
        return [{"tenant": t.tenant, "account": t.account_id, "step": step, "call": f.call, "kind": f.kind,
                 "missingPermission": f.permission, "message": f.message, "controlsNotEvaluated": t.unevaluated}
                for t in self.result.tenants for step, f in t.failures]

    @property
    def passed(self) -> bool:
        return not self.result.run.failures(self.result.controls) and not self.failures

    def as_json(self, lang: str) -> dict:
        from govcloud.policies import report

        doc = json.loads(report.to_json(self.result.run, self.result.controls, lang))
        doc.update(endpoint=self.endpoint, tenants=[{"tenant": t.tenant, "account": t.account_id, "complete": not t.failures}
                                                    for t in self.result.tenants], failures=self.failures)
        return doc

    def as_sarif(self, lang: str) -> dict:
        from govcloud.policies import report

        failures = self.failures
        doc = json.loads(report.to_sarif(self.result.run, self.result.controls, lang))
        doc["runs"][0]["invocations"] = [{"executionSuccessful": not failures, "toolExecutionNotifications": [
            {"level": "error", "message": {"text": failure_line(f["tenant"], f["step"], _Failure(f))}, "properties": f}
            for f in failures]}]
        for res in doc["runs"][0]["results"]:
            for loc in res["locations"]:   # the live resource itself (an ARN is a URI), not a plan file
                loc["physicalLocation"] = {"artifactLocation": {"uri": loc["logicalLocations"][0]["fullyQualifiedName"]}}
        return doc


class _Failure:
    def __init__(self, f: dict):
        self.call, self.kind, self.permission, self.message = f["call"], f["kind"], f["missingPermission"], f["message"]


def audit(ws: Workspace, endpoint: Endpoint, tenants: list[str] | None = None, role: str | None = None,
          *, progress: Progress | None = None) -> AuditOutcome:
    """Read each tenant account's live configuration and judge it with the controls `check` uses.
    ``progress`` hears of each stack planned (``plan``, through the cache) and each tenant account
    read (``audit``)."""
    from govcloud.live.audit import audit_tenants
    from govcloud.live.plans import fleet

    _, _, chosen = fleet(ws, tenants or None, progress=counted(progress, "plan"))
    result = audit_tenants(Account(endpoint), chosen, ws.waivers_file, role=AUDIT_ROLE if role is None else role,
                           progress=counted(progress, "audit"))
    return AuditOutcome(result, endpoint.label)


# --- network drift -----------------------------------------------------------------------------------------


@dataclass
class DriftOutcome:
    result: object            # govcloud.live.drift.DriftResult
    endpoint: str
    invariant_names: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not (self.result.breaks_invariants or self.result.failures)

    def as_json(self) -> dict:
        r = self.result
        return {"endpoint": self.endpoint, "read": r.read, "notes": r.notes, "changes": [c.as_dict() for c in r.changes],
                "failures": [{"scope": who, "call": f.call, "kind": f.kind, "missingPermission": f.permission,
                              "message": f.message} for who, f in r.failures],
                "verification": [{"variant": v.variant, "ok": v.ok, "violations": [x.as_dict() for x in v.violations]}
                                 for v in r.reports]}


def drift(ws: Workspace, endpoint: Endpoint, network_account: str | None = None, role: str | None = None,
          *, progress: Progress | None = None) -> DriftOutcome:
    """Compare live routing and filtering with the compiled intent, and verify the invariants on what runs.
    ``progress`` hears of each stack planned (``plan``), each tenant account looked up (``accounts``),
    the compiled intent (``compile``) and the live read and verification (``live``, not countable)."""
    from govcloud.live import devcloud
    from govcloud.live.drift import drift as read_drift
    from govcloud.live.organization import account_emails, find_account
    from govcloud.live.plans import fleet
    from govcloud.network.intent import invariant_catalogue
    from govcloud.network.pipeline import compile_workspace, write_compiled
    from govcloud.stacks.planner import read_stack_config

    report = progress or ignore
    mgmt = Account(endpoint)
    reg, _, tenants = fleet(ws, progress=counted(progress, "plan"))
    missing = [t for t in tenants if t["accountId"] is None]
    if missing:
        by_email = account_emails(mgmt)     # a failure here stops the command: no tenant can be found
        for done, t in enumerate(missing, start=1):
            found = by_email.get(t["email"].lower()) or find_account(mgmt, t["name"], t["email"])
            t["accountId"] = found["Id"] if found else None
            report(Step("accounts", done, len(missing), t["name"]))
    dev = devcloud.running_dev_cloud(ws.root)
    network_config = read_stack_config(ws, "network")
    network_account = network_account or (dev or {}).get("networkAccount") or network_config.get("govcloud:networkAccountId")
    configured_ids = json.loads(network_config.get("govcloud:attachmentIds") or "{}")
    with tempfile.TemporaryDirectory(prefix="govcloud-compiled-") as tmp:
        compiled_done = bracket(progress, "compile")
        _, compiled = compile_workspace(ws, reg=reg)
        write_compiled(Path(tmp), compiled)
        compiled_done()
        # live/drift.py reads every account and the network in one call: not countable from here.
        live_done = bracket(progress, "live", f"{len(tenants)} tenant(s)")
        result = read_drift(mgmt, tenants, Path(tmp), network_account, endpoint.region,
                            AUDIT_ROLE if role is None else role, configured_ids)
        live_done()
    return DriftOutcome(result, endpoint.label, {inv["id"]: inv["en"] for inv in invariant_catalogue()})

"""`govcloud audit`: the baseline controls over what runs, with the functions `govcloud check` uses
over what was planned.

For each tenant: find its account (status.accountId, else Organizations by email or tag), assume
the read-only audit role there, read the live configuration (live/readers.py) into plan-shaped
resources, and run the engine's `check_plan` over them with the controls the live reads can feed.
One tenant's failure (denied, throttled, timed out) is recorded with the call and the permission
and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from govcloud import yamlio
from govcloud.live.clients import AUDIT_ROLE, Account, CallFailure
from govcloud.live.organization import account_emails, find_account
from govcloud.live.readers import ALLOWED_REGIONS, READERS, LiveAccount, read_account, reader_key
from govcloud.plans import tenant_stack
from govcloud.policies.catalogue import Control, load_controls
from govcloud.policies.engine import CheckRun, check_plan, load_waivers

AUDIT_DATA = Path(__file__).parent / "data" / "audit.yaml"


@dataclass
class TenantAudit:
    tenant: str
    account_id: str | None
    failures: list[tuple[str, CallFailure]] = field(default_factory=list)   # (reader or step, failure)
    unevaluated: list[str] = field(default_factory=list)                    # controls left out by a failure


@dataclass
class AuditResult:
    run: CheckRun
    controls: dict[str, Control]
    tenants: list[TenantAudit]

    @property
    def incomplete(self) -> list[TenantAudit]:
        return [t for t in self.tenants if t.failures]


def audited_controls(controls: dict[str, Control]) -> dict[str, tuple[Control, set[str]]]:
    """Control id -> (control, readers it needs), for every AWS control the live audit can judge."""
    data, _ = yamlio.load_file(AUDIT_DATA)
    produced = {t: name for name, (_, types) in READERS.items() for t in types}
    extra = data.get("resourceControlNeeds") or {}
    out: dict[str, tuple[Control, set[str]]] = {}
    for cid, c in controls.items():
        if c.cloud not in ("aws", "any") or cid in (data.get("skipResourceControls") or []):
            continue
        if c.scope == "stack":
            if cid in data["stackControls"]:
                out[cid] = (c, set(data["stackControls"][cid]))
        elif "*" in c.types:
            out[cid] = (c, set(extra.get(cid) or []))   # judges whatever was read (and what it names in audit.yaml)
        elif c.types and all(t in produced for t in c.types):
            out[cid] = (c, {produced[t] for t in c.types})
    return out


def every_region_controls() -> set[str]:
    data, _ = yamlio.load_file(AUDIT_DATA)
    return set(data.get("everyRegion") or [])


def live_plan(tenant: dict, live: LiveAccount, region: str | None = None) -> dict:
    """A plan document of one region of the live account, so the engine judges it like a plan.
    The home region's carries the account's global resources too; its stack URN names the region,
    so a stack control's finding says where (live:aws:<account>:<region>)."""
    region = region or live.region
    stack_urn = f"live:aws:{live.account_id}:{region}"
    resources = [{k: v for k, v in r.items() if k != "_region"} for r in live.in_region(region)]
    return {"govcloud": {"stack": tenant_stack(tenant["name"]), "tenant": tenant["name"], "zone": tenant["zone"], "cloud": "aws"},
            "deployment": {"resources": [{"urn": stack_urn, "type": "pulumi:pulumi:Stack", "custom": False, "inputs": {}},
                                         *resources]}}


def region_controls(audited: dict[str, tuple[Control, set[str]]], live: LiveAccount, region: str,
                    every_region: set[str]) -> tuple[dict[str, Control], set[str]]:
    """The controls judged on one region's plan, and those left unevaluated there because a read
    they need failed (in this region, or a global one). A control is never judged on a partial read."""
    home = region == live.region
    failed = set(live.failures)
    out, unevaluated = {}, set()
    for cid, (control, needs) in audited.items():
        if control.scope == "stack" and not home and cid not in every_region:
            continue
        keys = {reader_key(n, region if READERS[n].scope == "regional" else None) for n in needs}
        if keys & failed:
            unevaluated.add(cid)
        else:
            out[cid] = control
    return out, unevaluated


def audit_tenants(mgmt: Account, tenants: list[dict], waivers_file: Path | None, today=None,
                  role: str = AUDIT_ROLE, workers: int = 8,
                  progress: Callable[[int, int], None] | None = None) -> AuditResult:
    """tenants: {"name", "zone", "region", "accountId" (or None), "email"} for each AWS tenant.

    Accounts are resolved first, in this thread (one Organizations listing for all). Then each
    tenant's account is read in a pool of threads, each with its own boto3 session (sessions are
    not thread-safe; the adaptive retry mode paces each client). Judging happens in order, so
    the report does not depend on timing. ``progress(done, total)`` is called in this thread as
    each tenant's account has been read."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor, as_completed

    controls = load_controls()
    audited = audited_controls(controls)
    waivers, notes = load_waivers(waivers_file, controls, today or dt.date.today()) if waivers_file else ([], [])
    results = [TenantAudit(t["name"], t.get("accountId")) for t in tenants]
    by_email = None
    for tenant, result in zip(tenants, results):
        if result.account_id is not None:
            continue
        try:
            if by_email is None:
                by_email = account_emails(mgmt)
            found = by_email.get(tenant["email"].lower()) or find_account(mgmt, tenant["name"], tenant["email"])
            if found is None:
                raise CallFailure("organizations:ListAccounts", "not-found",
                                  f"no account for tenant {tenant['name']} (vend it: govcloud accounts vend {tenant['name']})")
            result.account_id = found["Id"]
        except CallFailure as failure:
            result.failures.append(("account", failure))

    def read(pair: tuple[dict, TenantAudit]) -> LiveAccount | None:
        tenant, result = pair
        if result.failures:
            return None
        try:
            acct = mgmt.assume(result.account_id, role) if role else Account(mgmt.endpoint)
            acct.session  # noqa: B018 - assume the role now: a denied AssumeRole fails the tenant, not each reader
        except CallFailure as failure:
            result.failures.append(("account", failure))
            return None
        regions = tuple(dict.fromkeys((tenant["region"], *ALLOWED_REGIONS)))   # home first
        return read_account(acct, result.account_id, tenant["region"], regions=regions, mgmt=mgmt)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tenants)))) as pool:
        futures = [pool.submit(read, pair) for pair in zip(tenants, results)]
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress:
                progress(done, len(futures))
        lives = [future.result() for future in futures]   # in order; the first error, if any, is raised
    every_region = every_region_controls()
    run = CheckRun(waiver_notes=notes)
    for tenant, result, live in zip(tenants, results, lives):
        if live is None:
            result.unevaluated = sorted(audited)
            continue
        result.failures.extend(sorted(live.failures.items()))
        unevaluated: set[str] = set()
        for region in live.regions:
            usable, left = region_controls(audited, live, region, every_region)
            unevaluated |= left
            check_plan(live_plan(tenant, live, region), usable, waivers, run)
        result.unevaluated = sorted(unevaluated)
    run.stacks = list(dict.fromkeys(run.stacks))   # one stack per tenant, however many regions were judged
    run.findings.sort(key=lambda f: (f.stack, f.control, f.resource, f.message))
    return AuditResult(run, {cid: c for cid, (c, _) in audited.items()}, results)

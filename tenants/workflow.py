"""Onboarding: request → approvals → tenants. The only module here that writes files.

Approvals are history events bound to the SHA-256 digest of the request's content, so editing a
request after approval silently voids the approvals instead of carrying them over.
Every state change runs under the workspace lock (an interrupted transaction is finished or undone
first), re-reads the workspace inside it, refuses unless the ledger is intact
(:func:`govcloud.tenants.ledger.require_intact`: chain, anchors, address plan) and commits all its
files as one journalled transaction (:meth:`govcloud.workspace.Workspace.commit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from govcloud import yamlio
from govcloud.diagnostics import Collector, DiagnosticError, UsageError
from govcloud.tenants import documents, history, ipam, ledger, rules
from govcloud.tenants.catalogue import Catalogue, load_catalogue
from govcloud.tenants.identity import person_key, same_person
from govcloud.tenants.models import (
    AddressPlan,
    Municipality,
    Tenant,
    TenantNetwork,
    TenantRequest,
    TenantSpec,
    TenantStatus,
    Vendor,
)
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace

ROLES = ("platform", "municipality")
SCHEMA_MODELINE = "# yaml-language-server: $schema=../schemas/{kind}.schema.json\n"


@dataclass(frozen=True)
class ValidatedRequest:
    path: Path
    request: TenantRequest
    digest: str
    planned: list[rules.PlannedTenant]
    plan: AddressPlan | None
    source: Collector


request_digest = ledger.request_digest


def validate_request(path: Path, reg: Registry, cat: Catalogue | None = None) -> ValidatedRequest:
    cat = cat or load_catalogue()
    req, src = documents.parse(path, TenantRequest)
    try:
        planned, plan = rules.check_request(req, src, cat, reg)
    except (AttributeError, TypeError, KeyError, ValueError):
        if not src.errors:
            raise
        # A rule tripped over a field already reported as malformed: report what we have.
        planned, plan = [], None
    # The allocator sees only the address plan; never hand out a range a tenant document holds,
    # even when the plan was edited by hand (writes refuse such a workspace before they get here).
    held = [(ipam.parse_cidr(t.spec.network.cidr), t.name) for t in reg.tenants.values()]
    for p in planned:
        clash = sorted(name for net, name in held if net.overlaps(ipam.parse_cidr(p.cidr)))
        if clash:
            src.add("GC302", f"{p.name} would get {p.cidr}, which overlaps tenant {', '.join(clash)}: the address "
                             "plan and the tenant documents disagree (run govcloud validate)", ("spec", "environments"))
    src.raise_if_errors()
    return ValidatedRequest(path, req, request_digest(req), planned, plan, src)


def validate_workspace(ws: Workspace) -> Registry:
    """Every document in the workspace, all rules; raises with every problem found
    (see govcloud.tenants.validation)."""
    from govcloud.tenants.validation import validate_workspace as validate_all

    return validate_all(ws).registry


# --- approvals ------------------------------------------------------------------------------------


def approvals(hist: history.History, request: str, digest: str) -> list[dict]:
    """Approvals of exactly this request name and digest. ``hist`` must be the verified chain
    (``ledger.require_intact``): an entry counts only as a genuine, linked entry of it."""
    return [e["data"] for e in hist.events("request.approved")
            if e["data"]["request"] == request and e["data"]["digest"] == digest]


def missing_approvals(req: TenantRequest, digest: str, hist: history.History) -> list[str]:
    got = approvals(hist, req.metadata.name, digest)
    missing = []
    if not any(a["role"] == "platform" for a in got):
        missing.append("platform")
    approved_munis = {a.get("municipality") for a in got if a["role"] == "municipality"}
    missing += [f"municipality {code}" for code in req.spec.municipalities if code not in approved_munis]
    return missing


def _refuse_applied_name(ws: Workspace, hist: history.History, name: str) -> None:
    """A request name is used once: reusing it would overwrite the applied record of another."""
    entry = ledger.applied_requests(hist).get(name)
    record = ws.requests_dir / "applied" / f"{name}.yaml"
    if entry is not None or record.exists():
        where = f"history entry #{entry['seq']}" if entry else ws.relative(record)
        raise UsageError(f"a request named {name} was already applied ({where}); "
                         "give the new request another metadata.name")


def approve(ws: Workspace, path: Path, *, by: str, role: str, municipality: str | None = None) -> dict:
    if role not in ROLES:
        raise UsageError(f"--role must be one of {', '.join(ROLES)}")
    if not person_key(by):
        raise UsageError("--by must name the approver")
    with ws.locked():
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        checked = validate_request(path, reg)
        req = checked.request
        _refuse_applied_name(ws, hist, req.metadata.name)
        if role == "municipality":
            if municipality is None:
                if len(req.spec.municipalities) != 1:
                    raise UsageError(f"this request serves {len(req.spec.municipalities)} municipalities; "
                                     f"say which one approves with --municipality CODE")
                municipality = req.spec.municipalities[0]
            if municipality not in req.spec.municipalities:
                raise UsageError(f"municipality {municipality} is not listed in request {req.metadata.name}")
        elif municipality is not None:
            raise UsageError("--municipality goes with --role municipality")
        for prior in approvals(hist, req.metadata.name, checked.digest):
            if prior["role"] == role and prior.get("municipality") == municipality:
                raise UsageError(f"request {req.metadata.name} already has this approval (by {prior['by']})")
            if same_person(prior["by"], by) and prior["role"] != role:
                raise UsageError(f"{by} already approved as {prior['role']}; the platform and municipality "
                                 f"approvals must come from different people")
        data = {"request": req.metadata.name, "digest": checked.digest, "role": role, "by": by}
        if municipality:
            data["municipality"] = municipality
        hist, entry = hist.with_event("request.approved", by, data)
        writes: dict[Path, str | None] = {ws.history_file: hist.render()}
        if reg.plan is not None:
            writes[ws.ipam_file] = render_plan(ipam.with_history_head(reg.plan, hist.head), ws)
        ws.commit(writes)
        return entry


# --- apply / remove ------------------------------------------------------------------------------------


def apply(ws: Workspace, path: Path, *, actor: str) -> list[Tenant]:
    with ws.locked():
        # Re-read inside the lock: a concurrent apply may have allocated since we were started.
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        checked = validate_request(path, reg)
        req = checked.request
        _refuse_applied_name(ws, hist, req.metadata.name)
        missing = missing_approvals(req, checked.digest, hist)
        if missing:
            raise UsageError(f"request {req.metadata.name} ({checked.digest[:19]}…) is not approved by: "
                             f"{', '.join(missing)}. Run: govcloud request approve {path} --by NAME --role …")
        if checked.plan is None:
            raise UsageError("the address plan tenants/ipam.yaml is missing")
        _refuse_held_ranges(reg, checked.planned)
        hist, entry = hist.with_event("request.applied", actor, {
            "request": req.metadata.name, "digest": checked.digest,
            "tenants": {p.name: p.cidr for p in checked.planned},
        })
        tenants = [build_tenant(req, checked.digest, p, entry["hash"], entry["time"]) for p in checked.planned]
        writes: dict[Path, str | None] = {ws.active_dir / f"{t.name}.yaml": render_document(t) for t in tenants}
        writes[ws.requests_dir / "applied" / f"{req.metadata.name}.yaml"] = path.read_text(encoding="utf-8")
        writes[ws.ipam_file] = render_plan(ipam.with_history_head(checked.plan, hist.head), ws)
        writes[ws.history_file] = hist.render()
        ws.commit(writes)
        return tenants


def _refuse_held_ranges(reg: Registry, planned: list[rules.PlannedTenant]) -> None:
    """Second line of defence behind the ledger check: no new range overlaps a tenant document's."""
    held = [(ipam.parse_cidr(t.spec.network.cidr), t.name) for t in reg.tenants.values()]
    for p in planned:
        net = ipam.parse_cidr(p.cidr)
        clash = sorted(name for other, name in held if other.overlaps(net))
        if clash:
            raise UsageError(f"refusing to allocate {net} to {p.name}: tenant {', '.join(clash)} holds an "
                             "overlapping range (the address plan and the tenant documents disagree)")


def remove(ws: Workspace, name: str, *, actor: str) -> Tenant:
    with ws.locked():
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        tenant = reg.tenants.get(name)
        if tenant is None:
            raise UsageError(f"no tenant named {name}; see govcloud tenant list")
        consumers = sorted(
            t.name for t in reg.tenants.values()
            if t.spec.environment == tenant.spec.environment
            and any(c.tenant == tenant.base_name for c in t.spec.apis.consumes)
        )
        if consumers:
            raise UsageError(f"tenant {name} publishes APIs that {', '.join(consumers)} consume; remove those first")
        assert reg.plan is not None
        plan = ipam.release(reg.plan, name)
        hist, _ = hist.with_event("tenant.removed", actor, {
            "tenant": name, "cidr": tenant.spec.network.cidr, "request": tenant.spec.request,
        })
        ws.commit({
            ws.active_dir / f"{name}.yaml": None,
            ws.ipam_file: render_plan(ipam.with_history_head(plan, hist.head), ws),
            ws.history_file: hist.render(),
        })
        return tenant


def record_account(ws: Workspace, name: str, account_id: str, *, actor: str) -> bool:
    """Record a vended account id in the tenant's document (through the Tenant model) and as a
    ``tenant.account-recorded`` history event, in one transaction. False when already recorded."""
    with ws.locked():
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        tenant = reg.tenants.get(name)
        if tenant is None or tenant.status is None:
            raise UsageError(f"no tenant named {name}; see govcloud tenant list")
        current = tenant.status.account_id
        if current == account_id:
            return False
        if current is not None:
            raise UsageError(f"tenants/active/{name}.yaml: status.accountId is {current}, but Organizations has "
                             f"tenant {name} in {account_id}; resolve by hand before vending again")
        hist, _ = hist.with_event("tenant.account-recorded", actor, {"tenant": name, "accountId": account_id})
        status = tenant.status.model_copy(update={"account_id": account_id})
        updated = tenant.model_copy(update={"status": status})
        writes: dict[Path, str | None] = {
            ws.active_dir / f"{name}.yaml": render_document(updated),
            ws.history_file: hist.render(),
        }
        if reg.plan is not None:
            writes[ws.ipam_file] = render_plan(ipam.with_history_head(reg.plan, hist.head), ws)
        ws.commit(writes)
        return True


def build_tenant(req: TenantRequest, digest: str, planned: rules.PlannedTenant, entry: str, time: str) -> Tenant:
    spec = req.spec
    cat = load_catalogue()
    zone = rules.effective_zone(req, cat)
    return Tenant(
        api_version="govcloud/v1",
        kind="Tenant",
        metadata={"name": planned.name, "labels": {
            "vendor": spec.vendor, "system": spec.system, "zone": zone or "", "environment": planned.environment,
            "cloud": spec.cloud, "usage": spec.usage,
        }},
        spec=TenantSpec(
            request=req.metadata.name, vendor=spec.vendor, system=spec.system, usage=spec.usage,
            municipalities=list(spec.municipalities), cloud=spec.cloud, region=spec.region,
            environment=planned.environment, zone=zone or "", network=TenantNetwork(cidr=planned.cidr),
            apis=spec.apis,
        ),
        status=TenantStatus(request_digest=digest, applied_at=time, history_entry=entry),
    )


def render_document(doc: Tenant | Municipality | Vendor | TenantRequest) -> str:
    data = doc.model_dump(mode="json", by_alias=True, exclude_none=True)
    header = SCHEMA_MODELINE.format(kind=doc.kind.lower())
    return yamlio.dump(data, header=header)


PLAN_HEADER = ("# yaml-language-server: $schema=schemas/addressplan.schema.json\n"
               "# The IP address plan. Edit spec.pools; status is written by `govcloud request apply` and\n"
               "# `govcloud tenant remove` under the workspace lock (comments are kept).\n")


def render_plan(plan: AddressPlan, ws: Workspace | None = None) -> str:
    """The address plan as file text: written into the current ``tenants/ipam.yaml`` of ``ws``
    when there is one, so its comments survive."""
    original = ws.ipam_file.read_text(encoding="utf-8") if ws is not None and ws.ipam_file.exists() else None
    return ipam.render_plan(plan, original, PLAN_HEADER)

"""Onboarding: request → approvals → tenants. The only module here that writes files.

Approvals are history events bound to the SHA-256 digest of the request's content, so editing a
request after approval silently voids the approvals instead of carrying them over.
Every state change runs under the workspace lock, re-reads the workspace inside it and commits
all files in one staged step.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from govcloud import yamlio
from govcloud.diagnostics import Collector, DiagnosticError, UsageError
from govcloud.fsio import commit_files, workspace_lock
from govcloud.tenants import documents, history, ipam, rules
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


def request_digest(req: TenantRequest) -> str:
    body = req.model_dump(mode="json", by_alias=True, include={"metadata", "spec"})
    return "sha256:" + hashlib.sha256(history.canonical(body).encode("utf-8")).hexdigest()


def validate_request(path: Path, reg: Registry, cat: Catalogue | None = None) -> ValidatedRequest:
    cat = cat or load_catalogue()
    req, src = documents.parse(path, TenantRequest)
    try:
        planned, plan = rules.check_request(req, src, cat, reg)
    except (AttributeError, TypeError, KeyError, ValueError):
        if not src.errors:
            raise
        # A rule tripped over a field already reported as malformed: report what we have.
    src.raise_if_errors()
    return ValidatedRequest(path, req, request_digest(req), planned, plan, src)


def validate_workspace(ws: Workspace) -> Registry:
    """Every document in the workspace, all rules; raises with every problem found
    (see govcloud.tenants.validation)."""
    from govcloud.tenants.validation import validate_workspace as validate_all

    return validate_all(ws).registry


# --- approvals ------------------------------------------------------------------------------------


def approvals(hist: history.History, request: str, digest: str) -> list[dict]:
    return [e["data"] for e in hist.events("request.approved")
            if e["data"].get("request") == request and e["data"].get("digest") == digest]


def missing_approvals(req: TenantRequest, digest: str, hist: history.History) -> list[str]:
    got = approvals(hist, req.metadata.name, digest)
    missing = []
    if not any(a["role"] == "platform" for a in got):
        missing.append("platform")
    approved_munis = {a.get("municipality") for a in got if a["role"] == "municipality"}
    missing += [f"municipality {code}" for code in req.spec.municipalities if code not in approved_munis]
    return missing


def approve(ws: Workspace, path: Path, *, by: str, role: str, municipality: str | None = None) -> dict:
    if role not in ROLES:
        raise UsageError(f"--role must be one of {', '.join(ROLES)}")
    if not person_key(by):
        raise UsageError("--by must name the approver")
    with workspace_lock(ws.lock_file):
        reg = load_registry(ws)
        checked = validate_request(path, reg)
        req = checked.request
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
        hist = history.read(ws.history_file)
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
        writes = {ws.history_file: hist.render()}
        if reg.plan is not None:
            writes[ws.ipam_file] = render_plan(ipam.with_history_head(reg.plan, hist.head))
        commit_files(writes)
        return entry


# --- apply / remove ------------------------------------------------------------------------------------


def apply(ws: Workspace, path: Path, *, actor: str) -> list[Tenant]:
    with workspace_lock(ws.lock_file):
        # Re-read inside the lock: a concurrent apply may have allocated since we were started.
        reg = load_registry(ws)
        checked = validate_request(path, reg)
        req = checked.request
        hist = history.read(ws.history_file)
        missing = missing_approvals(req, checked.digest, hist)
        if missing:
            raise UsageError(f"request {req.metadata.name} ({checked.digest[:19]}…) is not approved by: "
                             f"{', '.join(missing)}. Run: govcloud request approve {path} --by NAME --role …")
        assert checked.plan is not None
        names = [p.name for p in checked.planned]
        hist, entry = hist.with_event("request.applied", actor, {
            "request": req.metadata.name, "digest": checked.digest,
            "tenants": {p.name: p.cidr for p in checked.planned},
        })
        tenants = [build_tenant(req, checked.digest, p, entry["hash"], entry["time"]) for p in checked.planned]
        writes: dict[Path, str | None] = {ws.active_dir / f"{t.name}.yaml": render_document(t) for t in tenants}
        writes[ws.requests_dir / "applied" / f"{req.metadata.name}.yaml"] = path.read_text(encoding="utf-8")
        writes[ws.ipam_file] = render_plan(ipam.with_history_head(checked.plan, hist.head))
        writes[ws.history_file] = hist.render()
        commit_files(writes)
        assert len(names) == len(tenants)
        return tenants


def remove(ws: Workspace, name: str, *, actor: str) -> Tenant:
    with workspace_lock(ws.lock_file):
        reg = load_registry(ws)
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
        hist, _ = history.read(ws.history_file).with_event("tenant.removed", actor, {
            "tenant": name, "cidr": tenant.spec.network.cidr, "request": tenant.spec.request,
        })
        commit_files({
            ws.active_dir / f"{name}.yaml": None,
            ws.ipam_file: render_plan(ipam.with_history_head(plan, hist.head)),
            ws.history_file: hist.render(),
        })
        return tenant


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


def render_plan(plan: AddressPlan) -> str:
    data = plan.model_dump(mode="json", by_alias=True, exclude_none=True)
    header = ("# yaml-language-server: $schema=schemas/addressplan.schema.json\n"
              "# The IP address plan. Edit spec.pools; status is written by `govcloud request apply` and\n"
              "# `govcloud tenant remove` under the workspace lock (comments are not preserved).\n")
    return yamlio.dump(data, header=header)

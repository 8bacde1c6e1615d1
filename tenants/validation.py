"""`govcloud validate`: every document of the workspace, every rule, every problem in one pass.

Reads every kind the workspace holds — municipalities, vendors, tenants, the address plan, the
applied request records, the network exceptions (tenants/network-exceptions.yaml) and the policy
waivers (policies/waivers.yaml) — and runs the per-document rules and the rules across documents.
A document with shape errors is still checked by every rule that does not need its broken
fields, so one run reports everything (DESIGN.md §4: fail closed, and say everything at once).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field

from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError
from govcloud.tenants import documents, rules
from govcloud.tenants.catalogue import Catalogue, load_catalogue
from govcloud.tenants.models import Municipality, Tenant, TenantRequest, Vendor
from govcloud.tenants.registry import Registry, collect_workspace
from govcloud.workspace import Workspace

EXCEPTIONS_FILE = "network-exceptions.yaml"


@dataclass
class WorkspaceReport:
    registry: Registry
    warnings: list[Diagnostic] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def validate_workspace(ws: Workspace, today: dt.date | None = None) -> WorkspaceReport:
    """Raises DiagnosticError with every problem (errors and warnings) when there is an error."""
    today = today or dt.date.today()
    cat = load_catalogue()
    loaded = collect_workspace(ws)
    reg = loaded.registry
    problems: list[Diagnostic] = list(loaded.problems)
    collectors: list[Collector] = []

    for key, src in reg.sources.items():
        kind, _, name = key.partition("/")
        if kind == "Municipality":
            rules.check_municipality(reg.municipalities[name], src, cat, reg.vendors)
        elif kind == "Vendor":
            rules.check_vendor(reg.vendors[name], src)
        elif kind == "Tenant":
            rules.check_tenant(reg.tenants[name], src, cat, reg, today)
        elif kind == "AddressPlan" and reg.plan is not None:
            rules.check_plan(reg.plan, src, cat)
    for doc, src in loaded.broken:
        _check_broken(doc, src, cat, reg, today)
        collectors.append(src)
    site_sources = dict(reg.sources)
    rules.check_sites(reg, site_sources)
    collectors += list(site_sources.values())
    collectors += check_applied_records(ws, reg, problems)
    collectors += check_network_exceptions(ws, reg, cat, today, problems)
    collectors += check_waivers(ws, reg, today, problems)
    # The ledger (tenants/ledger.py): the history chain and its anchors, and allocations against
    # tenant documents (exact agreement, no overlap).
    from govcloud.tenants import ledger

    problems.extend(ledger.problems(ws, reg)[1])

    items = problems + [d for src in _unique(collectors) for d in src.items]
    if any(d.severity == "error" for d in items):
        raise DiagnosticError(items)
    counts = {"municipalities": len(reg.municipalities), "vendors": len(reg.vendors), "tenants": len(reg.tenants),
              "address pools": len(reg.plan.spec.pools) if reg.plan else 0}
    return WorkspaceReport(reg, sorted(items), counts)


def _unique(collectors: list[Collector]) -> list[Collector]:
    seen, out = set(), []
    for src in collectors:
        if id(src) not in seen:
            seen.add(id(src))
            out.append(src)
    return out


def _check_broken(doc, src: Collector, cat: Catalogue, reg: Registry, today: dt.date) -> None:
    """Per-document rules on a document that has shape errors (its broken fields are empty and
    already reported). A rule that still trips over an empty field adds nothing: the document
    fails anyway, so skipping cannot turn a failure into a pass."""
    try:
        if isinstance(doc, Municipality):
            rules.check_municipality(doc, src, cat, reg.vendors)
        elif isinstance(doc, Vendor):
            rules.check_vendor(doc, src)
        elif isinstance(doc, Tenant):
            rules.check_tenant(doc, src, cat, reg, today)
    except (AttributeError, TypeError, KeyError, ValueError):
        assert src.errors  # only documents that already failed get here


def check_address_plan_agreement(reg: Registry, src: Collector) -> None:
    """Hook for the rule "allocations and tenant documents agree exactly and never overlap" (the
    address-plan ledger work of issue 11 extends it). Today: every tenant has an allocation and
    every allocation a tenant."""
    assert reg.plan is not None
    allocated = {a.tenant for a in reg.plan.status.allocations}
    for name in sorted(set(reg.tenants) - allocated):
        src.add("GC307", f"tenant {name} has no allocation in the address plan", ("status", "allocations"))
    for name in sorted(allocated - set(reg.tenants)):
        src.add("GC307", f"allocation for {name}, which is not a tenant (tenants/active/{name}.yaml is missing)",
                ("status", "allocations"))


def check_applied_records(ws: Workspace, reg: Registry, problems: list[Diagnostic]) -> list[Collector]:
    """Names are unique across the active tenants and the applied request records: a record's
    file is named after its request, no tenant name is claimed by two records, and every tenant
    names the record it was created from, which claims it."""
    folder = ws.requests_dir / "applied"
    claims: dict[str, str] = {}              # tenant name -> request that creates it
    records: dict[str, TenantRequest] = {}
    out: list[Collector] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            req, src = documents.parse(path, TenantRequest)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            continue
        out.append(src)
        name = req.metadata.name
        if name is None:
            continue
        if path.stem != name:
            src.add("GC105", f"an applied record is named after its request: {name}.yaml", ("metadata", "name"))
            continue
        records[name] = req
        if req.spec.municipalities and req.spec.system and req.spec.usage:
            for i, env in enumerate(req.spec.environments):
                tenant = rules.tenant_name(req, env)
                if tenant in claims:
                    src.add("GC403", f"tenant {tenant} is also created by applied request {claims[tenant]}; "
                                     f"a name belongs to one request", ("spec", "environments", i))
                claims.setdefault(tenant, name)
    for tenant in sorted(reg.tenants.values(), key=lambda t: t.name):
        src = reg.sources.get(f"Tenant/{tenant.name}") or Collector(ws.active_dir / f"{tenant.name}.yaml")
        request = tenant.spec.request
        if request not in records:
            src.add("GC403", f"tenant {tenant.name} was created by request {request!r}, but there is no applied record "
                             f"tenants/requests/applied/{request}.yaml", ("spec", "request"))
        elif claims.get(tenant.name) != request:
            src.add("GC403", f"applied request {request} does not create tenant {tenant.name}"
                             + (f" (request {claims[tenant.name]} does)" if tenant.name in claims else ""), ("spec", "request"))
        out.append(src)
    return out


def check_network_exceptions(ws: Workspace, reg: Registry, cat: Catalogue, today: dt.date,
                             problems: list[Diagnostic]) -> list[Collector]:
    from govcloud.network.intent import NetworkExceptions, build_intent

    path = ws.tenants_dir / EXCEPTIONS_FILE
    if not path.exists():
        return []
    try:
        doc, src = documents.parse(path, NetworkExceptions)
    except DiagnosticError as exc:
        problems.extend(exc.diagnostics)
        return []
    exceptions = list(doc.spec.exceptions) if doc.spec is not None and doc.spec.exceptions else []
    typed = not src.errors
    ids: dict[str, int] = {}
    for i, exc in enumerate(exceptions):
        loc = ("spec", "exceptions", i)
        if exc.id in ids:
            src.add("GC703", f"exception id {exc.id!r} is used twice (first at entry {ids[exc.id]})", loc + ("id",))
        ids.setdefault(exc.id, i)
        if exc.expires is not None and exc.expired(today):
            src.add("GC704", f"exception {exc.id} expired on {exc.expires} and no longer applies", loc + ("expires",),
                    severity="warning")
        if exc.source is None:
            continue
        if exc.source.zone is not None and exc.source.zone not in cat.zones:
            src.add("GC207", f"unknown zone {exc.source.zone!r}", loc + ("from", "zone"))
        for j, cidr in enumerate(exc.source.cidrs or []):
            try:
                rules.ipam.parse_cidr(cidr)
            except rules.ipam.AddressPlanError as error:
                src.add("GC101", str(error), loc + ("from", "cidrs", j))
    if typed:  # the references need whole entries
        try:
            build_intent(reg, exceptions, today=today, source=src)
        except DiagnosticError as exc:
            problems.extend(d for d in exc.diagnostics if d not in src.items)
    return [src]


def check_waivers(ws: Workspace, reg: Registry, today: dt.date, problems: list[Diagnostic]) -> list[Collector]:
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import Waivers, waiver_problems

    path = ws.root / "policies" / "waivers.yaml"
    if not path.exists():
        return []
    try:
        doc, src = documents.parse(path, Waivers)
    except DiagnosticError as exc:
        problems.extend(exc.diagnostics)
        return []
    waiver_problems(doc, src, load_controls(), today, strict=True)
    for i, waiver in enumerate(doc.spec.waivers or []):
        if waiver.tenant is not None and not any(fnmatch.fnmatchcase(name, waiver.tenant) for name in reg.tenants):
            src.add("GC803", f"waiver for {waiver.control} names tenant {waiver.tenant!r}, which matches no tenant",
                    ("spec", "waivers", i, "tenant"), severity="warning")
    return [src]

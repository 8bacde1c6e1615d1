"""`govcloud validate`: every document of the workspace, every rule, every problem in one pass.

Reads every kind the workspace holds — municipalities, vendors, tenants, the address plan, the
principals, the applied request records, and (through checks the application layer passes in,
govcloud.app.validate) the network exceptions and the policy waivers — and runs the per-document rules and the rules across documents.
A document with shape errors is still checked by every rule that does not need its broken
fields, so one run reports everything (DESIGN.md §4: fail closed, and say everything at once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Sequence

from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError
from govcloud.tenants import documents, rules
from govcloud.tenants.catalogue import Catalogue, load_catalogue
from govcloud.tenants.models import Municipality, Tenant, TenantRequest, Vendor
from govcloud.tenants.registry import Registry, collect_workspace
from govcloud.workspace import Workspace

@dataclass
class WorkspaceReport:
    registry: Registry
    warnings: list[Diagnostic] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# A check of a document other layers own (network exceptions, policy waivers): given the workspace,
# the registry, the catalogue and the date, it appends what cannot be read to ``problems`` and
# returns the collectors holding its diagnostics. The application layer supplies them
# (govcloud.app.validate), so this layer never imports the network or the policies.
ExtraCheck = Callable[[Workspace, Registry, Catalogue, dt.date, list[Diagnostic]], list[Collector]]


def validate_workspace(ws: Workspace, today: dt.date | None = None,
                       extra_checks: Sequence[ExtraCheck] = ()) -> WorkspaceReport:
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
        elif kind == "Principals" and reg.principals is not None:
            check_principals(reg, src)
    for doc, src in loaded.broken:
        _check_broken(doc, src, cat, reg, today)
        collectors.append(src)
    site_sources = dict(reg.sources)
    rules.check_sites(reg, site_sources)
    collectors += list(site_sources.values())
    collectors += check_applied_records(ws, reg, problems)
    for extra in extra_checks:
        collectors += extra(ws, reg, cat, today, problems)
    # The ledger (tenants/ledger.py): the history chain and its anchors, and allocations against
    # tenant documents (exact agreement, no overlap).
    from govcloud.tenants import ledger

    problems.extend(ledger.problems(ws, reg)[1])

    items = problems + [d for src in _unique(collectors) for d in src.items]
    if any(d.severity == "error" for d in items):
        raise DiagnosticError(items)
    counts = {"municipalities": len(reg.municipalities), "vendors": len(reg.vendors), "tenants": len(reg.tenants),
              "address pools": len(reg.plan.spec.pools) if reg.plan else 0,
              "principals": len(reg.principals.spec.principals) if reg.principals else 0}
    return WorkspaceReport(reg, sorted(items), counts)


def check_principals(reg: Registry, src: Collector) -> None:
    """The rules across principals (govcloud.tenants.principals.problems), and a warning for every
    published sample key: anyone can sign with those."""
    from govcloud.tenants.principals import SAMPLE_MARK, problems as principal_problems

    doc = reg.principals
    for loc, code, message in principal_problems(doc, vendors=reg.vendors, municipalities=reg.municipalities):
        src.add(code, message, loc)
    sampled = [p.id for p in doc.spec.principals if any(SAMPLE_MARK in k for k in p.ssh_keys)]
    sampled += [f"service key {s.id}" for s in doc.spec.service_keys if SAMPLE_MARK in s.public_key]
    if sampled:
        src.add("GC606", f"{len(sampled)} keys are published sample keys (samples/keys/: anyone can sign with them): "
                         f"{', '.join(sampled)}. Replace them before real use", ("spec",), severity="warning")


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
    # (document_files' problems for this folder are reported once, by the ledger's check)
    for path in documents.document_files(folder, ws.root)[0]:
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

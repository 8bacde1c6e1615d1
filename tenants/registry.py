"""The workspace's documents loaded into one value: municipalities, vendors, tenants, address plan.

Loading reports every broken document at once (with its own file and line). Everything else in
govcloud takes a Registry and never reads the tenants folder itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError
from govcloud.tenants import documents
from govcloud.tenants.models import AddressPlan, Municipality, Principals, Tenant, Vendor
from govcloud.workspace import Workspace


@dataclass(frozen=True)
class Registry:
    municipalities: dict[str, Municipality]
    vendors: dict[str, Vendor]
    tenants: dict[str, Tenant]
    plan: AddressPlan | None
    sources: dict[str, Collector] = field(default_factory=dict, compare=False)
    # Keyword-only: a positional caller cannot put one in the other's place.
    principals: Principals | None = field(default=None, kw_only=True)
    # "Kind/name" of documents present but unreadable (their errors are reported with them), so a
    # rule elsewhere does not also call them missing.
    unreadable: frozenset[str] = field(default_factory=frozenset, compare=False, kw_only=True)

    def tenants_by_base(self) -> dict[str, dict[str, Tenant]]:
        """{base name: {environment: tenant}} for resolving ``apis.consumes``."""
        out: dict[str, dict[str, Tenant]] = {}
        for tenant in self.tenants.values():
            out.setdefault(tenant.base_name, {})[tenant.spec.environment] = tenant
        return out




@dataclass
class LoadedWorkspace:
    """Everything readable in the workspace, including what is broken: ``registry`` holds the
    documents that parsed cleanly; ``broken`` the documents with shape errors, built without their
    broken fields (their collectors hold the errors), so validation can still run every other
    rule on them; ``problems`` the files that could not be read at all."""

    registry: Registry
    broken: list[tuple[object, Collector]]
    problems: list[Diagnostic]


def collect_workspace(ws: Workspace, *, require_plan: bool = True) -> LoadedWorkspace:
    problems: list[Diagnostic] = []
    broken: list[tuple[object, Collector]] = []
    sources: dict[str, Collector] = {}

    listed: dict[Path, list[Path]] = {}

    def files_of(folder: Path) -> list[Path]:
        if folder not in listed:
            listed[folder], found = documents.document_files(folder, ws.root)
            problems.extend(found)
        return listed[folder]

    def load(folder: Path, model) -> list[tuple]:
        good = []
        for path in files_of(folder):
            try:
                doc, src = documents.parse(path, model)
            except DiagnosticError as exc:
                problems.extend(exc.diagnostics)
                continue
            (broken.append((doc, src)) if src.errors else good.append((doc, src)))
        return good

    municipalities: dict[str, Municipality] = {}
    for doc, src in load(ws.municipalities_dir, Municipality):
        if doc.spec.code in municipalities:
            src.add("GC101", f"municipality {doc.spec.code} is defined twice", ("spec", "code"))
            broken.append((doc, src))
            continue
        municipalities[doc.spec.code] = doc
        sources[f"Municipality/{doc.spec.code}"] = src
    vendors: dict[str, Vendor] = {}
    for doc, src in load(ws.vendors_dir, Vendor):
        vendors[doc.metadata.name] = doc
        sources[f"Vendor/{doc.metadata.name}"] = src
    tenants: dict[str, Tenant] = {}
    for doc, src in load(ws.active_dir, Tenant):
        tenants[doc.metadata.name] = doc
        sources[f"Tenant/{doc.metadata.name}"] = src
    def load_one(path: Path, model, key: str):
        """One single-file document (the address plan, the principals): None when absent or broken."""
        if not path.exists():
            return None
        try:
            doc, src = documents.parse(path, model)
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
            return None
        if src.errors:
            broken.append((doc, src))
            return None
        sources[key] = src
        return doc

    plan = load_one(ws.ipam_file, AddressPlan, "AddressPlan")
    if not ws.ipam_file.exists() and require_plan:
        problems.append(Diagnostic(str(ws.ipam_file), 1, 1, "GC304", "the address plan tenants/ipam.yaml is missing"))
    principals = load_one(ws.principals_file, Principals, "Principals")
    unreadable = set()
    for folder, kind in ((ws.municipalities_dir, "Municipality"), (ws.vendors_dir, "Vendor"), (ws.active_dir, "Tenant")):
        unreadable |= {f"{kind}/{p.stem}" for p in files_of(folder)}
    unreadable -= set(sources)
    return LoadedWorkspace(Registry(municipalities, vendors, tenants, plan, sources, principals=principals,
                                    unreadable=frozenset(unreadable)),
                           broken, problems)


def load_registry(ws: Workspace, *, require_plan: bool = True) -> Registry:
    """The registry of a workspace whose documents all parse; raises with every problem otherwise."""
    loaded = collect_workspace(ws, require_plan=require_plan)
    problems = loaded.problems + [d for _, src in loaded.broken for d in src.items]
    if problems:
        raise DiagnosticError(problems)
    return loaded.registry

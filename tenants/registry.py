"""The workspace's documents loaded into one value: municipalities, vendors, tenants, address plan.

Loading reports every broken document at once (with its own file and line). Everything else in
govcloud takes a Registry and never reads the tenants folder itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError
from govcloud.tenants import documents
from govcloud.tenants.models import AddressPlan, Municipality, Tenant, Vendor
from govcloud.workspace import Workspace


@dataclass(frozen=True)
class Registry:
    municipalities: dict[str, Municipality]
    vendors: dict[str, Vendor]
    tenants: dict[str, Tenant]
    plan: AddressPlan | None
    sources: dict[str, Collector] = field(default_factory=dict, compare=False)

    def tenants_by_base(self) -> dict[str, dict[str, Tenant]]:
        """{base name: {environment: tenant}} for resolving ``apis.consumes``."""
        out: dict[str, dict[str, Tenant]] = {}
        for tenant in self.tenants.values():
            out.setdefault(tenant.base_name, {})[tenant.spec.environment] = tenant
        return out


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.is_file()) if folder.is_dir() else []


def load_registry(ws: Workspace, *, require_plan: bool = True) -> Registry:
    problems: list[Diagnostic] = []
    sources: dict[str, Collector] = {}

    def load(folder: Path, model):
        docs, errs = documents.load_many(_yaml_files(folder), model)
        problems.extend(errs)
        return docs

    municipalities: dict[str, Municipality] = {}
    for doc, src in load(ws.municipalities_dir, Municipality):
        if doc.spec.code in municipalities:
            src.add("GC101", f"municipality {doc.spec.code} is defined twice", ("spec", "code"))
            problems.extend(src.items)
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
    plan = None
    if ws.ipam_file.exists():
        try:
            plan, src = documents.parse(ws.ipam_file, AddressPlan)
            sources["AddressPlan"] = src
            src.raise_if_errors()
        except DiagnosticError as exc:
            problems.extend(exc.diagnostics)
    elif require_plan:
        problems.append(Diagnostic(str(ws.ipam_file), 1, 1, "GC304", "the address plan tenants/ipam.yaml is missing"))
    if problems:
        raise DiagnosticError(problems)
    return Registry(municipalities, vendors, tenants, plan, sources)

"""`govcloud validate` as a service: every document of the workspace and every rule across them.

The tenants layer validates its own documents (govcloud.tenants.validation); the documents other
layers own — the network exceptions (their model is the network intent's) and the policy waivers
(the policies') — are checked here and passed in, so data still flows one way.
"""

from __future__ import annotations

import datetime as dt
import fnmatch

from govcloud import yamlio
from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError
from govcloud.network import intent as network_intent
from govcloud.network.intent import NetworkExceptions, build_intent
from govcloud.policies import engine as policy_engine
from govcloud.policies.catalogue import load_controls
from govcloud.policies.engine import Waivers, waiver_problems
from govcloud.tenants import documents, governed, history, ledger, rules
from govcloud.tenants.catalogue import Catalogue
from govcloud.tenants.registry import Registry
from govcloud.tenants.validation import WorkspaceReport
from govcloud.tenants.validation import validate_workspace as validate_documents
from govcloud.workspace import Workspace


def validate_workspace(ws: Workspace, today: dt.date | None = None) -> WorkspaceReport:
    """Raises DiagnosticError with every problem (errors and warnings) when there is an error."""
    return validate_documents(ws, today, extra_checks=(check_network_exceptions, check_waivers, check_stack_config))


def check_stack_config(ws: Workspace, reg: Registry, cat: Catalogue, today: dt.date,
                       problems: list[Diagnostic]) -> list[Collector]:
    """The Pulumi project file and every per-stack settings file, read as `plan` reads them: a
    missing project file, or a misspelt or mistyped ``govcloud:`` key (which the program would
    ignore or misread), is reported here and not only when a stack is planned."""
    from govcloud.stacks.planner import read_stack_config

    project = ws.root / "Pulumi.yaml"
    if not project.is_file():
        problems.append(Diagnostic(str(project), 1, 1, "GC100", "the Pulumi project file Pulumi.yaml is missing: "
                                                                "no stack can be planned or deployed"))
        return []
    stacks = ["foundation", *sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ws.root.glob("Pulumi.*.yaml"))]
    seen: set[Diagnostic] = set()
    for stack in stacks:
        try:
            read_stack_config(ws, stack)
        except DiagnosticError as exc:
            for d in exc.diagnostics:       # the project file's problems come once, not per stack
                if d not in seen:
                    seen.add(d)
                    problems.append(d)
    return []


def _parse_if_present(path, model, problems: list[Diagnostic]):
    """(document, collector) of an optional document; None when absent or unreadable (its
    problems are added to ``problems``)."""
    if not path.exists():
        return None
    try:
        return documents.parse(path, model)
    except DiagnosticError as exc:
        problems.extend(exc.diagnostics)
        return None


def check_network_exceptions(ws: Workspace, reg: Registry, cat: Catalogue, today: dt.date,
                             problems: list[Diagnostic]) -> list[Collector]:
    parsed = _parse_if_present(ws.network_exceptions_file, NetworkExceptions, problems)
    if parsed is None:
        return []
    doc, src = parsed
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
        versions = _recorded(ws, "NetworkExceptions")
        if versions is not None:
            network_intent.signer_problems(doc, yamlio.read_text(ws.network_exceptions_file), src, versions, reg)
    return [src]


def _recorded(ws: Workspace, kind: str) -> list[governed.RecordedVersion] | None:
    """The recorded versions of ``kind`` when the file is the newest of them (the ledger's own
    check reports a broken chain and an unrecorded edit, GC601/GC604/GC608); None otherwise."""
    try:
        hist = history.load(ws.history_file)
    except DiagnosticError:
        return None
    replayed = ledger.proof(hist)
    versions = replayed.documents.get(kind, [])
    try:
        body = governed.read_body(governed.path_of(ws, kind))
    except DiagnosticError:
        return None
    if replayed.problems or governed.file_problem(ws, kind, body, versions) is not None:
        return None
    return versions


def check_waivers(ws: Workspace, reg: Registry, cat: Catalogue, today: dt.date,
                  problems: list[Diagnostic]) -> list[Collector]:
    parsed = _parse_if_present(ws.waivers_file, Waivers, problems)
    if parsed is None:
        return []
    doc, src = parsed
    controls = load_controls()
    waiver_problems(doc, src, controls, today, strict=True)
    versions = _recorded(ws, "Waivers")
    if versions is not None and not src.errors:
        policy_engine.signer_problems(doc, yamlio.read_text(ws.waivers_file), src, versions, controls, reg)
    for i, waiver in enumerate(doc.spec.waivers or []):
        if waiver.tenant is not None and not any(fnmatch.fnmatchcase(name, waiver.tenant) for name in reg.tenants):
            src.add("GC803", f"waiver for {waiver.control} names tenant {waiver.tenant!r}, which matches no tenant",
                    ("spec", "waivers", i, "tenant"), severity="warning")
    return [src]

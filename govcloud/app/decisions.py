"""Recording the governed decisions — network exceptions and policy waivers — as signed history
events (``govcloud exceptions record``, ``govcloud waivers record``; docs/trust.md).

The tenants layer records any governed document (:func:`govcloud.tenants.workflow.record_document`);
the rules of what a valid document is and who must sign each item belong to the layer that owns
its model (the network intent, the policy engine) and are run here, under the workspace lock,
before anything is written.
"""

from __future__ import annotations

import datetime as dt

from govcloud.diagnostics import DiagnosticError
from govcloud.network.intent import NetworkExceptions, build_intent
from govcloud.network.intent import signer_problems as exception_signer_problems
from govcloud.policies.catalogue import load_controls
from govcloud.policies.engine import Waivers, waiver_problems
from govcloud.policies.engine import signer_problems as waiver_signer_problems
from govcloud.tenants import documents, workflow
from govcloud.tenants.principals import DetachedSignature, KeySigner
from govcloud.workspace import Workspace

Signers = list[KeySigner | DetachedSignature]


def _check_exceptions(ws: Workspace, today: dt.date):
    def check(text, reg, versions) -> None:
        doc, src = documents.parse(ws.network_exceptions_file, NetworkExceptions, text=text)
        src.raise_if_errors()
        ids: dict[str, int] = {}
        for i, exc in enumerate(doc.spec.exceptions):
            if exc.id in ids:
                src.add("GC703", f"exception id {exc.id!r} is used twice (first at entry {ids[exc.id]})",
                        ("spec", "exceptions", i, "id"))
            ids.setdefault(exc.id, i)
        src.raise_if_errors()
        build_intent(reg, list(doc.spec.exceptions), today=today, source=src)    # references (GC702, GC701)
        exception_signer_problems(doc, text, src, versions, reg)
        src.raise_if_errors()
    return check


def _check_waivers(ws: Workspace, today: dt.date):
    def check(text, reg, versions) -> None:
        doc, src = documents.parse(ws.waivers_file, Waivers, text=text)
        src.raise_if_errors()
        controls = load_controls()
        # Unknown controls are refused (GC801); a waiver of a control that may not be waived can be
        # recorded, and then counts for nothing: `check` and the report list it as ignored, and
        # `validate` keeps reporting it (GC802) until it is removed.
        waiver_problems(doc, src, controls, today)
        src.raise_if_errors()
        waiver_signer_problems(doc, text, src, versions, controls, reg)
        src.raise_if_errors()
    return check


def record(ws: Workspace, kind: str, signers: Signers, today: dt.date | None = None) -> dict | None:
    """Record the current file of ``kind`` signed by ``signers``; None when already recorded.
    Raises DiagnosticError (the document, or who is missing) or UsageError (a signer)."""
    today = today or dt.date.today()
    check = _check_exceptions(ws, today) if kind == "NetworkExceptions" else _check_waivers(ws, today)
    return workflow.record_document(ws, kind, signers, check)


def statement(ws: Workspace, kind: str, principal: str) -> bytes:
    return workflow.governed_statement_for(ws, kind, principal)


__all__ = ["record", "statement", "DiagnosticError"]

"""Governed decision documents: the network exceptions (``tenants/network-exceptions.yaml``) and
the policy waivers (``policies/waivers.yaml``).

Like the Principals document, each counts only as recorded in the history: a
``document.recorded`` event carries the whole document (its digest, the version it replaces and
its version number) and the SSH signatures of the people it needs. The file in the workspace
must be exactly the recorded version; an edit that was not recorded stops every command that
reads it (GC608), and a recorded version whose items lack the signers they need is refused
(GC609). Who must sign is decided by the layer that owns each document's model (the network
intent for exceptions, the policy engine for waivers) as a :class:`Requirement` per item; this
module only knows the rules every decision shares (docs/trust.md):

- at least two distinct principals, at least one of them platform, never a vendor;
- the platform (two platform principals for a fleet-wide decision), the approver of every
  municipality the item touches, and the security team when it touches the My Number zone.

The digest is over the document as read (YAML 1.2 scalars, see ``govcloud.yamlio``), in RFC 8785
form: comments and layout do not count, a changed value always does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import rfc8785

from govcloud import yamlio
from govcloud.diagnostics import Diagnostic, DiagnosticError
from govcloud.tenants.models import Principal
from govcloud.workspace import Workspace

KINDS = ("NetworkExceptions", "Waivers")
ITEMS = {"NetworkExceptions": "exceptions", "Waivers": "waivers"}
RECORD_COMMAND = {"NetworkExceptions": "govcloud exceptions record", "Waivers": "govcloud waivers record"}


def path_of(ws: Workspace, kind: str) -> Path:
    return ws.network_exceptions_file if kind == "NetworkExceptions" else ws.waivers_file


def body_of(data: Any) -> dict:
    """The part of a document that is recorded and signed (what the digest covers)."""
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in data}


def digest_of(body: dict) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(body_of(body))).hexdigest()


def read_body(path: Path, text: str | None = None) -> dict | None:
    """The recordable body of the document file (None when there is no file). Raises
    DiagnosticError for a file that cannot be read as YAML."""
    if text is None:
        if not path.exists():
            return None
        text = yamlio.read_text(path)
    data, _ = yamlio.load_text(text, path)
    body = body_of(data)
    try:
        rfc8785.dumps(body)
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        # RFC 8785 §3.2.2.3: numbers are IEEE 754 doubles; an integer beyond ±2^53 − 1 (or a
        # float that is not finite) has no one spelling, so the document cannot be signed.
        raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC101",
                                          f"the document cannot be recorded and signed: {exc} (RFC 8785 JSON "
                                          "numbers are IEEE 754 doubles)")]) from None
    return body


def items_of(body: dict | None) -> list:
    if not body:
        return []
    spec = body.get("spec")
    kind = body.get("kind")
    items = spec.get(ITEMS.get(kind, ""), []) if isinstance(spec, dict) else []
    return items if isinstance(items, list) else []


def item_key(item: Any) -> bytes:
    return rfc8785.dumps(item)


@dataclass(frozen=True)
class RecordedVersion:
    """One recorded version of a governed document, with the principals whose signatures
    verified (as the Principals document in force when it was recorded declared them)."""

    seq: int
    kind: str
    digest: str
    document: dict
    version: int
    signers: tuple[Principal, ...]


@dataclass(frozen=True)
class Requirement:
    """Who must have signed one item: ``platform`` distinct platform principals, the approver of
    each of ``municipalities``, and the security team when ``security``; ``why`` says what in
    the item asks for each."""

    platform: int = 1
    municipalities: frozenset[str] = frozenset()
    security: bool = False
    why: tuple[str, ...] = field(default=())


def missing(req: Requirement, signers: Iterable[Principal]) -> list[str]:
    """The slots of ``req`` that ``signers`` leave empty (empty list: signed enough)."""
    signers = list(signers)
    platform = {p.id for p in signers if p.role == "platform"}
    out = []
    if len(platform) < req.platform:
        out.append("platform" if req.platform == 1 else f"{req.platform} distinct platform principals")
    for code in sorted(req.municipalities):
        if not any(p.role == "municipality" and code in p.municipalities for p in signers):
            out.append(f"municipality {code}")
    if req.security and not any(p.role == "security" for p in signers):
        out.append("security")
    if len({p.id for p in signers}) < 2:
        out.append("a second principal (every decision is signed by two people)")
    return out


def floor_problem(signers: list[Principal]) -> str | None:
    """The rule every recorded decision meets whatever it says (checked by the replay)."""
    if any(p.role == "vendor" for p in signers):
        return "a vendor principal signed it: vendors never sign decisions"
    if not any(p.role == "platform" for p in signers):
        return "no platform principal signed it"
    if len({p.id for p in signers}) < 2:
        return "fewer than two distinct principals signed it"
    return None


def introduced_by(versions: list[RecordedVersion], item: Any) -> RecordedVersion | None:
    """The recorded version that introduced ``item`` in exactly this form, among the versions
    in which it stayed unchanged up to the newest. Its signers are the ones who vouch for it."""
    key = item_key(item)
    found = None
    for v in reversed(versions):
        if any(item_key(other) == key for other in items_of(v.document)):
            found = v
        else:
            break
    return found


def file_problem(ws: Workspace, kind: str, body: dict | None, recorded: list[RecordedVersion]) -> Diagnostic | None:
    """GC608 when the file of ``kind`` (its body, None when absent) is not its recorded version."""
    display = ws.relative(path_of(ws, kind))
    if body is None and not recorded:
        return None
    if body is None:
        return Diagnostic(display, 1, 1, "GC608",
                          f"history entry #{recorded[-1].seq} recorded {kind} version {recorded[-1].version}, but "
                          f"{display} is missing: it was deleted by hand (record an empty document to withdraw "
                          "every item)")
    if not recorded:
        return Diagnostic(display, 1, 1, "GC608",
                          f"{display} is not recorded in the history: nobody signed it, so none of it counts. Record "
                          f"it with `{RECORD_COMMAND[kind]} --key KEY --key KEY2` (docs/trust.md says who signs)")
    if digest_of(body) != recorded[-1].digest:
        return Diagnostic(display, 1, 1, "GC608",
                          f"{display} was edited after history entry #{recorded[-1].seq} recorded version "
                          f"{recorded[-1].version}: the edit counts for nothing until it is recorded with "
                          f"`{RECORD_COMMAND[kind]}` (signed by the people it needs), or undo the edit")
    return None


def unrecorded_problems(ws: Workspace, versions: dict[str, list[RecordedVersion]], *,
                        pending: str | None = None) -> list[Diagnostic]:
    """GC608 for every governed file that is not exactly its recorded version (``pending``: the
    kind a ``record`` command is about to record)."""
    out: list[Diagnostic] = []
    for kind in KINDS:
        if kind == pending:
            continue
        try:
            body = read_body(path_of(ws, kind))
        except DiagnosticError as exc:
            out += exc.diagnostics
            continue
        found = file_problem(ws, kind, body, versions.get(kind) or [])
        if found is not None:
            out.append(found)
    return out


def item_problems(versions: list[RecordedVersion],
                  items: list[tuple[Any, Requirement, tuple, str]]) -> list[tuple[tuple, str]]:
    """(location, message) for every item in force whose introducing version lacks a signer it
    needs (``items``: raw item, its requirement, its location, a label for messages)."""
    out = []
    for raw, req, loc, label in items:
        v = introduced_by(versions, raw)
        if v is None:
            out.append((loc, f"{label} is not in the recorded version"))
            continue
        lacking = missing(req, v.signers)
        if lacking:
            why = f" ({'; '.join(req.why)})" if req.why else ""
            out.append((loc, f"{label} was recorded by history entry #{v.seq} (version {v.version}) signed by "
                             f"{', '.join(p.id for p in v.signers)}, but it needs {', '.join(lacking)}{why}"))
    return out

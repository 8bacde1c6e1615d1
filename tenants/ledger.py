"""The workspace as a ledger: what every write checks before it builds on the workspace, and what
``govcloud validate`` reports.

1. **The chain** (``tenants/history.jsonl``) is intact: every entry typed, canonical, hashed and
   linked to the one before (:mod:`govcloud.tenants.history`).
2. **Its head is anchored** where deleting the file or its newest entries shows:
   - ``tenants/ipam.yaml`` ``status.historyHead`` is exactly the newest entry's hash (every write
     commits the history and the plan in one transaction, so they never disagree legitimately);
   - each tenant document's ``status.historyEntry`` is a ``request.applied`` entry of the chain
     that names this tenant, its CIDR, its request and the request's digest;
   - each record in ``tenants/requests/applied/`` is the request a ``request.applied`` entry names,
     with the same digest, and every applied request whose tenants live has its record;
   - the tenants the chain says exist (applied, not removed since) are exactly the tenant
     documents, and a recorded account id is the one the chain recorded last for that tenant.
3. **The address plan** agrees exactly with the tenant documents and no two tenants overlap
   (:func:`govcloud.tenants.ipam.document_problems`).

4. **Approvals are proven** (:mod:`govcloud.tenants.approvals`): every signed approval and every
   ``principals.recorded`` entry verifies against the Principals document in force when it was
   written (GC604); an apply after approvals became signed names approvals that count;
   ``tenants/principals.yaml`` is exactly the document the chain recorded last (GC602).
5. **Decisions are recorded** (:mod:`govcloud.tenants.governed`): ``tenants/network-exceptions.yaml``
   and ``policies/waivers.yaml`` are exactly the versions the chain recorded last, signed (GC608).

5. **Tenants are derived** (:mod:`govcloud.tenants.derived`): every field of every live tenant
   document is what its applied record (bound by the entry's digest), the entry's allocation and
   the recorded account produce (GC620).
6. **The head is anchored outside the workspace** (:mod:`govcloud.anchor`, docs/anchor.md): the
   newest head published to the S3 Object Lock store is an entry of this chain, hash for hash
   (GC621); without an anchor configured, a warning says so (GC624).

What this cannot see without an anchor: someone with write access who rewrites the chain
consistently from some entry on (new hashes for every later entry) and every anchor inside the
workspace along with it. With one, only entries not yet anchored, and appended entries (any writer
can append), remain; see docs/anchor.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from govcloud import anchor, sshsig
from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError, UsageError, locate, dotted
from govcloud.tenants import approvals, derived, documents, governed, history, ipam
from govcloud.tenants.principals import document_digest
from govcloud.tenants.models import TenantRequest
from govcloud.tenants.registry import Registry
from govcloud.workspace import Workspace


def request_digest(req: TenantRequest) -> str:
    """What approvals are bound to: the SHA-256 of the request's metadata and spec."""
    body = req.model_dump(mode="json", by_alias=True, include={"metadata", "spec"})
    return "sha256:" + hashlib.sha256(history.canonical(body).encode("utf-8")).hexdigest()


def _diag(src: Collector | None, fallback: Path | str, loc: tuple, code: str, message: str) -> Diagnostic:
    if src is None:
        return Diagnostic(str(fallback), 1, 1, code, message, dotted(loc))
    line, col = locate(src.positions, loc)
    return Diagnostic(str(src.path), line, col, code, message, dotted(loc))


def live_tenants(hist: history.History) -> dict[str, dict]:
    """Tenants the chain says exist now: {name: the request.applied entry that created it}."""
    live: dict[str, dict] = {}
    for entry in hist.entries:
        if entry["event"] == "request.applied":
            for name in entry["data"]["tenants"]:
                live[name] = entry
        elif entry["event"] == "tenant.removed":
            live.pop(entry["data"]["tenant"], None)
    return live


def recorded_accounts(hist: history.History) -> dict[str, str]:
    """{tenant: the account id the chain recorded last since the tenant was (re-)created}."""
    accounts: dict[str, str] = {}
    for entry in hist.entries:
        if entry["event"] == "request.applied":
            for name in entry["data"]["tenants"]:
                accounts.pop(name, None)
        elif entry["event"] == "tenant.account-recorded":
            accounts[entry["data"]["tenant"]] = entry["data"]["accountId"]
    return accounts


def applied_requests(hist: history.History) -> dict[str, dict]:
    """{request name: its request.applied entry}."""
    return {e["data"]["request"]: e for e in hist.events("request.applied")}


def problems(ws: Workspace, reg: Registry, *, principals_pending: bool = False,
             governed_pending: str | None = None) -> tuple[history.History, list[Diagnostic]]:
    """Every ledger problem of the workspace (empty list: safe to build on). With
    ``principals_pending`` an edited, not yet recorded ``tenants/principals.yaml`` is not one (the
    command that records it asks for that); with ``governed_pending`` (a kind), the same for that
    governed document."""
    hist, chain = history.scan(ws.history_file)
    display = ws.relative(ws.history_file)
    out = history.diagnostics(ws.history_file, chain, display)
    plan_src = reg.sources.get("AddressPlan")
    if not chain:
        out += _anchor_problems(ws, reg, hist, display)
        out += _approval_problems(ws, reg, hist, display, principals_pending, governed_pending)
        out += history_anchor_problems(ws, hist, display)
    if reg.plan is not None:
        for where, loc, code, message in ipam.document_problems(reg.plan, reg.tenants):
            src = plan_src if where == "plan" else reg.sources.get(f"Tenant/{where}")
            fallback = ws.ipam_file if where == "plan" else ws.active_dir / f"{where}.yaml"
            out.append(_diag(src, fallback, loc, code, message))
    return hist, out


def _anchor_problems(ws: Workspace, reg: Registry, hist: history.History, display: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    last_line = max(len(hist.entries), 1)
    if reg.plan is not None:
        recorded = reg.plan.status.history_head
        src = reg.sources.get("AddressPlan")
        loc = ("status", "historyHead")
        if recorded is None and hist.entries:
            out.append(_diag(src, ws.ipam_file, loc, "GC602",
                             f"the address plan records no history head, but the history has {len(hist.entries)} "
                             "entries: the anchor was deleted"))
        elif recorded is not None and recorded != hist.head:
            known = hist.find(recorded)
            if known is None:
                what = ("the history file is missing or empty" if not hist.entries else
                        f"the newest entry is #{hist.entries[-1]['seq']} {hist.head}")
                message = (f"tenants/ipam.yaml records history head {recorded}, which is not in the history; {what}: "
                           "entries were removed from the end or the file was replaced")
            else:
                message = (f"tenants/ipam.yaml records history head #{known['seq']} {recorded}, but the history "
                           f"goes on to #{hist.entries[-1]['seq']}: the address plan is an older copy, or entries "
                           "were appended by hand")
            out.append(Diagnostic(display, last_line, 1, "GC602", message))
            out.append(_diag(src, ws.ipam_file, loc, "GC602", message))
    live = live_tenants(hist)
    accounts = recorded_accounts(hist)
    records: dict[str, TenantRequest | None] = {}
    for name in sorted(reg.tenants):
        tenant = reg.tenants[name]
        src = reg.sources.get(f"Tenant/{name}")
        fallback = ws.active_dir / f"{name}.yaml"
        if tenant.status is None:
            out.append(_diag(src, fallback, ("status",), "GC602",
                             f"tenant {name} has no status: tenants are created by `govcloud request apply` only"))
            continue
        entry = hist.find(tenant.status.history_entry)
        loc = ("status", "historyEntry")
        if entry is None:
            out.append(_diag(src, fallback, loc, "GC602",
                             f"tenant {name} was created by history entry {tenant.status.history_entry}, which is not "
                             f"in {display}: the history was shortened or replaced"))
            continue
        data = entry["data"]
        if entry["event"] != "request.applied" or name not in data.get("tenants", {}):
            out.append(_diag(src, fallback, loc, "GC602",
                             f"history entry #{entry['seq']} ({entry['event']}) did not create tenant {name}"))
            continue
        if live.get(name) is not entry:
            out.append(_diag(src, fallback, loc, "GC602",
                             f"tenant {name} was removed or re-created after history entry #{entry['seq']}"))
        for field, want, have in ((("spec", "request"), data["request"], tenant.spec.request),
                                  (("status", "requestDigest"), data["digest"], tenant.status.request_digest),
                                  (("spec", "network", "cidr"), data["tenants"][name], tenant.spec.network.cidr)):
            if want != have:
                out.append(_diag(src, fallback, field, "GC602",
                                 f"{dotted(field)} is {have}, but history entry #{entry['seq']} that created "
                                 f"tenant {name} says {want}: the document was edited by hand"))
        want_account = accounts.get(name)
        have_account = tenant.status.account_id
        if have_account != want_account:
            out.append(_diag(src, fallback, ("status", "accountId"), "GC602",
                             f"status.accountId is {have_account or 'absent'}, but the history recorded "
                             f"{want_account or 'no account'} for tenant {name}"))
        out += _derivation_problems(ws, tenant, src, fallback, entry, want_account, records)
    for name in sorted(set(live) - set(reg.tenants)):
        out.append(Diagnostic(display, live[name]["seq"], 1, "GC602",
                              f"history entry #{live[name]['seq']} created tenant {name}, and no entry removed it, "
                              f"but tenants/active/{name}.yaml is missing: it was deleted by hand"))
    out += _applied_record_problems(ws, hist, live, display)
    return out


# Fields the anchor checks above already compare (GC602): reported once, not twice.
_ANCHOR_FIELDS = {("spec", "request"), ("status", "requestDigest"), ("spec", "network", "cidr"),
                  ("status", "accountId")}


def _applied_record(ws: Workspace, request: str, digest: str, cache: dict[str, TenantRequest | None]) -> TenantRequest | None:
    """The applied record of ``request`` when it is the content the history applied (digest
    ``digest``); None otherwise (missing, unreadable or edited: GC603 is reported for it)."""
    if request not in cache:
        path = ws.requests_dir / "applied" / f"{request}.yaml"
        req = None
        if path.is_file() and not path.is_symlink():
            try:
                parsed, src = documents.parse(path, TenantRequest)
            except DiagnosticError:
                parsed, src = None, None
            if parsed is not None and not src.errors and request_digest(parsed) == digest:
                req = parsed
        cache[request] = req
    return cache[request]


def _derivation_problems(ws: Workspace, tenant, src: Collector | None, fallback: Path, entry: dict,
                         account: str | None, records: dict[str, TenantRequest | None]) -> list[Diagnostic]:
    """Tenant documents are derived, not trusted (issue 19): every field must be what the applied
    request, its allocation and the recorded events produce (:mod:`govcloud.tenants.derived`)."""
    name = tenant.name
    data = entry["data"]
    req = _applied_record(ws, data["request"], data["digest"], records)
    if req is None:
        return []                      # the record itself is reported (GC603): nothing to derive from
    want = derived.derive(req, entry, name, account)
    if want is None:
        return [_diag(src, fallback, ("metadata", "name"), "GC620",
                      f"tenant {name}: applied request {data['request']} (history entry #{entry['seq']}) makes no "
                      "tenant of that name: the document was not written by `govcloud request apply`")]
    out = []
    for loc, have, should in derived.differences(derived.as_data(tenant), derived.as_data(want)):
        if loc in _ANCHOR_FIELDS:
            continue
        source = f"applied request {data['request']} (history entry #{entry['seq']})"
        if should is derived.differences.MISSING:
            what = f"{dotted(loc)} is {derived.shown(have)}, but {source} derives nothing there for tenant {name}"
        else:
            what = (f"{dotted(loc)} is {derived.shown(have)}, but {source} derives {derived.shown(should)} "
                    f"for tenant {name}")
        out.append(_diag(src, fallback, loc, "GC620",
                         f"{what}: the document was edited by hand (tenant documents are written by "
                         "`govcloud request apply` only)"))
    return out


def proof(hist: history.History) -> approvals.ChainProof:
    """Every approval of the (intact) chain with its verification status; see ``approvals``.

    Replayed once per History object (it verifies every signature of the chain, and one write
    asks several times: the ledger check, the directory in force, the approvals that count).
    Kept on the object itself, so a cached proof always belongs to exactly these entries."""
    cached = hist.__dict__.get("_proof")
    if cached is None:
        cached = approvals.replay(hist)
        object.__setattr__(hist, "_proof", cached)
    return cached


def _approval_problems(ws: Workspace, reg: Registry, hist: history.History, display: str,
                       principals_pending: bool = False, governed_pending: str | None = None) -> list[Diagnostic]:
    replayed = proof(hist)
    line_of = {e["seq"]: i for i, e in enumerate(hist.entries, start=1)}
    out = [Diagnostic(display, line_of.get(seq, 1), 1, code, message) for seq, code, message in replayed.problems]
    out += governed.unrecorded_problems(ws, replayed.documents, pending=governed_pending)
    recorded = replayed.current
    src = reg.sources.get("Principals")
    path = ws.relative(ws.principals_file)
    if principals_pending:
        return out
    if reg.principals is not None and recorded is None:
        out.append(_diag(src, path, ("spec",), "GC602",
                         "tenants/principals.yaml is not recorded in the history: nobody vouched for it. Record it "
                         "with `govcloud principals record --key KEY` (a platform principal it declares signs)"))
    elif reg.principals is not None and recorded is not None and document_digest(reg.principals) != recorded.digest:
        out.append(_diag(src, path, ("spec",), "GC602",
                         f"tenants/principals.yaml was edited after history entry #{replayed.current_seq} recorded it: "
                         "record the change with `govcloud principals record --key KEY` (signed by a platform "
                         "principal of the recorded version), or undo the edit"))
    elif reg.principals is None and recorded is not None and ws.principals_file.exists() is False:
        out.append(Diagnostic(display, line_of.get(replayed.current_seq or 1, 1), 1, "GC602",
                              f"history entry #{replayed.current_seq} recorded a Principals document, but "
                              "tenants/principals.yaml is missing: it was deleted by hand"))
    return out


def decisions(ws: Workspace, kind: str, text: str | None = None) -> list[governed.RecordedVersion]:
    """The recorded versions of governed document ``kind``, from a chain whose signatures verify,
    after checking that the file (``text``: as the caller read it) is exactly the newest one.
    Raises GC601/GC604 for a chain that does not verify and GC608 for an unrecorded edit: every
    command that reads a waiver or an exception asks here first."""
    display = ws.relative(ws.history_file)
    hist = history.load(ws.history_file, display)
    replayed = proof(hist)
    line_of = {e["seq"]: i for i, e in enumerate(hist.entries, start=1)}
    found = [Diagnostic(display, line_of.get(seq, 1), 1, code, message) for seq, code, message in replayed.problems]
    if found:
        raise DiagnosticError(found)
    versions = replayed.documents.get(kind, [])
    path = governed.path_of(ws, kind)
    body = governed.read_body(path, text) if text is not None else governed.read_body(path)
    problem = governed.file_problem(ws, kind, body, versions)
    if problem is not None:
        raise DiagnosticError([problem])
    return versions


def _applied_record_problems(ws: Workspace, hist: history.History, live: dict[str, dict],
                             display: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    applied = applied_requests(hist)
    folder = ws.requests_dir / "applied"
    files, found = documents.document_files(folder, ws.root)
    out += found
    for path in files:
        entry = applied.get(path.stem)
        if entry is None:
            out.append(Diagnostic(ws.relative(path), 1, 1, "GC603",
                                  f"applied record of request {path.stem}, but no history entry applied it"))
            continue
        try:
            req, src = documents.parse(path, TenantRequest)
        except DiagnosticError as exc:
            out += exc.diagnostics
            continue
        if req.metadata.name != path.stem:
            out.append(_diag(src, path, ("metadata", "name"), "GC603",
                             f"the applied record {path.name} holds request {req.metadata.name}"))
        elif request_digest(req) != entry["data"]["digest"]:
            out.append(_diag(src, path, ("spec",), "GC603",
                             f"the applied record of {path.stem} has digest {request_digest(req)}, but history entry "
                             f"#{entry['seq']} applied {entry['data']['digest']}: the record was edited"))
        elif (entry["data"].get("municipalities") is not None
              and sorted(entry["data"]["municipalities"]) != sorted(req.spec.municipalities)):
            # The replay asks for one municipality approval per code the entry lists; the list must
            # be the request's own (bound by the digest just checked), or an entry written with
            # fewer codes would have skipped an approval.
            out.append(Diagnostic(display, entry["seq"], 1, "GC604",
                                  f"history entry #{entry['seq']} applied {path.stem} for municipalities "
                                  f"{entry['data']['municipalities']}, but the request serves "
                                  f"{list(req.spec.municipalities)}: approvals were counted for the wrong municipalities"))
    present = {p.stem for p in files}
    live_requests = {entry["data"]["request"]: entry for entry in live.values()}
    for name, entry in sorted(live_requests.items()):
        if name not in present:
            out.append(Diagnostic(display, entry["seq"], 1, "GC603",
                                  f"history entry #{entry['seq']} applied request {name}, whose tenants exist, but "
                                  f"tenants/requests/applied/{name}.yaml is missing"))
    return out


def require_intact(ws: Workspace, reg: Registry, *, principals_pending: bool = False,
                   governed_pending: str | None = None) -> history.History:
    """The verified history, or a refusal listing every ledger problem: what every write runs first.
    (Warnings — no anchor configured, entries not anchored yet — do not stop a write; the CLI
    states them.)"""
    hist, found = problems(ws, reg, principals_pending=principals_pending, governed_pending=governed_pending)
    if any(d.severity == "error" for d in found):
        raise DiagnosticError(found)
    return hist


# --- the history anchor outside the workspace (govcloud.anchor) ---------------------------------


def anchor_keys(hist: history.History) -> dict[str, sshsig.PublicKey]:
    """The keys that may sign an anchored head: every service key (spec.serviceKeys) of every
    Principals version the chain recorded. A head signed under an older version still verifies
    after its key was rotated out; a rebuilt chain cannot vouch for the anchor, because the
    newest anchored head must then be one of *its* entries, hash for hash."""
    keys: dict[str, sshsig.PublicKey] = {}
    for seq, directory in sorted(proof(hist).directories.items()):
        for kid, key in directory.service_keys.items():
            keys.setdefault(f"{kid}@{seq}", key)
    return keys


def history_anchor_problems(ws: Workspace, hist: history.History, display: str,
                            store: "anchor.S3Store | None" = None) -> list[Diagnostic]:
    """The local chain against the head anchored outside the workspace; a warning when no anchor
    is configured (said plainly: the chain's end is then vouched for by the workspace alone)."""
    try:
        settings = anchor.load_settings(ws)
    except DiagnosticError as exc:
        return list(exc.diagnostics)
    except UsageError as exc:
        return [Diagnostic(ws.relative(ws.anchor_file), 1, 1, "GC622", str(exc))]
    if settings is None:
        return [Diagnostic(ws.relative(ws.anchor_file), 1, 1, "GC624", anchor.not_configured(ws), severity="warning")]
    line_of = {e["seq"]: i for i, e in enumerate(hist.entries, start=1)}
    last = max(len(hist.entries), 1)
    out = []
    for f in anchor.compare(settings, hist.entries, anchor_keys(hist), store):
        out.append(Diagnostic(display, line_of.get(f.seq, last) if f.seq is not None else last, 1, f.code,
                              f.message, severity=f.severity))
    return out

"""Onboarding: request → approvals → tenants. The only module here that writes files.

Approvals are history events bound to the SHA-256 digest of the request's content, so editing a
request after approval silently voids the approvals instead of carrying them over. Each is signed
by a principal declared in ``tenants/principals.yaml`` (or by the onboarding service on behalf of
one) and counts only under the rules of :mod:`govcloud.tenants.approvals`.
Every state change runs under the workspace lock (an interrupted transaction is finished or undone
first), re-reads the workspace inside it, refuses unless the ledger is intact
(:func:`govcloud.tenants.ledger.require_intact`: chain, anchors, address plan) and commits all its
files as one journalled transaction (:meth:`govcloud.workspace.Workspace.commit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from govcloud import anchor, sshsig, yamlio
from govcloud.diagnostics import Collector, DiagnosticError, UsageError
from govcloud.tenants import approvals, derived, documents, governed, history, ipam, ledger, rules
from govcloud.tenants.catalogue import Catalogue, load_catalogue
from govcloud.tenants.models import (
    AddressPlan,
    Municipality,
    Principal,
    Tenant,
    TenantRequest,
    Vendor,
)
from govcloud.tenants.principals import (
    APPROVAL_NAMESPACE,
    GOVERNED_NAMESPACE,
    PRINCIPALS_NAMESPACE,
    DetachedSignature,
    Directory,
    KeySigner,
    ServiceSigner,
    Signer,
    approval_statement,
    removal_statement,
    withdrawal_statement,
    document_json,
    governed_statement,
    principals_statement,
)
from govcloud.tenants.principals import problems as principals_rules
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace

SCHEMA_MODELINE = "# yaml-language-server: $schema=../schemas/{kind}.schema.json\n"


@dataclass(frozen=True)
class RequestSource:
    """A request's text and the name diagnostics use for it: a file, or a submission the
    onboarding service holds (``submissions/42/revision-3.yaml``)."""

    text: str
    display: str

    @classmethod
    def from_path(cls, path: Path) -> "RequestSource":
        return cls(yamlio.read_text(path), str(path))


@dataclass(frozen=True)
class ValidatedRequest:
    source: RequestSource
    request: TenantRequest
    digest: str
    planned: list[rules.PlannedTenant]
    plan: AddressPlan | None
    collector: Collector


request_digest = ledger.request_digest


def validate_request(source: RequestSource | Path, reg: Registry, cat: Catalogue | None = None) -> ValidatedRequest:
    cat = cat or load_catalogue()
    if not isinstance(source, RequestSource):
        source = RequestSource.from_path(source)
    req, src = documents.parse(Path(source.display), TenantRequest, text=source.text)
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
    return ValidatedRequest(source, req, request_digest(req), planned, plan, src)


# --- approvals ------------------------------------------------------------------------------------


def proof(hist: history.History) -> approvals.ChainProof:
    return ledger.proof(hist)


def tally(req: TenantRequest, digest: str, hist: history.History) -> approvals.Tally:
    """The approvals of this exact content that count now (signed, by declared principals with
    the role and scope, one per person)."""
    replayed = proof(hist)
    return approvals.count(req.metadata.name, digest, list(req.spec.municipalities), replayed, replayed.current)


class ChooseMunicipality(UsageError):
    """The approver may approve for several of the request's municipalities: the caller names one."""

    def __init__(self, message: str, choices: list[str]):
        super().__init__(message)
        self.choices = choices


class NotApproved(UsageError):
    """Apply refused: approvals of this exact content are missing (each adapter says how to give one)."""

    def __init__(self, request: str, digest: str, counted: approvals.Tally):
        self.request, self.digest, self.tally = request, digest, counted
        ignored = "".join(f"\n  history #{a.seq} ({a.slot}, {a.by}) does not count: {why}" for a, why in counted.ignored)
        super().__init__(f"request {request} ({digest[:19]}…) is not approved by: {', '.join(counted.missing)}. "
                         f"Each approval is signed by a principal declared for it in tenants/principals.yaml{ignored}")


def _directory(hist: history.History) -> Directory:
    current = proof(hist).current
    if current is None:
        raise UsageError("no Principals document is recorded: approvals are signed by declared principals. Write "
                         "tenants/principals.yaml and record it with `govcloud principals record --key KEY`")
    return current


def _refuse_applied_name(ws: Workspace, hist: history.History, name: str) -> None:
    """A request name is used once: reusing it would overwrite the applied record of another."""
    entry = ledger.applied_requests(hist).get(name)
    record = ws.requests_dir / "applied" / f"{name}.yaml"
    if entry is not None or record.exists():
        where = f"history entry #{entry['seq']}" if entry else ws.relative(record)
        raise UsageError(f"a request named {name} was already applied ({where}); "
                         "give the new request another metadata.name")


def signer_principal(directory: Directory, signer: Signer) -> Principal:
    """The declared principal behind a signer, or a refusal saying why there is none."""
    if isinstance(signer, KeySigner):
        p = directory.by_key.get(signer.key.public.blob)
        if p is None:
            raise UsageError(f"key {signer.key.public.fingerprint} is not declared for any principal in "
                             "tenants/principals.yaml: an approval counts only from a declared key")
        return p
    p = directory.by_id.get(signer.principal)
    if p is None:
        raise UsageError(f"no principal {signer.principal!r} is declared in tenants/principals.yaml")
    if isinstance(signer, ServiceSigner):
        declared = directory.service_keys.get(signer.key_id)
        if declared is None or declared != signer.key.public:
            raise UsageError(f"the service's key {signer.key.public.fingerprint} is not declared as service key "
                             f"{signer.key_id!r} in tenants/principals.yaml (spec.serviceKeys)")
    return p


def _approval_role(p: Principal, req: TenantRequest, municipality: str | None) -> tuple[str, str | None]:
    if p.role == "platform":
        if municipality is not None:
            raise UsageError(f"{p.id} is a platform principal: it approves for the platform, not for municipality "
                             f"{municipality}")
        return "platform", None
    if p.role != "municipality":
        what = "vendors request, they never approve" if p.role == "vendor" else "the security team reads, it never approves"
        raise UsageError(f"{p.id} is a {p.role} principal: {what}")
    mine = [c for c in req.spec.municipalities if c in p.municipalities]
    if municipality is not None:
        if municipality not in req.spec.municipalities:
            raise UsageError(f"municipality {municipality} is not listed in request {req.metadata.name}")
        if municipality not in p.municipalities:
            raise UsageError(f"{p.id} approves for {', '.join(p.municipalities)}, not for {municipality}")
        return "municipality", municipality
    if not mine:
        raise UsageError(f"{p.id} approves for {', '.join(p.municipalities)}; request {req.metadata.name} serves "
                         f"{', '.join(req.spec.municipalities)}")
    if len(mine) > 1:
        raise ChooseMunicipality(f"{p.id} approves for several municipalities of this request ({', '.join(mine)}): "
                                 "name the one this approval is for", mine)
    return "municipality", mine[0]


def statement_for(ws: Workspace, source: RequestSource, principal: str, municipality: str | None = None) -> bytes:
    """The exact bytes ``principal`` signs to approve this request (for ``ssh-keygen -Y sign``)."""
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg)
    checked = validate_request(source, reg)
    directory = _directory(hist)
    p = directory.by_id.get(principal)
    if p is None:
        raise UsageError(f"no principal {principal!r} is declared in tenants/principals.yaml")
    role, code = _approval_role(p, checked.request, municipality)
    return approval_statement(request=checked.request.metadata.name, digest=checked.digest, role=role,
                              municipality=code, principal=p.id, head=hist.head)


# A detached signature was made over a statement printed a moment ago; entries appended since
# (another approver's) moved the head. The newest heads are tried, so the signer need not race.
RECENT_HEADS = 64


def _signing(ws: Workspace, source: RequestSource | Path, signer: Signer):
    """What an approval or its withdrawal starts from, under the lock: the verified workspace,
    the request (not applied yet) and the declared principal behind the signer."""
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg)
    checked = validate_request(source, reg)
    _refuse_applied_name(ws, hist, checked.request.metadata.name)
    directory = _directory(hist)
    return reg, hist, checked, directory, signer_principal(directory, signer)


def approve(ws: Workspace, source: RequestSource | Path, signer: Signer, *, municipality: str | None = None) -> dict:
    """Record a signed approval of the request's exact content by a declared principal."""
    with ws.locked():
        reg, hist, checked, directory, p = _signing(ws, source, signer)
        req = checked.request
        role, code = _approval_role(p, req, municipality)
        head = hist.head
        if isinstance(signer, DetachedSignature):
            head = _signed_head(hist, signer, lambda h: approval_statement(
                request=req.metadata.name, digest=checked.digest, role=role, municipality=code, principal=p.id,
                head=h)) or head
        message = approval_statement(request=req.metadata.name, digest=checked.digest, role=role,
                                     municipality=code, principal=p.id, head=head)
        data = {"request": req.metadata.name, "digest": checked.digest, "role": role, "by": p.display_name,
                "principal": p.id, "head": head}
        if code:
            data["municipality"] = code
        _sign(message, signer, directory, p, data, "approval of this request")
        status, _, reason = approvals.check_signature(data, directory)
        if status != "verified":            # never write an entry that would not count
            raise UsageError(f"refusing an approval that does not verify: {reason}")
        replayed = proof(hist)
        head_seq = next((e["seq"] for e in reversed(hist.entries) if e["hash"] == head), 0)
        later = [w for w in replayed.withdrawals.get((p.id, req.metadata.name, checked.digest), []) if w > head_seq]
        if later:                           # signed before this signer's own withdrawal: it would not count
            raise UsageError(f"refusing an approval signed before {p.id} withdrew theirs (history #{later[0]}): sign "
                             "the statement `govcloud request statement` prints now")
        for prior in tally(req, checked.digest, hist).counted:
            if prior.principal == p.id:
                raise UsageError(f"{p.id} already approved request {req.metadata.name} as {prior.slot} (history "
                                 f"#{prior.seq}); two approvals never come from one person")
            if prior.slot == ("platform" if role == "platform" else f"municipality {code}"):
                raise UsageError(f"request {req.metadata.name} already has the {prior.slot} approval "
                                 f"(by {prior.by}, history #{prior.seq})")
        return _append(ws, reg, hist, "request.approved", p.id, data)


def _signed_head(hist: history.History, signer: DetachedSignature, statement) -> str | None:
    """The recent head a detached signature was made against, or None."""
    for entry in reversed(hist.entries[-RECENT_HEADS:]):
        try:
            sshsig.verify(statement(entry["hash"]), signer.signature, APPROVAL_NAMESPACE)
            return entry["hash"]
        except sshsig.SignatureError:
            continue
    return None


def _sign(message: bytes, signer: Signer, directory: Directory, p: Principal, data: dict, what: str) -> None:
    """Put ``signer``'s signature of ``message`` into ``data`` (with signedBy, serviceKey)."""
    if isinstance(signer, KeySigner):
        data["signature"], data["signedBy"] = sshsig.sign(message, signer.key, APPROVAL_NAMESPACE), "key"
    elif isinstance(signer, ServiceSigner):
        data["signature"], data["signedBy"] = sshsig.sign(message, signer.key, APPROVAL_NAMESPACE), "service"
        data["serviceKey"], data["authentication"] = signer.key_id, signer.authentication
    else:
        try:
            sig = sshsig.verify(message, signer.signature, APPROVAL_NAMESPACE)
        except sshsig.SignatureError as exc:
            raise UsageError(f"the signature is not {p.id}'s {what} ({exc}); sign exactly the statement govcloud "
                             f"prints for it (request statement, tenant remove --statement), with namespace "
                             f"{APPROVAL_NAMESPACE}") from None
        if sig.public not in directory.keys_of(p.id):
            raise UsageError(f"the signature was made with key {sig.public.fingerprint}, which is not declared "
                             f"for {p.id} in tenants/principals.yaml")
        data["signature"], data["signedBy"] = signer.signature.strip() + "\n", "key"


def _active_approvals(hist: history.History, request: str, digest: str, principal: str) -> list[approvals.ApprovalRecord]:
    """The principal's verified approvals of this content that are not withdrawn (usually one;
    two when a first was signed with a key removed since)."""
    replayed = proof(hist)
    return [a for a in replayed.of(request, digest)
            if a.principal == principal and a.status == "verified" and a.seq not in replayed.withdrawn]


def _nothing_to_withdraw(principal: str, request: str) -> UsageError:
    return UsageError(f"{principal} has no approval of this content of request {request} to withdraw")


def identify_request(source: RequestSource | Path) -> tuple[str, str]:
    """(name, digest) of a request, from its shape alone: a withdrawal concerns content someone
    approved, which may no longer pass the rules (a contract ended, a pool filled up) and must
    still be withdrawable (found in review: a reject failed once the request stopped validating)."""
    if not isinstance(source, RequestSource):
        source = RequestSource.from_path(source)
    req, src = documents.parse(Path(source.display), TenantRequest, text=source.text)
    src.raise_if_errors()
    return req.metadata.name, request_digest(req)


def withdrawal_statement_for(ws: Workspace, source: RequestSource, principal: str) -> bytes:
    """The exact bytes ``principal`` signs to withdraw their (newest) approval of this content."""
    name, digest = identify_request(source)
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg)
    _refuse_applied_name(ws, hist, name)
    if principal not in _directory(hist).by_id:
        raise UsageError(f"no principal {principal!r} is declared in tenants/principals.yaml")
    targets = _active_approvals(hist, name, digest, principal)
    if not targets:
        raise _nothing_to_withdraw(principal, name)
    return withdrawal_statement(request=name, digest=digest, principal=principal, withdraws=targets[-1].seq)


def withdraw_approval(ws: Workspace, source: RequestSource | Path, signer: Signer, *, reason: str = "",
                      missing_ok: bool = False) -> dict | None:
    """Record that an approver takes back their approval of this content (before it is applied):
    a rejection after approving, or a change of mind. Signed like the approval, so only the
    approver can withdraw it; the approval no longer counts. With ``missing_ok``, None when the
    signer has no approval of this content to withdraw (a rejection without a prior approval)."""
    name, digest = identify_request(source)
    return withdraw_approval_of(ws, name, digest, signer, reason=reason, missing_ok=missing_ok)


def withdraw_approval_of(ws: Workspace, request: str, digest: str, signer: Signer, *, reason: str = "",
                         missing_ok: bool = False) -> dict | None:
    """:func:`withdraw_approval` by request name and content digest: one signed withdrawal naming
    the signer's newest active approval of this content, which voids all of them. Returns the
    withdrawal entry."""
    if len(reason) > 2000:
        raise UsageError("the reason is longer than 2000 characters")
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("the reason is not text (it holds bytes that are not UTF-8)") from None
    with ws.locked():
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        _refuse_applied_name(ws, hist, request)
        directory = _directory(hist)
        p = signer_principal(directory, signer)
        targets = _active_approvals(hist, request, digest, p.id)
        if not targets:
            if missing_ok:
                return None
            raise _nothing_to_withdraw(p.id, request)
        # One withdrawal voids every earlier approval of this signer for this content (approvals.replay);
        # it names the newest (the statement a detached signature was made over names that one).
        targets = targets[-1:]
        events = []
        replayed = proof(hist)
        for target in targets:
            message = withdrawal_statement(request=request, digest=digest, principal=p.id, withdraws=target.seq)
            data = {"request": request, "digest": digest, "withdraws": target.seq, "by": p.display_name,
                    "principal": p.id}
            if reason:
                data["reason"] = reason
            _sign(message, signer, directory, p, data, "withdrawal of that approval")
            why = approvals.check_withdrawal(data, directory, replayed)
            if why:                          # never write an entry that would not verify
                raise UsageError(f"refusing a withdrawal that does not verify: {why}")
            events.append(("request.approval-withdrawn", p.id, data))
        return _append_all(ws, reg, hist, events)


def _append(ws: Workspace, reg: Registry, hist: history.History, event: str, actor: str, data: dict,
            also: dict[Path, str | None] | None = None) -> dict:
    """Append one entry and move the address plan's head anchor with it, in one transaction
    (with ``also``: other files of the same change). The caller holds the lock."""
    return _append_all(ws, reg, hist, [(event, actor, data)], also)


def _append_all(ws: Workspace, reg: Registry, hist: history.History, events: list[tuple[str, str, dict]],
                also: dict[Path, str | None] | None = None) -> dict:
    """Append entries in one transaction; returns the last."""
    for event, actor, data in events:
        try:
            hist, entry = hist.with_event(event, actor, data)
        except ValidationError as exc:       # never a traceback for a value the entry model refuses
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            raise UsageError(f"refusing to record {event}: {where}: {first.get('msg')}") from None
    writes: dict[Path, str | None] = {**(also or {}), ws.history_file: hist.render()}
    if reg.plan is not None:
        writes[ws.ipam_file] = render_plan(ipam.with_history_head(reg.plan, hist.head), ws)
    commit(ws, writes, hist)
    return entry


def commit(ws: Workspace, writes: dict[Path, str | bytes | None], hist: history.History) -> None:
    """Commit one write's files as one transaction, then publish the new head ``hist`` to the
    history anchor when one is configured (:mod:`govcloud.anchor`). The caller holds the lock and
    ran :func:`ledger.require_intact` (which read the anchor). The signing key is loaded and
    checked *before* anything is written, so a writer that cannot sign the head writes nothing."""
    settings = anchor.load_settings(ws)
    key = None
    if settings is not None:
        key = anchor.load_signing_key(ws)
        declared = ledger.anchor_keys(hist)
        if key.public not in declared.values():
            raise UsageError(f"the history anchor is configured, and the key {anchor.signing_key_path(ws)} "
                             f"({key.public.fingerprint}) that would sign the new head is not a service key of the "
                             "recorded tenants/principals.yaml (spec.serviceKeys): nothing was written")
    if writes:
        ws.commit(writes)
    if settings is None or not hist.entries:
        return
    newest = hist.entries[-1]
    try:
        anchor.store(settings).publish(newest["seq"], newest["hash"], key)
    except anchor.AnchorUnreachable as exc:
        raise UsageError(f"the change was written (history #{newest['seq']}), but its head was not anchored: {exc}. "
                         "Every command reports the unanchored entries until the next write publishes a head "
                         "(or run `govcloud history anchor`)") from None


def publish_head(ws: Workspace) -> tuple[int, str, str, bool]:
    """Publish the current head to the configured history anchor: the first anchoring of an
    existing history, or the catch-up after a write whose publication failed. Runs every ledger
    check first (the anchor's included: a head that contradicts the anchor is never published)."""
    with ws.locked():
        settings = anchor.load_settings(ws)
        if settings is None:
            raise UsageError(anchor.not_configured(ws))
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        if not hist.entries:
            raise UsageError("the history has no entries yet: nothing to anchor")
        seq = hist.entries[-1]["seq"]
        try:
            done = any(k == anchor.record_key(settings, seq) for k, _ in anchor.store(settings).versions())
        except anchor.AnchorUnreachable as exc:
            raise UsageError(str(exc)) from None
        if not done:                   # a head is published once: a second version would be a finding
            commit(ws, {}, hist)
        return seq, hist.head, settings.label, not done


def _signatures(message: bytes, signers: list[KeySigner | DetachedSignature], authority: Directory,
                namespace: str, what: str) -> list[dict]:
    """[{principal, signature}] of every signer of ``message``, in order, each a declared principal
    of ``authority`` signing with a key declared for them; one signature per person."""
    out: list[dict] = []
    for signer in signers:
        p = signer_principal(authority, signer)
        if any(s["principal"] == p.id for s in out):
            raise UsageError(f"{p.id} signs twice: the signatures of {what} are those of different people")
        if isinstance(signer, KeySigner):
            signature = sshsig.sign(message, signer.key, namespace)
        else:
            try:
                sig = sshsig.verify(message, signer.signature, namespace)
            except sshsig.SignatureError as exc:
                raise UsageError(f"the signature is not {p.id}'s signature of {what} ({exc}); sign exactly the "
                                 f"statement govcloud prints for it, with namespace {namespace}") from None
            if sig.public not in authority.keys_of(p.id):
                raise UsageError(f"the signature was made with key {sig.public.fingerprint}, which is not declared "
                                 f"for {p.id} in tenants/principals.yaml")
            signature = signer.signature.strip() + "\n"
        out.append({"principal": p.id, "signature": signature})
    return out


def _principals_change(ws: Workspace):
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg, principals_pending=True)
    doc = reg.principals
    if doc is None:
        raise UsageError(f"{ws.relative(ws.principals_file)} is missing")
    src = reg.sources["Principals"]
    for loc, code, message in principals_rules(doc, vendors=reg.vendors, municipalities=reg.municipalities):
        src.add(code, message, loc)
    src.raise_if_errors()
    replayed = proof(hist)
    return reg, hist, doc, replayed, Directory.build(doc)


def principals_statement_for(ws: Workspace, principal: str) -> bytes:
    """The exact bytes ``principal`` signs to record the current ``tenants/principals.yaml``."""
    _, _, _, replayed, new = _principals_change(ws)
    current = replayed.current
    if principal not in (current or new).by_id:
        raise UsageError(f"no principal {principal!r} is declared in the "
                         f"{'recorded' if current else 'new'} Principals document")
    return principals_statement(digest=new.digest, principal=principal, version=len(replayed.directories) + 1,
                                replaces=current.digest if current else None)


def record_principals(ws: Workspace, signer: KeySigner | DetachedSignature | list[KeySigner | DetachedSignature]) -> dict | None:
    """Record the current ``tenants/principals.yaml`` in the history, signed by platform principals
    of the version in force (the first version: by one it declares); a change that grants approval
    power needs two (``principals.four_eyes_missing``). None when the document is already the
    recorded one."""
    signers = signer if isinstance(signer, list) else [signer]
    with ws.locked():
        reg, hist, doc, replayed, new = _principals_change(ws)
        current = replayed.current
        if current is not None and current.digest == new.digest:
            return None
        authority = current or new
        version, replaces = len(replayed.directories) + 1, current.digest if current else None
        signatures = []
        for one in signers:
            p = signer_principal(authority, one)
            if p.role not in ("platform", "municipality") or (current is None and p.role != "platform"):
                raise UsageError(f"{p.id} is a {p.role} principal: only a platform principal of the "
                                 f"{'recorded' if current else 'new'} Principals document records a change "
                                 "(a municipality's approver may co-sign one that concerns it)")
            message = principals_statement(digest=new.digest, principal=p.id, version=version, replaces=replaces)
            signatures += _signatures(message, [one], authority, PRINCIPALS_NAMESPACE, "this Principals change")
        if len({s["principal"] for s in signatures}) != len(signatures):
            raise UsageError("one principal signs a change once: the signatures are those of different people")
        data = {"digest": new.digest, "document": document_json(doc), "version": version, "signatures": signatures}
        if replaces is not None:
            data["replaces"] = replaces
        _, why = approvals.check_principals_entry(data, current, version=version, v2_seen=replayed.principals_v2)
        if why is not None:
            raise UsageError(f"refusing a change that would not verify: {why}")
        return _append(ws, reg, hist, "principals.recorded", signatures[0]["principal"], data)


# --- governed decisions: waivers, network exceptions ---------------------------------------------------


def governed_versions(hist: history.History, kind: str) -> list[governed.RecordedVersion]:
    return list(proof(hist).documents.get(kind, []))


def governed_statement_for(ws: Workspace, kind: str, principal: str) -> bytes:
    """The exact bytes ``principal`` signs to record the current file of ``kind``."""
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg, governed_pending=kind)
    body = governed.read_body(governed.path_of(ws, kind))
    if body is None:
        raise UsageError(f"{ws.relative(governed.path_of(ws, kind))} is missing")
    if principal not in _directory(hist).by_id:
        raise UsageError(f"no principal {principal!r} is declared in tenants/principals.yaml")
    versions = governed_versions(hist, kind)
    return governed_statement(kind=kind, digest=governed.digest_of(body), version=len(versions) + 1,
                              replaces=versions[-1].digest if versions else None, principal=principal)


def record_document(ws: Workspace, kind: str, signers: list[KeySigner | DetachedSignature], check) -> dict | None:
    """Record the current file of ``kind`` (a waivers or network-exceptions document), signed by
    every one of ``signers``. ``check(text, reg, versions, signers)`` is the owning layer's
    validation: it raises when the document is not valid or its new items lack the signers they
    need (it is handed the versions recorded so far and the new one). None when the file is
    already the recorded version."""
    with ws.locked():
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg, governed_pending=kind)
        path = governed.path_of(ws, kind)
        if not path.exists():
            raise UsageError(f"{ws.relative(path)} is missing: record an empty document to withdraw every item")
        text = yamlio.read_text(path)
        body = governed.read_body(path, text)
        versions = governed_versions(hist, kind)
        digest = governed.digest_of(body)
        if versions and versions[-1].digest == digest:
            return None
        directory = _directory(hist)
        version, replaces = len(versions) + 1, versions[-1].digest if versions else None
        signatures = []
        people = []
        for one in signers:
            p = signer_principal(directory, one)
            if p.role == "vendor":
                raise UsageError(f"{p.id} is a vendor principal: vendors never sign decisions")
            message = governed_statement(kind=kind, digest=digest, version=version, replaces=replaces, principal=p.id)
            signatures += _signatures(message, [one], directory, GOVERNED_NAMESPACE, f"this {kind} document")
            people.append(p)
        if len({s["principal"] for s in signatures}) != len(signatures):
            raise UsageError("one principal signs a document once: the signatures are those of different people")
        data = {"kind": kind, "digest": digest, "document": body, "version": version, "signatures": signatures}
        if replaces is not None:
            data["replaces"] = replaces
        recorded, why = approvals.check_document_entry(data, directory, versions[-1] if versions else None,
                                                       len(hist.entries) + 1)
        if why is not None:
            raise UsageError(f"refusing a record that would not verify: {why}")
        check(text, reg, versions + [recorded])
        actor = next((p.id for p in people if p.role == "platform"), people[0].id)
        return _append(ws, reg, hist, "document.recorded", actor, data)


# --- apply / remove ------------------------------------------------------------------------------------


def apply(ws: Workspace, source: RequestSource | Path, *, actor: str) -> list[Tenant]:
    with ws.locked():
        # Re-read inside the lock: a concurrent apply may have allocated since we were started.
        reg = load_registry(ws)
        hist = ledger.require_intact(ws, reg)
        checked = validate_request(source, reg)
        req = checked.request
        _refuse_applied_name(ws, hist, req.metadata.name)
        counted = tally(req, checked.digest, hist)
        if counted.missing:
            raise NotApproved(req.metadata.name, checked.digest, counted)
        if checked.plan is None:
            raise UsageError("the address plan tenants/ipam.yaml is missing")
        _refuse_held_ranges(reg, checked.planned)
        hist, entry = hist.with_event("request.applied", actor, {
            "request": req.metadata.name, "digest": checked.digest,
            "tenants": {p.name: p.cidr for p in checked.planned},
            "municipalities": list(req.spec.municipalities),
            "approvals": sorted(a.seq for a in counted.counted),
            "zones": {p.name: derived.effective_zone(req) for p in checked.planned},
        })
        tenants = [build_tenant(req, checked.digest, p, entry["hash"], entry["time"]) for p in checked.planned]
        writes: dict[Path, str | None] = {ws.active_dir / f"{t.name}.yaml": render_document(t) for t in tenants}
        writes[ws.requests_dir / "applied" / f"{req.metadata.name}.yaml"] = checked.source.text
        writes[ws.ipam_file] = render_plan(ipam.with_history_head(checked.plan, hist.head), ws)
        writes[ws.history_file] = hist.render()
        commit(ws, writes, hist)
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


def _removable(ws: Workspace, name: str) -> tuple[Registry, history.History, Tenant]:
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg)
    tenant = reg.tenants.get(name)
    if tenant is None:
        raise UsageError(f"no tenant named {name}; see govcloud tenant list")
    return reg, hist, tenant


def removal_statement_for(ws: Workspace, name: str, principal: str) -> bytes:
    """The exact bytes a platform principal signs to remove tenant ``name``."""
    _, hist, tenant = _removable(ws, name)
    if principal not in _directory(hist).by_id:
        raise UsageError(f"no principal {principal!r} is declared in tenants/principals.yaml")
    return removal_statement(tenant=name, cidr=tenant.spec.network.cidr, request=tenant.spec.request,
                             principal=principal)


def remove(ws: Workspace, name: str, *, actor: str, signer: Signer | None = None, dry_run: bool = False) -> Tenant:
    """Remove a tenant and release its range; ``dry_run`` runs every check and writes nothing.
    Once a Principals document is recorded, a platform principal signs the removal (``signer``):
    deleting a municipality's environment is not done under a typed name."""
    with ws.locked():
        reg, hist, tenant = _removable(ws, name)
        consumers = sorted(
            t.name for t in reg.tenants.values()
            if t.spec.environment == tenant.spec.environment
            and any(c.tenant == tenant.base_name for c in t.spec.apis.consumes)
        )
        if consumers:
            raise UsageError(f"tenant {name} publishes APIs that {', '.join(consumers)} consume; remove those first")
        named = exceptions_naming(ws, name)
        if named:
            raise UsageError(f"network exception(s) {', '.join(named)} in {ws.relative(ws.network_exceptions_file)} name "
                             f"tenant {name}: remove or change them first (an exception naming no tenant would leave "
                             "the workspace invalid)")
        assert reg.plan is not None
        plan = ipam.release(reg.plan, name)
        data = {"tenant": name, "cidr": tenant.spec.network.cidr, "request": tenant.spec.request}
        directory = proof(hist).current
        if directory is not None and signer is None and not dry_run:
            raise UsageError("removing a tenant is signed by a platform principal: add --key KEY (or --signature SIG "
                             "--principal ID over `govcloud tenant remove NAME --statement --principal ID`)")
        if directory is not None and signer is not None:
            p = signer_principal(directory, signer)
            if p.role != "platform":
                raise UsageError(f"{p.id} is a {p.role} principal: only the platform removes tenants")
            data.update(by=p.display_name, principal=p.id)
            _sign(removal_statement(tenant=name, cidr=data["cidr"], request=data["request"], principal=p.id),
                  signer, directory, p, data, f"removal of tenant {name}")
            why = approvals.check_removal(data, directory)
            if why:                          # never write an entry that would not verify
                raise UsageError(f"refusing a removal that does not verify: {why}")
            actor = p.id
        hist, _ = hist.with_event("tenant.removed", actor, data)
        if dry_run:
            return tenant
        commit(ws, {
            ws.active_dir / f"{name}.yaml": None,
            ws.ipam_file: render_plan(ipam.with_history_head(plan, hist.head), ws),
            ws.history_file: hist.render(),
        }, hist)
        return tenant


def exceptions_naming(ws: Workspace, tenant: str) -> list[str]:
    """Ids of the network exceptions whose ``from`` or ``to`` names ``tenant`` (read as plain data:
    the exception model belongs to the network layer, and a file that cannot be read refuses)."""
    if not ws.network_exceptions_file.exists():
        return []
    data, _ = yamlio.load_file(ws.network_exceptions_file)
    items = ((data or {}).get("spec") or {}).get("exceptions") or [] if isinstance(data, dict) else []
    named = []
    for item in items if isinstance(items, list) else []:
        ends = [item.get(k) for k in ("from", "to")] if isinstance(item, dict) else []
        if any(isinstance(e, dict) and e.get("tenant") == tenant for e in ends):
            named.append(str(item.get("id")))
    return named


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
        status = tenant.status.model_copy(update={"account_id": account_id})
        updated = tenant.model_copy(update={"status": status})
        _append(ws, reg, hist, "tenant.account-recorded", actor, {"tenant": name, "accountId": account_id},
                {ws.active_dir / f"{name}.yaml": render_document(updated)})
        return True


# The one derivation of a tenant document: what apply writes is what the ledger re-derives.
build_tenant = derived.build_tenant


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

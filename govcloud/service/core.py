"""Submissions and who may see and do what: the rules both adapters (API and portal) share.

Visibility (a submission another may not see is "not found", never "forbidden": its existence
is not disclosed):
- a vendor principal sees its own vendor's submissions (drafts included);
- a municipality approver sees submitted (not draft) submissions listing one of its codes;
- platform and security principals see every submission.

Actions: vendors submit, revise and withdraw their vendor's submissions; municipality approvers
approve or reject for their codes; platform principals approve or reject any submission and
apply; the security team only reads. The workspace is written only through
:mod:`govcloud.app.onboarding` (under the workspace lock).

Revise, withdraw, approve, reject and apply are one state machine (docs/service-approvals.md):
- every transition is an UPDATE of the submission row that carries the version it read
  (``db.Submission.version``), so of two racing transitions exactly one wins; the other is 409;
- a decision names what the decider saw (the revision number and/or the request digest) and
  is refused with 409 :class:`~govcloud.service.errors.Stale` when the submission moved on:
  nothing is signed;
- a transition that writes the workspace (approve, reject, apply) first *claims* the row (a
  versioned UPDATE), then writes the workspace with a guard that re-checks, under the workspace
  lock, that the claim is still held, then ends the claim with its result; a failed write
  releases the claim. While a claim is held, revise and withdraw are refused, so the record
  and the workspace cannot disagree about which revision was applied or whether a withdrawn
  submission was;
- a claim older than ``claim_lease_seconds`` (its process died) is settled under the workspace
  lock: applied if the workspace says so, released otherwise. The claimer's guard runs under the
  same lock, so a slow claimer whose claim was settled writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import selectinload, sessionmaker

from govcloud import sshsig
from govcloud.app import onboarding
from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.service import db
from govcloud.service.auth import Caller, Directories, OidcClient
from govcloud.service.config import ServiceConfig
from govcloud.service.errors import ServiceError, Stale, conflict, forbidden, not_found
from govcloud.tenants.principals import DetachedSignature, ServiceSigner
from govcloud.tenants.registry import load_registry
from govcloud.tenants.workflow import RequestSource

APPROVERS = ("municipality", "platform")
OPEN = ("draft", "submitted", "rejected")
MAX_COMMENT = 4000

# Submission ids are 32-bit in PostgreSQL's INTEGER; anything larger names no submission.
MAX_ID = 2**31 - 1
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"       # ledger.request_digest
# How long a decision waits for another decision's claim on the same submission to end (two
# approvers approving at once) before it is refused with 409; approvals take well under a second.
CLAIM_WAIT_SECONDS = 10.0
DOING = {"approve": "approved", "reject": "rejected", "apply": "applied"}


@dataclass(frozen=True)
class Expected:
    """What the decider saw: the revision number and/or the request digest shown to them (the
    portal's form carries both; an API call sends either). Nothing given: not said."""

    revision: int | None = None
    digest: str | None = None

    @property
    def given(self) -> bool:
        return self.revision is not None or self.digest is not None

    def matches(self, rev: db.Revision) -> bool:
        return (self.revision is None or self.revision == rev.number) and \
               (self.digest is None or self.digest == rev.digest)

    def describe(self) -> str:
        parts = ([f"revision {self.revision}"] if self.revision is not None else []) + \
                ([self.digest] if self.digest is not None else [])
        return " ".join(parts) or "an unnamed revision"


class StartupError(Exception):
    """The service cannot start (the message says why and what to do)."""


@dataclass
class Service:
    """Everything a request handler needs, built once by :func:`govcloud.service.app.create_app`."""

    config: ServiceConfig
    Session: sessionmaker
    directories: Directories
    service_key: sshsig.PrivateKey
    service_key_id: str
    oidc: OidcClient | None = None
    engine: object = None
    _preflights: dict = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)
    _findings: tuple | None = None

    @property
    def ws(self):
        return self.config.workspace

    # --- reading ------------------------------------------------------------------------------------

    def validate(self, text: str, display: str = "request.yaml") -> onboarding.Validation:
        self.ws.recover()
        return onboarding.validate(self.ws, RequestSource(text, display))

    def visible(self, caller: Caller, sub: db.Submission) -> bool:
        p = caller.principal
        if p.role in ("platform", "security"):
            return True
        if p.role == "vendor":
            return sub.vendor == p.vendor
        if p.role == "municipality":
            return sub.status != "draft" and any(c in p.municipalities for c in sub.codes)
        return False

    def _load(self, s: OrmSession, caller: Caller, sid: int) -> db.Submission:
        if not 1 <= sid <= MAX_ID:           # SQLite raised OverflowError (a 500) on a 20-digit id
            raise not_found(f"submission {sid}")
        sub = s.scalar(select(db.Submission).where(db.Submission.id == sid).options(
            selectinload(db.Submission.revisions), selectinload(db.Submission.comments),
            selectinload(db.Submission.decisions)))
        if sub is None or not self.visible(caller, sub):
            raise not_found(f"submission {sid}")
        return sub

    def get(self, caller: Caller, sid: int) -> db.Submission:
        with self.Session() as s:
            return self._load(s, caller, sid)

    def list(self, caller: Caller) -> list[db.Submission]:
        with self.Session() as s:
            q = select(db.Submission).options(selectinload(db.Submission.revisions)).order_by(db.Submission.id.desc())
            if caller.role == "vendor":
                q = q.where(db.Submission.vendor == caller.principal.vendor)
            elif caller.role == "municipality":
                q = q.where(db.Submission.status != "draft")
            # The codes are a JSON list: filtered here, not in SQL (a few thousand rows at most).
            return [sub for sub in s.scalars(q) if self.visible(caller, sub)]

    def source(self, rev: db.Revision) -> RequestSource:
        return RequestSource(rev.yaml_text, rev.display)

    def summary(self, caller: Caller, sid: int) -> dict:
        sub = self.get(caller, sid)
        rev = sub.latest
        out: dict = {"submission": sid, "status": sub.status, "revision": rev.number, "digest": rev.digest,
                     "valid": rev.valid, "summary": rev.result.get("summary"), "approvals": None}
        if not rev.valid:
            return out
        self.ws.recover()
        if sub.status != "applied":
            # The CIDRs to be allocated are the address plan's next free ranges *now*: recompute
            # them, the ones stored with the revision may have gone to a request applied since.
            now = self.validate(rev.yaml_text, rev.display)
            if now.valid and now.summary is not None:
                out["summary"] = asdict(now.summary)
        try:    # the municipalities by name, for a plain summary (八王子市, not 132012)
            munis = load_registry(self.ws).municipalities
            out["municipalityNames"] = {c: munis[c].spec.name for c in sub.codes if c in munis}
        except DiagnosticError:
            out["municipalityNames"] = {}
        try:
            status = onboarding.approval_status(self.ws, self.source(rev))
        except (UsageError, DiagnosticError) as exc:
            # Applied (its CIDRs are now held) or the workspace changed under it: say why.
            out["approvalsUnavailable"] = str(exc).splitlines()[0]
            return out
        out["approvals"] = {
            "complete": status.complete, "missing": status.missing,
            "counted": [_record(a) for a in status.counted],
            "ignored": [{**_record(a), "reason": why} for a, why in status.ignored],
        }
        return out

    def statement(self, caller: Caller, sid: int, municipality: str | None) -> bytes:
        sub = self.get(caller, sid)
        self._require_approver(caller, sub)
        rev = self._approvable(sub)
        self.ws.recover()
        return onboarding.statement(self.ws, self.source(rev), caller.id, municipality)

    def preflight(self, caller: Caller, sid: int) -> dict:
        """What applying would deploy, planned, checked and proven before approving (platform
        principals; :func:`govcloud.app.onboarding.preflight`). Kept per request digest for the
        life of the process: it is seconds to minutes of CPU, and the digest pins what it judged."""
        sub = self.get(caller, sid)
        if caller.role != "platform":
            raise forbidden("the preflight is for platform principals")
        rev = self._approvable(sub)
        key = rev.digest or ""
        with self._cache_lock:
            cached = self._preflights.get(key)
        if cached is None:
            self.ws.recover()
            cached = onboarding.preflight(self.ws, self.source(rev)).as_dict()
            with self._cache_lock:
                self._preflights[key] = cached
        return cached

    def findings(self, caller: Caller) -> dict:
        """The baseline controls over every stack of the workspace as planned offline, and whether
        the network proof holds (what ``govcloud report`` shows; platform and security). Kept
        until the history or the waivers change: the plan cache makes a recomputation seconds."""
        if caller.role not in ("platform", "security"):
            raise forbidden("findings are for the platform and security teams")
        from govcloud.report.service import snapshot

        self.ws.recover()
        waivers = self.ws.waivers_file
        key = (self.ws.history_file.stat().st_mtime_ns,
               waivers.stat().st_mtime_ns if waivers.exists() else 0)
        with self._cache_lock:
            if self._findings and self._findings[0] == key:
                return self._findings[1]
        snap = snapshot(self.ws)
        f = snap.findings
        result = {"stacks": f.stacks, "evaluated": f.evaluated, "failedMandatory": f.failed_mandatory,
                  "advisory": f.advisory, "waived": f.waived, "proofHolds": snap.proof.ok,
                  "rows": [{"control": r.control, "title": {"ja": r.title.ja, "en": r.title.en}, "severity": r.severity,
                            "mode": r.mode, "status": r.status, "stack": r.stack, "tenant": r.tenant,
                            "resource": r.resource, "message": r.message, "waiver": r.waiver} for r in f.rows],
                  "notes": f.notes}
        with self._cache_lock:
            self._findings = (key, result)
        return result

    def tenants(self, caller: Caller) -> list[dict]:
        self.ws.recover()
        reg = load_registry(self.ws)
        p = caller.principal
        out = []
        for t in sorted(reg.tenants.values(), key=lambda t: t.name):
            if p.role == "vendor" and t.spec.vendor != p.vendor:
                continue
            if p.role == "municipality" and not set(t.spec.municipalities) & set(p.municipalities):
                continue
            out.append(t.model_dump(mode="json", by_alias=True, exclude_none=True))
        return out

    def history(self, caller: Caller) -> dict:
        if caller.role not in ("platform", "security"):
            raise forbidden("the history proof is for the platform and security teams")
        self.ws.recover()
        return onboarding.prove_history(self.ws).as_dict()

    def timeline(self, sub: db.Submission) -> list[dict]:
        events = [{"time": r.created_at, "kind": "revision", "principal": r.principal, "revision": r.number,
                   "valid": r.valid, "digest": r.digest} for r in sub.revisions]
        events += [{"time": d.created_at, "kind": d.kind, "principal": d.principal, "revision": d.revision,
                    "role": d.role, "municipality": d.municipality, "comment": d.comment,
                    "historySeq": d.history_seq, "signedBy": d.signed_by} for d in sub.decisions]
        events += [{"time": c.created_at, "kind": "comment", "principal": c.principal, "revision": c.revision,
                    "comment": c.body} for c in sub.comments]
        return sorted(events, key=lambda e: (e["time"], e["kind"] != "revision"))

    # --- vendors ------------------------------------------------------------------------------------

    # Validation (tens of milliseconds of CPU) runs before the database transaction, never inside
    # it: on SQLite a transaction that has written holds the one write lock, and every other
    # writer would queue behind the validation.

    def submit(self, caller: Caller, text: str) -> db.Submission:
        if caller.role != "vendor":
            raise forbidden("only vendor principals submit requests")
        self._check_vendor(caller, text)
        record = self._validated(text, "submissions/new/revision-1.yaml")
        with self.Session.begin() as s:
            sub = db.Submission(vendor=caller.principal.vendor, principal=caller.id, status="draft")
            s.add(sub)
            s.flush()
            self._add_revision(s, caller, sub, text, 1, record)
        return self.get(caller, sub.id)

    def revise(self, caller: Caller, sid: int, text: str) -> db.Submission:
        sub = self.get(caller, sid)
        self._require_owner(caller, sub)
        number = sub.latest.number + 1
        self._check_vendor(caller, text)
        record = self._validated(text, f"submissions/{sid}/revision-{number}.yaml")

        def change(s: OrmSession, sub: db.Submission) -> None:
            self._require_open(sub, "revised")
            if sub.latest.number + 1 != number:
                raise conflict(f"submission {sid} was revised meanwhile (revision {sub.latest.number}); "
                               "look at it and revise again")
            self._add_revision(s, caller, sub, text, number, record)

        self._transition(caller, sid, change)
        return self.get(caller, sid)

    def withdraw(self, caller: Caller, sid: int) -> db.Submission:
        def change(s: OrmSession, sub: db.Submission) -> None:
            self._require_owner(caller, sub)
            self._require_open(sub, "withdrawn")
            sub.status, sub.updated_at = "withdrawn", db.utcnow()
            s.add(db.Decision(submission_id=sid, revision=sub.latest.number, digest=sub.latest.digest or "",
                              kind="withdraw", principal=caller.id, role="vendor"))
            self._notify(s, "submission.withdrawn", sub, ["platform", *sub.codes])

        self._transition(caller, sid, change)
        return self.get(caller, sid)

    # --- the state machine ----------------------------------------------------------------------------

    def _transition(self, caller: Caller, sid: int, change: Callable[[OrmSession, db.Submission], None]) -> None:
        """One transition of a submission in one transaction: ``change`` checks the state it
        loaded and changes the row; the UPDATE carries the version read, so a concurrent
        transition that committed first makes this one a 409, never an overwrite."""
        self._settle_if_stale(sid)
        try:
            with self.Session.begin() as s:
                sub = self._load(s, caller, sid)
                change(s, sub)
                s.flush()
        except StaleDataError:
            raise conflict(f"submission {sid} changed while this request was being made; look at it again") from None

    def _require_open(self, sub: db.Submission, verb: str) -> None:
        if sub.claim is not None:
            raise conflict(f"submission {sub.id} is being {DOING.get(sub.claim, sub.claim)} by {sub.claimed_by}; "
                           f"it cannot be {verb} now")
        if sub.status not in OPEN:
            raise conflict(f"submission {sub.id} is {sub.status}; it cannot be {verb}")

    def current(self, sub: db.Submission) -> dict:
        """What a submission is now (the body of a 409 Stale)."""
        rev = sub.latest
        return {"submission": sub.id, "status": sub.status, "revision": rev.number, "digest": rev.digest,
                "valid": rev.valid, "version": sub.version,
                "claim": {"kind": sub.claim, "by": sub.claimed_by} if sub.claim else None}

    def _stale(self, sub: db.Submission, expected: Expected, verb: str) -> Stale:
        rev = sub.latest
        now = f"revision {rev.number} ({rev.digest or 'not valid'})"
        if sub.status != "submitted":
            now = f"{sub.status} at {now}"
        # What the portal shows (plain values: the ORM objects die with the rolled-back session):
        # the current content, and the revision the decider saw when it is still on record.
        seen = next((r for r in reversed(sub.revisions)
                     if expected.given and r.number != rev.number and
                     (expected.revision in (None, r.number)) and (expected.digest in (None, r.digest))), None)
        snapshot = {**self.current(sub), "request": sub.request_name, "yaml": rev.yaml_text,
                    "seen": {"revision": seen.number, "digest": seen.digest, "yaml": seen.yaml_text} if seen else None,
                    "expected": {"revision": expected.revision, "digest": expected.digest}}
        return Stale(f"submission {sub.id} changed since you looked at it: this {verb} names {expected.describe()}, "
                     f"the submission is now {now}. Nothing was signed or written: review it again",
                     self.current(sub), snapshot)

    def _decidable(self, sub: db.Submission, expected: Expected, verb: str) -> db.Revision:
        """The revision a decision is about: the latest, submitted, and the one the decider saw."""
        if sub.status != "submitted":
            if expected.given:
                raise self._stale(sub, expected, verb)
            raise conflict(f"submission {sub.id} is {sub.status}, not submitted")
        if not expected.matches(sub.latest):
            raise self._stale(sub, expected, verb)
        return sub.latest

    def _claim(self, caller: Caller, sid: int, kind: str, rev: db.Revision, expected: Expected, verb: str) -> int:
        """Claim the submission for a transition that writes the workspace; returns the version
        that holds the claim. Waits a little for another decision's claim to end (two approvers
        at once); refuses when the submission moved on from ``rev`` (Stale: nothing signed)."""
        deadline = time.monotonic() + CLAIM_WAIT_SECONDS
        pause = 0.02
        while True:
            self._settle_if_stale(sid)
            busy = None
            try:
                with self.Session.begin() as s:
                    sub = self._load(s, caller, sid)
                    self._decidable(sub, expected, verb)
                    if sub.latest.number != rev.number:
                        raise self._stale(sub, Expected(rev.number, rev.digest), verb)
                    if sub.claim is None:
                        sub.claim, sub.claimed_by, sub.claimed_at = kind, caller.id, db.utcnow()
                        s.flush()                      # UPDATE ... WHERE version = :read
                        version = sub.version
                    else:
                        busy = f"being {DOING.get(sub.claim, sub.claim)} by {sub.claimed_by}"
                if busy is None:
                    return version
            except StaleDataError:
                busy = "changing"
            if time.monotonic() > deadline:
                raise conflict(f"submission {sid} is {busy}; try again in a moment")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _hold(self, sid: int, version: int, kind: str):
        """The guard run under the workspace lock before the write: the claim is still ours."""
        def guard() -> None:
            with self.Session() as s:
                row = s.get(db.Submission, sid, populate_existing=True)
                if row is None or row.version != version or row.claim != kind:
                    raise conflict(f"submission {sid}: this {kind} outlived its claim (another process settled it); "
                                   "nothing was written: look at the submission again")
        return guard

    def _finish(self, sid: int, version: int, change: Callable[[OrmSession, db.Submission], None] | None = None) -> bool:
        """End a claim held at ``version`` with ``change`` (or release it unchanged). False when
        the claim is no longer ours."""
        try:
            with self.Session.begin() as s:
                row = s.get(db.Submission, sid, populate_existing=True)
                if row is None or row.version != version or row.claim is None:
                    return False
                if change is not None:
                    change(s, row)
                row.claim = row.claimed_by = row.claimed_at = None
                row.updated_at = db.utcnow()
        except StaleDataError:
            return False
        return True

    def _settle_if_stale(self, sid: int) -> None:
        if not 1 <= sid <= MAX_ID:
            return
        with self.Session() as s:
            row = s.get(db.Submission, sid)
            if row is None or row.claim is None or row.claimed_at is None:
                return
            lease = dt.timedelta(seconds=self.config.claim_lease_seconds)
            if db.utcnow() - row.claimed_at < lease:
                return
            version = row.version
        self._settle(sid, version)

    def _settle(self, sid: int, version: int) -> None:
        """A claim that outlived its lease (its process died, or hangs): decide it by the
        workspace, under the workspace lock. A claimer still alive writes only after its guard
        saw its claim under this same lock, so it either wrote before (and the workspace says
        so) or will find the claim gone and write nothing."""
        with self.ws.locked():
            def change(s: OrmSession, row: db.Submission) -> None:
                rev = row.latest
                if row.claim != "apply" or row.status != "submitted":
                    return    # an approval or rejection: the summary is computed from the workspace
                entry = self._applied_entry(row.request_name, rev.digest)
                if entry is not None:
                    self._record_applied(s, row, rev, row.claimed_by or "", entry["data"]["tenants"])
            self._finish(sid, version, change)

    def _check_vendor(self, caller: Caller, text: str) -> None:
        """A vendor submits for its own vendor only. A request naming another vendor of the
        workspace is refused; a misspelt vendor is left to the diagnostics (GC204)."""
        declared = _declared_vendor(text)
        if declared is None or declared == caller.principal.vendor:
            return
        directory = self.directories.require()
        known = {p.vendor for p in directory.by_id.values() if p.vendor}
        try:
            known |= set(load_registry(self.ws).vendors)
        except DiagnosticError:
            pass
        if declared in known:
            raise forbidden(f"{caller.id} submits for vendor {caller.principal.vendor}, not {declared}")

    def _validated(self, text: str, display: str) -> dict:
        result = self.validate(text, display)
        summary = asdict(result.summary) if result.summary else None
        return {"valid": result.valid, "diagnostics": [d.as_dict() for d in result.diagnostics], "summary": summary}

    def _add_revision(self, s: OrmSession, caller: Caller, sub: db.Submission, text: str, number: int,
                      record: dict) -> None:
        display = f"submissions/{sub.id}/revision-{number}.yaml"
        for d in record["diagnostics"]:       # named before the submission had its id
            d["path"] = display
        summary, valid = record["summary"], record["valid"]
        s.add(db.Revision(submission_id=sub.id, number=number, yaml_text=text, valid=valid,
                          digest=summary["digest"] if summary else None, principal=caller.id,
                          validation=json.dumps(record, ensure_ascii=False)))
        sub.status = "submitted" if valid else "draft"
        sub.updated_at = db.utcnow()
        if summary:
            sub.request_name = summary["name"]
            sub.municipalities = json.dumps(summary["municipalities"])
        if valid:
            self._notify(s, "submission.submitted", sub, ["platform", *sub.codes])

    # --- approvers ----------------------------------------------------------------------------------

    def _require_owner(self, caller: Caller, sub: db.Submission) -> None:
        if caller.role != "vendor" or sub.vendor != caller.principal.vendor:
            raise forbidden("only the submitting vendor revises or withdraws its submission")

    def _require_approver(self, caller: Caller, sub: db.Submission) -> None:
        if caller.role not in APPROVERS:
            raise forbidden(f"{caller.id} is a {caller.role} principal: only municipality and platform "
                            "principals approve or reject")

    def _approvable(self, sub: db.Submission) -> db.Revision:
        return self._decidable(sub, Expected(), "look")

    def approve(self, caller: Caller, sid: int, *, municipality: str | None = None,
                signature: str | None = None, comment: str = "", expected: Expected = Expected()) -> dict:
        """Record a signed approval of the revision the approver saw (``expected``): the
        approver's own detached SSH signature when given (recorded exactly like ``govcloud
        request approve --signature``; it binds the digest itself), otherwise the service's
        signature on behalf of the authenticated principal, which needs ``expected``."""
        sub = self.get(caller, sid)
        self._require_approver(caller, sub)
        rev = self._decidable(sub, expected, "approval")
        _check_comment(comment)
        if caller.role == "municipality" and municipality is not None \
                and municipality not in caller.principal.municipalities:
            raise forbidden(f"{caller.id} approves for {', '.join(caller.principal.municipalities)}, "
                            f"not for {municipality}")
        if signature is not None:
            if len(signature) > sshsig.MAX_ARMORED:
                raise ServiceError(400, "bad_signature", "the signature is too large")
            try:
                sshsig.parse(signature)
            except sshsig.SignatureError as exc:
                raise ServiceError(400, "bad_signature", f"not an SSH signature: {exc}") from None
            signer = DetachedSignature(caller.id, signature)
        else:
            if not expected.given:
                # The service signs for the approver: it must know what the approver saw, or a
                # revision made after they looked would be signed in their name (issue 19).
                raise ServiceError(400, "digest_required",
                                   "say which revision you approve: send its digest (revision.digest of GET "
                                   f"/api/v1/submissions/{sid}) or its number (revision); the service signs only "
                                   "what you saw")
            signer = ServiceSigner(self.service_key_id, self.service_key, caller.id, caller.authentication)
        version = self._claim(caller, sid, "approve", rev, expected, "approval")
        try:
            entry = onboarding.approve(self.ws, self.source(rev), signer, municipality=municipality,
                                       guard=self._hold(sid, version, "approve"))
        except BaseException:
            self._finish(sid, version)
            raise
        data = entry["data"]

        def record(s: OrmSession, row: db.Submission) -> None:
            s.add(db.Decision(submission_id=sid, revision=rev.number, digest=data["digest"], kind="approve",
                              principal=caller.id, role=data["role"], municipality=data.get("municipality"),
                              comment=comment, history_seq=entry["seq"], signed_by=data["signedBy"]))
            self._notify(s, "submission.approved", row, [row.principal, "platform"],
                         {"by": caller.id, "historySeq": entry["seq"]})

        if not self._finish(sid, version, record):
            # Settled by another process after the lease: the approval is in the history all the
            # same, so the timeline records it.
            self._record_anyway(sid, record)
        return entry

    def _record_anyway(self, sid: int, change: Callable[[OrmSession, db.Submission], None]) -> None:
        with self.Session.begin() as s:
            row = s.get(db.Submission, sid, populate_existing=True)
            change(s, row)

    def reject(self, caller: Caller, sid: int, comment: str, expected: Expected = Expected()) -> db.Submission:
        if not comment.strip():
            raise ServiceError(400, "comment_required", "say why: a rejection carries a comment")
        _check_comment(comment)
        sub = self.get(caller, sid)
        self._require_approver(caller, sub)
        rev = self._decidable(sub, expected, "rejection")
        code = None
        if caller.role == "municipality":
            mine = [c for c in sub.codes if c in caller.principal.municipalities]
            if not mine:
                raise forbidden(f"{caller.id} approves for none of this request's municipalities")
            code = mine[0]
        version = self._claim(caller, sid, "reject", rev, expected, "rejection")
        # A rejection takes back the rejecter's own approval of this content in the history, where
        # approvals count, not only here: otherwise the same content resubmitted would still carry
        # it (found in review). By name and digest, not by re-validating: content that stopped
        # passing the rules can still be rejected (found in review).
        withdrawn = None
        try:
            if sub.request_name and rev.digest:
                withdrawn = onboarding.withdraw_approval_of(
                    self.ws, sub.request_name, rev.digest,
                    ServiceSigner(self.service_key_id, self.service_key, caller.id, caller.authentication),
                    reason=comment, missing_ok=True, guard=self._hold(sid, version, "reject"))
        except BaseException:
            self._finish(sid, version)
            raise

        def record(s: OrmSession, row: db.Submission) -> None:
            s.add(db.Decision(submission_id=sid, revision=rev.number, digest=rev.digest or "", kind="reject",
                              principal=caller.id, role=caller.role, municipality=code, comment=comment,
                              history_seq=withdrawn["seq"] if withdrawn else None,
                              signed_by=withdrawn["data"]["signedBy"] if withdrawn else ""))
            if row.status == "submitted" and row.latest.number == rev.number:
                row.status, row.updated_at = "rejected", db.utcnow()
            self._notify(s, "submission.rejected", row, [row.principal], {"by": caller.id, "comment": comment})

        if not self._finish(sid, version, record):
            self._record_anyway(sid, record)
        return self.get(caller, sid)

    def apply(self, caller: Caller, sid: int, expected: Expected = Expected()) -> list[dict]:
        sub = self.get(caller, sid)
        if caller.role != "platform":
            raise forbidden("only platform principals apply requests")
        rev = self._decidable(sub, expected, "apply")
        version = self._claim(caller, sid, "apply", rev, expected, "apply")
        try:
            tenants = onboarding.apply(self.ws, self.source(rev), actor=caller.id,
                                       guard=self._hold(sid, version, "apply"))
        except (UsageError, DiagnosticError):
            # Applied already with this exact content (from the command line, or by a process that
            # died before recording it here): the workspace is the truth, so say applied.
            entry = self._applied_entry(sub.request_name, rev.digest)
            if entry is None:
                self._finish(sid, version)
                raise
            self._end_apply(sid, version, rev, caller, entry["data"]["tenants"])
            return [{"name": name, "cidr": cidr} for name, cidr in entry["data"]["tenants"].items()]
        except BaseException:
            self._finish(sid, version)
            raise
        self._end_apply(sid, version, rev, caller, {t.name: t.spec.network.cidr for t in tenants})
        return [{"name": t.name, "environment": t.spec.environment, "cidr": t.spec.network.cidr,
                 "cloud": t.spec.cloud, "region": t.spec.region, "zone": t.spec.zone} for t in tenants]

    def _applied_entry(self, name: str | None, digest: str | None) -> dict | None:
        return onboarding.applied_record(self.ws, name or "", digest or "")

    def _end_apply(self, sid: int, version: int, rev: db.Revision, caller: Caller, tenants: dict[str, str]) -> None:
        if self._finish(sid, version, lambda s, row: self._record_applied(s, row, rev, caller.id, tenants)):
            return
        # Our claim was settled by another process after its lease: it found the workspace
        # applied (we wrote before it took the lock) and recorded it. Say so if it did not.
        with self.Session() as s:
            row = s.get(db.Submission, sid)
            if row is not None and row.status == "applied":
                return
        raise conflict(f"submission {sid} was applied in the workspace but its record was changed meanwhile; "
                       "reload it (the workspace is the truth)")

    def _record_applied(self, s: OrmSession, row: db.Submission, rev: db.Revision, principal: str,
                        tenants: dict[str, str]) -> None:
        row.status, row.updated_at = "applied", db.utcnow()
        s.add(db.Decision(submission_id=row.id, revision=rev.number, digest=rev.digest or "", kind="apply",
                          principal=principal, role="platform"))
        self._notify(s, "submission.applied", row, [row.principal, *row.codes], {"tenants": sorted(tenants)})

    def comment(self, caller: Caller, sid: int, body: str) -> None:
        if not body.strip():
            raise ServiceError(400, "comment_required", "an empty comment")
        _check_comment(body)
        with self.Session.begin() as s:
            sub = self._load(s, caller, sid)
            if caller.role == "security":
                raise forbidden("the security team reads; it does not comment")
            s.add(db.Comment(submission_id=sid, revision=sub.latest.number, principal=caller.id, body=body))

    def _notify(self, s: OrmSession, event: str, sub: db.Submission, recipients: list[str], extra: dict | None = None) -> None:
        payload = {"submission": sub.id, "request": sub.request_name, "status": sub.status, **(extra or {})}
        s.add(db.OutboxMessage(event=event, recipients=json.dumps(recipients),
                               payload=json.dumps(payload, ensure_ascii=False)))


def _check_comment(text: str) -> None:
    if len(text) > MAX_COMMENT:
        raise ServiceError(400, "comment_too_long", f"comments are limited to {MAX_COMMENT} characters")


def _record(a) -> dict:
    return {"seq": a.seq, "slot": a.slot, "role": a.role, "municipality": a.municipality, "by": a.by,
            "principal": a.principal, "signer": a.signer, "status": a.status}


def _declared_vendor(text: str) -> str | None:
    """``spec.vendor`` as written, if the text is readable enough to say (the validation that
    follows reports everything else)."""
    try:
        doc = yaml.safe_load(text)
        vendor = doc["spec"]["vendor"]
    except Exception:  # noqa: BLE001 - unreadable text: the diagnostics say why
        return None
    return vendor if isinstance(vendor, str) else None


def load_service_key(config: ServiceConfig, directories: Directories) -> tuple[sshsig.PrivateKey, str]:
    """The service's signing key, refused unless the recorded Principals document declares it
    (an approval it signed would not count otherwise)."""
    path = config.service_key
    if not path.exists():
        raise StartupError(f"no service key at {path}: create one with `govcloud serve key create` and declare its "
                           "public line under spec.serviceKeys in tenants/principals.yaml (then "
                           "`govcloud principals record`), or pass --service-key PATH")
    try:
        key = onboarding.load_key(path)
    except UsageError as exc:
        raise StartupError(str(exc)) from None
    try:
        directory = directories.current()
    except ServiceError as exc:
        raise StartupError(exc.message) from None
    if directory is None:
        raise StartupError("no Principals document is recorded in the history: record tenants/principals.yaml "
                           "with `govcloud principals record --key KEY` first")
    declared_id = directory.service_key_id(key.public)
    if declared_id is None:
        raise StartupError(f"the service key {path} ({key.public.fingerprint}) is not declared under spec.serviceKeys "
                           "in the recorded Principals document: declare its public line (`govcloud serve key show`), "
                           "then record the change with `govcloud principals record`")
    if config.service_key_id is not None and config.service_key_id != declared_id:
        raise StartupError(f"the service key {path} is declared as {declared_id!r}, not {config.service_key_id!r}")
    return key, declared_id

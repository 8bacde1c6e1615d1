"""Onboarding as a service: validate a request, sign an approval, apply, record principals.

The command line (``govcloud request …``, ``govcloud principals …``) and the onboarding service
(``govcloud serve``) are adapters over these calls; both write the workspace only through
:mod:`govcloud.tenants.workflow`, under the workspace lock, so a request approved in the portal and
one approved on the command line end in the same history.
"""

from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from govcloud import anchor, sshsig
from govcloud.diagnostics import Diagnostic, DiagnosticError, UsageError
from govcloud.tenants import approvals, history, ledger, workflow
from govcloud.tenants.catalogue import load_catalogue
from govcloud.tenants.principals import DetachedSignature, Directory, KeySigner, Signer
from govcloud.tenants.registry import load_registry
from govcloud.tenants.workflow import RequestSource
from govcloud.workspace import Workspace


@dataclass(frozen=True)
class PlannedTenant:
    name: str
    environment: str
    cidr: str


@dataclass(frozen=True)
class RequestSummary:
    """What an approver needs to see (systems, environments, zone, cloud and region, CIDRs to be
    allocated, declared API flows): the portal's and ``request status``'s view of a request."""

    name: str
    digest: str
    vendor: str
    system: str
    system_ja: str
    usage: str
    municipalities: list[str]
    cloud: str
    region: str
    zone: str
    tenants: list[PlannedTenant]
    publishes: list[str]
    consumes: list[str]


@dataclass(frozen=True)
class Validation:
    source: str
    valid: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summary: RequestSummary | None = None

    def as_dict(self) -> dict:
        out: dict = {"file": self.source, "valid": self.valid,
                     "errors": [d.as_dict() for d in self.diagnostics if d.severity == "error"]}
        if self.summary:
            out.update(request=self.summary.name, digest=self.summary.digest,
                       tenants={t.name: t.cidr for t in self.summary.tenants})
        return out


def summarize(checked: workflow.ValidatedRequest) -> RequestSummary:
    req = checked.request
    spec = req.spec
    cat = load_catalogue()
    system = cat.systems.get(spec.system)
    zone = workflow.rules.effective_zone(req, cat) or ""
    return RequestSummary(
        name=req.metadata.name, digest=checked.digest, vendor=spec.vendor, system=spec.system,
        system_ja=system.ja if system else "", usage=spec.usage, municipalities=list(spec.municipalities),
        cloud=spec.cloud, region=spec.region, zone=zone,
        tenants=[PlannedTenant(p.name, p.environment, p.cidr) for p in checked.planned],
        publishes=[f"{a.name}:{a.port}/{a.protocol}" for a in spec.apis.publishes],
        consumes=[f"{c.tenant}/{c.api}" for c in spec.apis.consumes],
    )


def validate(ws: Workspace, source: RequestSource) -> Validation:
    """Every diagnostic of one request against the schema, the catalogues and the workspace."""
    try:
        checked = workflow.validate_request(source, load_registry(ws))
    except DiagnosticError as exc:
        return Validation(source.display, False, list(exc.diagnostics))
    return Validation(source.display, True, [], summarize(checked))


# --- approvals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalStatus:
    request: str
    digest: str
    counted: list[approvals.ApprovalRecord]
    missing: list[str]
    ignored: list[tuple[approvals.ApprovalRecord, str]]

    @property
    def complete(self) -> bool:
        return not self.missing


def approval_status(ws: Workspace, source: RequestSource) -> ApprovalStatus:
    reg = load_registry(ws)
    hist = ledger.require_intact(ws, reg)
    checked = workflow.validate_request(source, reg)
    t = workflow.tally(checked.request, checked.digest, hist)
    return ApprovalStatus(checked.request.metadata.name, checked.digest, t.counted, t.missing, t.ignored)


Guard = Callable[[], object]


@dataclass(frozen=True)
class _GuardedWorkspace(Workspace):
    """The workspace, with a check that runs first inside its lock, before the write reads or
    writes anything: an adapter that keeps its own record of a transition (the onboarding
    service's database) confirms there that the transition is still its to make. Every write of
    :mod:`govcloud.tenants.workflow` takes the lock once (``with ws.locked():``), so the guard
    runs exactly once per write, and a guard that raises leaves the workspace untouched."""

    guard: Guard | None = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        with super().locked():
            if self.guard is not None:
                self.guard()
            yield


def _guarded(ws: Workspace, guard: Guard | None) -> Workspace:
    return ws if guard is None else _GuardedWorkspace(ws.root, guard)


def approve(ws: Workspace, source: RequestSource, signer: Signer, *, municipality: str | None = None,
            guard: Guard | None = None) -> dict:
    """Sign and record an approval. ``guard`` (any write below takes it too) runs under the
    workspace lock before anything is read: raising there aborts the write."""
    return workflow.approve(_guarded(ws, guard), source, signer, municipality=municipality)


def statement(ws: Workspace, source: RequestSource, principal: str, municipality: str | None = None) -> bytes:
    return workflow.statement_for(ws, source, principal, municipality)


def withdraw_approval(ws: Workspace, source: RequestSource, signer: Signer, *, reason: str = "",
                      missing_ok: bool = False) -> dict | None:
    return workflow.withdraw_approval(ws, source, signer, reason=reason, missing_ok=missing_ok)


def withdraw_approval_of(ws: Workspace, request: str, digest: str, signer: Signer, *, reason: str = "",
                         missing_ok: bool = False, guard: Guard | None = None) -> dict | None:
    return workflow.withdraw_approval_of(_guarded(ws, guard), request, digest, signer, reason=reason,
                                         missing_ok=missing_ok)


def withdrawal_statement(ws: Workspace, source: RequestSource, principal: str) -> bytes:
    return workflow.withdrawal_statement_for(ws, source, principal)


def apply(ws: Workspace, source: RequestSource, *, actor: str, guard: Guard | None = None):
    return workflow.apply(_guarded(ws, guard), source, actor=actor)


def remove_tenant(ws: Workspace, name: str, *, actor: str, signer: Signer | None = None, dry_run: bool = False):
    return workflow.remove(ws, name, actor=actor, signer=signer, dry_run=dry_run)


def removal_statement(ws: Workspace, name: str, principal: str) -> bytes:
    return workflow.removal_statement_for(ws, name, principal)


def record_principals(ws: Workspace, signer) -> dict | None:
    """``signer``: one signer, or a list of them (a change that grants approval power needs two)."""
    return workflow.record_principals(ws, signer)


def principals_statement(ws: Workspace, principal: str) -> bytes:
    return workflow.principals_statement_for(ws, principal)


# --- preflight: what applying would deploy, checked before anyone approves it ---------------------


@dataclass(frozen=True)
class Preflight:
    """The request's tenants planned offline, the baseline controls over those plans, and the
    network proof with the candidate tenants added (what the platform sees before approving)."""

    request: str
    digest: str
    tenants: list[PlannedTenant]
    stacks: list[str]
    resources: int
    findings: list[dict]               # mandatory controls that fail: control, stack, resource, message
    violations: list[dict]             # network invariants broken with the candidates added
    new_reachable: list[str]           # "source → tenant protocol/port" that become reachable
    refusals: list[str]                # what could not be planned, checked or proven (never a pass)

    @property
    def ok(self) -> bool:
        return not (self.findings or self.violations or self.refusals)

    def as_dict(self) -> dict:
        return {"request": self.request, "digest": self.digest, "ok": self.ok,
                "tenants": [t.__dict__ for t in self.tenants], "stacks": self.stacks, "resources": self.resources,
                "findings": self.findings, "violations": self.violations, "newReachable": self.new_reachable,
                "refusals": self.refusals}


def preflight(ws: Workspace, source: RequestSource) -> Preflight:
    """Apply the request to a scratch copy of the workspace's documents (never to the workspace),
    plan the new tenants' stacks and the network stack offline (through the workspace's plan
    cache: unchanged stacks are not planned again), run the baseline controls over the new plans
    and prove the network invariants over every plan; report the reachable flows that are new."""
    import shutil
    import tempfile

    from govcloud.app.check import CheckRequest, check
    from govcloud.app.plan import PlanRequest, plan
    from govcloud.app.network import fabrics_from_plans
    from govcloud.network.errors import NetworkInputError, Unsupported
    from govcloud.network.verify import verify

    reg = load_registry(ws)
    checked = workflow.validate_request(source, reg)        # raises with the request's diagnostics
    req = checked.request
    refusals: list[str] = []
    with tempfile.TemporaryDirectory(prefix="govcloud-preflight-") as tmp:
        scratch = Workspace(Path(tmp) / "ws")
        shutil.copytree(ws.tenants_dir, scratch.tenants_dir,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
        for settings in ws.root.glob("Pulumi*.yaml"):
            shutil.copy(settings, scratch.root / settings.name)
        if ws.waivers_file.exists():
            scratch.waivers_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ws.waivers_file, scratch.waivers_file)
        # Share the content-addressed plan cache: a stack whose inputs did not change is reused.
        ws.plan_cache_dir.mkdir(parents=True, exist_ok=True)
        scratch.plan_cache_dir.parent.mkdir(parents=True, exist_ok=True)
        scratch.plan_cache_dir.symlink_to(ws.plan_cache_dir.resolve(), target_is_directory=True)
        for p in checked.planned:
            tenant = workflow.build_tenant(req, checked.digest, p, "0" * 64, history.now_iso())
            (scratch.active_dir / f"{tenant.name}.yaml").write_text(workflow.render_document(tenant), encoding="utf-8")
        if checked.plan is not None:
            scratch.ipam_file.write_text(workflow.render_plan(checked.plan, scratch), encoding="utf-8")
        names = [p.name for p in checked.planned]
        stacks, resources, findings, violations, new_reachable = [], 0, [], [], []
        plans_dir = Path(tmp) / "plans"
        for name in names:
            outcome = plan(scratch, PlanRequest(tenant=name, out_dir=plans_dir, jobs=1))
            for failed in outcome.run.failed:
                refusals.append(f"cannot plan {failed.stack}: {failed.error}")
            stacks += [r.stack for r in outcome.planned]
            resources += outcome.resources
        if not refusals:
            try:
                result = check(scratch, CheckRequest(plans_dir=plans_dir, checkov=False, partial=True))
                findings = [{"control": f.control, "stack": f.stack, "resource": f.resource, "message": f.message}
                            for f in result.failures]
            except DiagnosticError as exc:
                refusals += [d.format() for d in exc.diagnostics]
        try:
            _, before = fabrics_from_plans(ws, jobs=1)
            _, after = fabrics_from_plans(scratch, jobs=1)
            seen = {(r.source, r.destination, r.protocol, r.port) for f in before for r in verify(f).reachable}
            for fabric in after:
                report = verify(fabric)
                violations += [{"variant": report.variant, **v.as_dict()} for v in report.violations]
                new_reachable += sorted(f"{r.source} → {r.destination} {r.protocol}/{r.port}" for r in report.reachable
                                        if (r.source, r.destination, r.protocol, r.port) not in seen)
        except (UsageError, DiagnosticError, NetworkInputError, Unsupported) as exc:
            detail = exc.diagnostics[0].format() if isinstance(exc, DiagnosticError) else str(exc)
            refusals.append(f"the network proof could not be made: {detail}")
    return Preflight(req.metadata.name, checked.digest, summarize(checked).tenants, stacks, resources, findings,
                     violations, sorted(set(new_reachable)), refusals)


# --- proving the history -------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryProof:
    entries: int
    head: str
    approvals: list[approvals.ApprovalRecord]
    warnings: list[str]
    principals_versions: int
    withdrawn: dict[int, int] = field(default_factory=dict)     # approval seq -> its withdrawal's seq
    # The head anchored outside the workspace: its location when the chain agrees with it (None:
    # none configured), and the warnings about it (none configured, entries not anchored yet).
    anchored_at: str | None = None
    anchor_warnings: list[Diagnostic] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"entries": self.entries, "head": self.head, "principalsVersions": self.principals_versions,
                "approvals": [{"seq": a.seq, "time": a.time, "request": a.request, "digest": a.digest,
                               "role": a.role, "municipality": a.municipality, "by": a.by,
                               "principal": a.principal, "status": a.status, "signer": a.signer,
                               "withdrawnBy": self.withdrawn.get(a.seq)}
                              for a in self.approvals],
                "warnings": self.warnings,
                "anchor": {"location": self.anchored_at, "warnings": [d.as_dict() for d in self.anchor_warnings]}}


def prove_history(ws: Workspace, expect_head: str | None = None) -> HistoryProof:
    """The chain, its anchors and every signature; raises with every problem."""
    if expect_head is not None and not history.is_hash(expect_head):
        raise UsageError("--expect-head must be a SHA-256 hash (64 lowercase hex digits)")
    display = ws.relative(ws.history_file)
    try:
        reg = load_registry(ws)
    except DiagnosticError as exc:
        chain = history.diagnostics(ws.history_file, history.verify(ws.history_file), display)
        raise DiagnosticError(chain + exc.diagnostics) from None
    hist, found = ledger.problems(ws, reg)
    problems = [d for d in found if d.severity == "error"]
    if expect_head is not None and not problems and hist.head != expect_head:
        problems.append(history.diagnostics(ws.history_file, history.verify(ws.history_file, expect_head), display)[0])
    if problems:
        raise DiagnosticError(problems + [d for d in found if d.severity != "error"])
    replayed = ledger.proof(hist)
    settings = anchor.load_settings(ws)
    return HistoryProof(len(hist.entries), hist.head, replayed.approvals, [w for _, w in replayed.warnings],
                        len(replayed.directories), dict(replayed.withdrawn),
                        anchored_at=settings.label if settings is not None else None,
                        anchor_warnings=[d for d in found if d.severity != "error"])


def publish_head(ws: Workspace) -> tuple[int, str, str, bool]:
    """Publish the current head to the configured anchor (the first time, or after a write whose
    publication failed): (seq, hash, location, whether it was published now)."""
    return workflow.publish_head(ws)


def current_principals(ws: Workspace) -> Directory | None:
    """The Principals document in force: the last ``principals.recorded`` entry of a history whose
    chain verifies (raises DiagnosticError when it does not; None when none is recorded)."""
    hist = history.load(ws.history_file, ws.relative(ws.history_file))
    return ledger.proof(hist).current


def applied_record(ws: Workspace, request: str, digest: str) -> dict | None:
    """The ``request.applied`` entry of this request with exactly this content, if there is one."""
    hist = history.load(ws.history_file, ws.relative(ws.history_file))
    entry = ledger.applied_requests(hist).get(request)
    return entry if entry is not None and entry["data"]["digest"] == digest else None


def entry_signature(ws: Workspace, seq: int) -> tuple[bytes, str, str]:
    """(statement, armoured signature, namespace) of a signed entry, for ``ssh-keygen -Y verify``."""
    hist = history.load(ws.history_file, ws.relative(ws.history_file))
    entry = next((e for e in hist.entries if e["seq"] == seq), None)
    if entry is None:
        raise UsageError(f"no history entry #{seq} (the history has {len(hist.entries)})")
    from govcloud.tenants.approvals import signed_statements

    signed = signed_statements(entry)
    if signed:
        message, signature, namespace, _ = signed[0]       # the first signer of a co-signed entry
        return message, signature, namespace
    raise UsageError(f"history entry #{seq} ({entry['event']}) carries no signature")


# --- keys (the edge: files and the terminal) --------------------------------------------------------


def load_key(path: Path) -> sshsig.PrivateKey:
    """An SSH private key file; asks for its passphrase on the terminal (or takes
    ``GOVCLOUD_KEY_PASSPHRASE``) when it is encrypted."""
    try:
        data = path.expanduser().read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key {path}: {exc.strerror}") from None
    if len(data) > 64 * 1024:
        raise UsageError(f"{path} is not an SSH private key (too large)")
    try:
        return sshsig.load_private_key(data)
    except sshsig.SignatureError as exc:
        if "encrypted" not in str(exc):
            raise UsageError(f"{path}: {exc}") from None
    passphrase = os.environ.get("GOVCLOUD_KEY_PASSPHRASE")
    if passphrase is None:
        if not sys.stdin.isatty():
            raise UsageError(f"{path} is encrypted: run on a terminal to type its passphrase, or set "
                             "GOVCLOUD_KEY_PASSPHRASE")
        passphrase = getpass.getpass(f"passphrase for {path}: ")
    try:
        return sshsig.load_private_key(data, passphrase.encode("utf-8"))
    except sshsig.SignatureError as exc:
        raise UsageError(f"{path}: {exc} (wrong passphrase?)") from None


def read_signature(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read signature {path}: {exc}") from None
    try:
        sshsig.parse(text)
    except sshsig.SignatureError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return text

"""Network service: compile the SDN intent, prove the invariants over what the plans deploy (or a
compiled folder, or a native Cloud WAN policy), explain a path, diff two workspaces, gate a deploy.

Typed requests in, typed outcomes out; nothing here prints or exits (the CLI renders, DESIGN.md §3).
Planning lives here, not in ``govcloud.network``: the network controller sits below the stacks in
the layers, so the step that plans stacks and hands their documents to the plan reader belongs
to the application layer.

Re-verification after a small change is incremental (:class:`NetworkSession`): parsed documents
are kept by file (stat, then content hash), the readers' results by document part, and the
verifier's per-tenant results, and every reuse is checked against a full run in
tests/network/test_incremental.py.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

from govcloud import yamlio
from govcloud.diagnostics import Collector, DiagnosticError, UsageError
from govcloud.network.compile import TARGETS, Compiled, QuotaError, compile_network
from govcloud.network.fabric import Fabric, ReadMemo, fabrics_from_documents, load_fabrics
from govcloud.network.intent import Intent, IntentMemo, build_intent, load_exceptions
from govcloud.network.verify import Reach, Report, VerifyState, Violation, verify
# (configured_attachment_ids and offline_stack_outputs are also imported from here by tests and benchmarks)
from govcloud.stacks.network_plans import configured_attachment_ids, fabrics_from_plan_documents, offline_stack_outputs
from govcloud.stacks.network_proof import PlanProof, prove_plans, read_plan_documents
from govcloud.tenants import documents
from govcloud.tenants.models import AddressPlan, Municipality, Principals, Tenant, Vendor
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace

PLANNED = ("aws-cloudwan", "azure-vwan")   # what the stacks deploy (no Transit Gateway)
Source = Literal["plans", "compiled"]


# --- requests and outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofInput:
    """What a proof reads: the plans (default: planned now, from the plan cache; or a folder of plan
    documents proved as given), a compiled folder, or a native policy."""

    compiled_dir: Path | None = None
    policy: Path | None = None
    attachments: Path | None = None       # with policy only
    quotas: dict[str, int] = field(default_factory=dict)
    plans_dir: Path | None = None         # plan documents (govcloud plan, or exports of a deployment)

    @property
    def source(self) -> str:
        given = [name for name, value in (("policy", self.policy), ("compiled", self.compiled_dir),
                                          ("plans-dir", self.plans_dir)) if value is not None]
        if len(given) > 1:
            raise UsageError(f"--{given[0].replace('-dir', '')} and --{given[1].replace('-dir', '')} "
                             "cannot be combined: a proof reads one input")
        return given[0] if given else "plans"


@dataclass(frozen=True)
class CompileRequest:
    targets: tuple[str, ...] = TARGETS
    out_dir: Path | None = None           # default build/network
    quotas: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CompileOutcome:
    intent: Intent
    written: list[Path]
    out_dir: Path


@dataclass(frozen=True)
class VerifyRequest:
    inputs: ProofInput = ProofInput()


@dataclass(frozen=True)
class VerifyOutcome:
    reports: list[Report]
    intent: Intent | None                 # None for a compiled folder or a native policy

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)


@dataclass(frozen=True)
class ExplainRequest:
    source: str                           # attachment name (a site as CODE/SITE is accepted)
    destination: str
    port: int | None = None
    inputs: ProofInput = ProofInput()


@dataclass(frozen=True)
class ExplainOutcome:
    sections: list[tuple[str, list[str]]]  # (variant, lines)


@dataclass(frozen=True)
class DiffRequest:
    base: str                             # a git ref or a folder with tenants/
    source: Source = "plans"              # plans: what each side's plans deploy; compiled: each side's compiled intent


# (source, source zone, destination, destination zone, protocol, port): a path is keyed with the
# zones of both ends, so a tenant that moves into another zone opens its paths anew (moving a
# tenant from LGWAN into My Number opens internet-site → My Number, never hidden by an equal name).
PathKey = tuple[str, str, str, str, str, object]
MYNUMBER = "mynumber"


def violation_key(v: Violation) -> tuple:
    """What makes a violation the same one in the base and now (its message may name counts)."""
    return (v.invariant, v.layer, v.source, v.destination, v.reading)


@dataclass(frozen=True)
class DiffOutcome:
    opened: list[PathKey]
    closed: list[PathKey]
    after: dict[PathKey, Reach]
    before: dict[PathKey, Reach]
    new_violations: list[Violation] = field(default_factory=list)   # broken now, not in the base
    fixed_violations: list[Violation] = field(default_factory=list)

    @property
    def opened_into_mynumber(self) -> list[PathKey]:
        return [k for k in self.opened if k[3] == MYNUMBER]

    def gate(self, allow_mynumber_paths: bool = False) -> list[str]:
        """Why a CI job must stop on this change (empty: it may pass): a new path into My Number
        (unless ``allow_mynumber_paths``: a reviewed intake) and any newly broken invariant."""
        return gate_reasons([_path_text(k) for k in self.opened_into_mynumber],
                            [f"{v.invariant}: {v.message}" for v in self.new_violations], allow_mynumber_paths)


def gate_reasons(mynumber_paths: list[str], new_violations: list[str], allow_mynumber_paths: bool = False) -> list[str]:
    """The diff gate, shared by `network diff` and `govcloud diff`."""
    out = [f"new violation {text}" for text in new_violations]
    if not allow_mynumber_paths:
        out += [f"new path into the My Number zone: {text}" for text in mynumber_paths]
    return out


def _path_text(key: PathKey) -> str:
    return f"{key[0]} ({key[1]}) → {key[2]} ({key[3]}) {key[4]}/{key[5]}"


def attachment_name(text: str) -> str:
    """A site as people write it (CODE/SITE) or as the model names it (site:CODE:SITE)."""
    if "/" in text and not text.startswith("site:"):
        code, _, site = text.partition("/")
        return f"site:{code}:{site}"
    return text


# --- cached workspace reading --------------------------------------------------------------------------------------


@dataclass
class _Parsed:
    stat: tuple[int, int, int, int]       # size, mtime_ns, ctime_ns, inode
    digest: str
    model: type
    result: tuple[object, Collector]
    racy: bool                            # modified too close to when it was read: trust the content only


class DocumentCache:
    """Parsed and validated documents by file, so a re-verification re-reads only what changed.

    A file whose size, modification and change times and inode are what they were is not read
    again, unless it was modified within ``RACY_S`` of being read (file systems keep modification
    times at a clock tick, so a same-size edit in the same tick would look unchanged: git's
    "racy" rule); otherwise its content is hashed and, when the hash is unchanged, the earlier
    parse is kept. Anything else is parsed afresh, by the same ``documents.parse``."""

    RACY_S = 2.0

    def __init__(self) -> None:
        self.entries: dict[Path, _Parsed] = {}
        self.parsed = 0      # parses done (for tests and the benchmark)

    def parse(self, path: Path, model: type) -> tuple[object, Collector]:
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        kept = self.entries.get(path)
        if kept is not None and kept.model is model and kept.stat == key and not kept.racy:
            return kept.result
        text = yamlio.read_text(path)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        racy = time.time_ns() - st.st_mtime_ns < self.RACY_S * 1e9
        if kept is not None and kept.model is model and kept.digest == digest:
            kept.stat, kept.racy = key, racy
            return kept.result
        self.parsed += 1
        result = documents.parse(path, model, text=text)
        self.entries[path] = _Parsed(key, digest, model, result, racy)
        return result


def cached_registry(ws: Workspace, cache: DocumentCache) -> Registry:
    """``load_registry(ws)`` through the cache. Only a workspace whose every document parses
    cleanly is assembled here; anything else goes to ``load_registry``, which reports every
    problem as it always does (tests/network/test_incremental.py compares the two)."""
    listed = {folder: documents.document_files(folder, ws.root)
              for folder in (ws.municipalities_dir, ws.vendors_dir, ws.active_dir)}
    if any(found for _, found in listed.values()):
        return load_registry(ws)          # reports what does not belong in a document folder
    try:
        parsed = {kind: [cache.parse(p, model) for p in listed[folder][0]]
                  for kind, folder, model in (("Municipality", ws.municipalities_dir, Municipality),
                                              ("Vendor", ws.vendors_dir, Vendor), ("Tenant", ws.active_dir, Tenant))}
        plan = cache.parse(ws.ipam_file, AddressPlan) if ws.ipam_file.exists() else None
        principals = cache.parse(ws.principals_file, Principals) if ws.principals_file.exists() else None
    except DiagnosticError:
        return load_registry(ws)
    if plan is None or any(src.errors for items in parsed.values() for _, src in items) or plan[1].errors:
        return load_registry(ws)
    if principals is not None and principals[1].errors:
        return load_registry(ws)
    codes = [doc.spec.code for doc, _ in parsed["Municipality"]]
    if len(set(codes)) != len(codes):
        return load_registry(ws)
    sources: dict[str, Collector] = {}
    municipalities = {}
    for doc, src in parsed["Municipality"]:
        municipalities[doc.spec.code] = doc
        sources[f"Municipality/{doc.spec.code}"] = src
    vendors, tenants = {}, {}
    for doc, src in parsed["Vendor"]:
        vendors[doc.metadata.name] = doc
        sources[f"Vendor/{doc.metadata.name}"] = src
    for doc, src in parsed["Tenant"]:
        tenants[doc.metadata.name] = doc
        sources[f"Tenant/{doc.metadata.name}"] = src
    sources["AddressPlan"] = plan[1]
    if principals is not None:
        sources["Principals"] = principals[1]
    unreadable = set()
    for folder, kind in ((ws.municipalities_dir, "Municipality"), (ws.vendors_dir, "Vendor"), (ws.active_dir, "Tenant")):
        unreadable |= {f"{kind}/{p.stem}" for p in listed[folder][0]}
    return Registry(municipalities, vendors, tenants, plan[0], sources,
                    principals=principals[0] if principals is not None else None,
                    unreadable=frozenset(unreadable - set(sources)))


def cached_exceptions(ws: Workspace, cache: DocumentCache, reg: Registry | None = None):
    from govcloud.network.intent import NetworkExceptions, check_recorded, load_exceptions

    path = ws.network_exceptions_file
    if not path.exists():
        return load_exceptions(path, reg)            # refuses a recorded document deleted by hand
    doc, src = cache.parse(path, NetworkExceptions)
    src.raise_if_errors()
    # Only the recorded, signed version counts (govcloud.tenants.governed): checked on every
    # rebuild, the history being what a cache cannot vouch for.
    check_recorded(ws, doc, yamlio.read_text(path), src, reg)
    return list(doc.spec.exceptions), src


# --- the steps -------------------------------------------------------------------------------------------------------


def _compile(ws: Workspace, targets: tuple[str, ...], quotas: dict[str, int], reg: Registry | None = None,
             today: dt.date | None = None) -> tuple[Intent, Compiled]:
    from govcloud.network import pipeline

    try:
        return pipeline.compile_workspace(ws, targets, quota_overrides=quotas or None, reg=reg, today=today)
    except QuotaError as exc:
        raise UsageError(str(exc)) from None


def compile_to_folder(ws: Workspace, request: CompileRequest) -> CompileOutcome:
    from govcloud.network import pipeline

    intent, compiled = _compile(ws, request.targets, request.quotas)
    out_dir = (request.out_dir or ws.root / "build" / "network").resolve()
    return CompileOutcome(intent, pipeline.write_compiled(out_dir, compiled), out_dir)


@dataclass(frozen=True)
class PlannedStacks:
    plans: dict[str, dict]                # stack name -> plan document
    checked: dict | None = None           # the requested stack's plan, read through the plan contract


def plan_stacks(ws: Workspace, reg: Registry, *, stack: str | None = None, plan_dir: Path | None = None, jobs: int = 0,
                quotas: dict[str, int] | None = None) -> PlannedStacks:
    """Plan what the network proof reads, the `network` stack and every tenant stack (from the
    plan cache when unchanged), and ``stack`` (read through the plan contract, for the deploy
    gate's controls). One planning serves both the gate's controls and the network proof; the
    foundation stack alone plans only itself (the proof does not read it)."""
    from govcloud.plans import read_plan
    from govcloud.stacks import planner
    from govcloud.stacks.program import network_inputs

    stacks = [("network", None), *((f"tenant-{n}", reg.tenants[n]) for n in sorted(reg.tenants))]
    if stack == "foundation":
        stacks = []
    if stack is not None and stack not in dict(stacks):
        stacks = planner.select_stacks(reg, stack=stack) + stacks
    with tempfile.TemporaryDirectory(prefix="govcloud-verify-") as tmp:
        out = plan_dir or Path(tmp)
        run = planner.run_plans(ws, stacks, out, jobs=jobs or planner.default_jobs(),
                                network=network_inputs(ws, reg, quotas or None))
        if run.failed:
            raise UsageError(f"cannot plan {run.failed[0].stack}: {run.failed[0].error}")
        plans = {r.stack: json.loads(r.path.read_text(encoding="utf-8")) for r in run.results}
        checked = read_plan(planner.plan_file(out, stack)).as_json() if stack is not None else None
    return PlannedStacks(plans, checked)


def plan_inputs(ws: Workspace, *, plan_dir: Path | None = None, jobs: int = 0, reg: Registry | None = None,
                quotas: dict[str, int] | None = None) -> tuple[Intent, dict[str, dict], dict[str, object], dict[str, str]]:
    """The intent, the plans by stack, the compiled inventory and the configured attachment ids."""
    reg = reg or load_registry(ws)
    intent, compiled = _compile(ws, PLANNED, quotas or {}, reg=reg)
    plans = plan_stacks(ws, reg, plan_dir=plan_dir, jobs=jobs, quotas=quotas).plans
    return intent, plans, compiled.files, configured_attachment_ids(ws)


def fabrics_from_plans(ws: Workspace, *, plans: dict[str, dict] | None = None, plan_dir: Path | None = None,
                       jobs: int = 0, reg: Registry | None = None,
                       quotas: dict[str, int] | None = None) -> tuple[Intent, list[Fabric]]:
    """What the plans deploy, read into the model (planned now unless ``plans`` are given). The
    compiled configuration supplies only the inventory (who serves which municipality, site
    prefixes, declared flows, the inter-cloud link)."""
    reg = reg or load_registry(ws)
    intent, compiled = _compile(ws, PLANNED, quotas or {}, reg=reg)
    if plans is None:
        plans = plan_stacks(ws, reg, plan_dir=plan_dir, jobs=jobs, quotas=quotas).plans
    return intent, fabrics_from_plan_documents(ws, plans, compiled.files)


def _fabrics(ws_or_none, inputs: ProofInput) -> tuple[list[Fabric], Intent | None]:
    from govcloud.network import pipeline

    if inputs.policy is not None:
        from govcloud.network.native import load_native_policy

        return load_native_policy(inputs.policy, inputs.attachments), None
    if inputs.attachments is not None:
        raise UsageError("--attachments goes with --policy")
    if inputs.compiled_dir is not None:
        if not inputs.compiled_dir.is_dir():
            raise UsageError(f"{inputs.compiled_dir} is not a folder of compiled configuration")
        return load_fabrics(inputs.compiled_dir), None
    proof = prove_workspace_plans(ws_or_none(), inputs)
    return proof.fabrics, proof.intent


def prove_workspace_plans(ws: Workspace, inputs: ProofInput = ProofInput(), *, reg: Registry | None = None,
                          plans: dict[str, dict] | None = None) -> PlanProof:
    """The proof of what the plans deploy: ``plans`` when the caller planned them (the deploy
    gate), else the folder ``inputs.plans_dir`` as given (never re-planned), else the workspace
    planned now (from the plan cache). One entry point (stacks/network_proof.py) for `network
    verify`, the deploy gate and the report."""
    reg = reg or load_registry(ws)
    if plans is None:
        if inputs.source == "plans-dir":
            if not inputs.plans_dir.is_dir():
                raise UsageError(f"--plans {inputs.plans_dir}: not a folder of plan documents (govcloud plan --all "
                                 "--out DIR writes one)")
            plans = read_plan_documents(inputs.plans_dir)
        else:
            plans = plan_stacks(ws, reg, quotas=inputs.quotas).plans
    return prove_plans(ws, plans, reg=reg, quotas=inputs.quotas)


def verify_network(ws_or_none, request: VerifyRequest) -> VerifyOutcome:
    """``ws_or_none``: a callable giving the workspace (a compiled folder or a policy needs none)."""
    inputs = request.inputs
    if inputs.source in ("plans", "plans-dir"):
        proof = prove_workspace_plans(ws_or_none(), inputs)
        return VerifyOutcome(proof.reports, proof.intent)
    fabrics, intent = _fabrics(ws_or_none, inputs)
    return VerifyOutcome([verify(f) for f in fabrics], intent)


def explain_path(ws_or_none, request: ExplainRequest) -> ExplainOutcome:
    from govcloud.network.verify import explain

    fabrics, _ = _fabrics(ws_or_none, request.inputs)
    names = [attachment_name(request.source), attachment_name(request.destination)]
    sections = []
    for fabric in fabrics:
        try:
            sections.append((fabric.variant, explain(fabric, *names, request.port)))
        except KeyError as exc:
            raise UsageError(str(exc).strip('"')) from None
    return ExplainOutcome(sections)


@contextmanager
def workspace_at(ws: Workspace, base: str) -> Iterator[Workspace]:
    """The workspace as it was at a git ref (or another folder): its tenants/ and its stack
    settings (Pulumi*.yaml; the current ones when the ref has none). Its plans share the current
    workspace's plan cache, which is keyed by content, so an unchanged stack is not planned twice."""
    folder = Path(base)
    if folder.is_dir():
        if not (folder / "tenants").is_dir():
            raise UsageError(f"{folder} has no tenants/ folder")
        yield Workspace(folder.resolve())
        return
    tmp = Path(tempfile.mkdtemp(prefix="govcloud-base-"))
    try:
        archive = subprocess.run(["git", "-C", str(ws.root), "archive", "--format=tar", base, "tenants"],
                                 capture_output=True)
        if archive.returncode != 0:
            raise UsageError(f"cannot read tenants/ at {base!r}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        listed = subprocess.run(["git", "-C", str(ws.root), "ls-tree", "--name-only", base],
                                capture_output=True, text=True)
        settings = [n for n in listed.stdout.splitlines() if n.startswith("Pulumi") and n.endswith(".yaml")]
        if settings:
            archive = subprocess.run(["git", "-C", str(ws.root), "archive", "--format=tar", base, *settings],
                                     capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        else:
            for path in ws.root.glob("Pulumi*.yaml"):
                shutil.copy(path, tmp / path.name)
        base_ws = Workspace(tmp)
        if ws.plan_cache_dir.is_dir():
            base_ws.plan_cache_dir.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(ws.plan_cache_dir.resolve(), base_ws.plan_cache_dir, target_is_directory=True)
        yield base_ws
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def path_key(r: Reach, attachments: dict) -> PathKey:
    zone = lambda name: attachments.get(name, {}).get("zone", "")  # noqa: E731
    return (r.source, zone(r.source), r.destination, zone(r.destination), r.protocol, r.port)


def _proved(ws: Workspace, source: Source) -> tuple[dict[PathKey, Reach], list[Violation]]:
    from govcloud.network import pipeline

    if source == "compiled":
        _, compiled = _compile(ws, PLANNED, {})
        fabrics = pipeline.fabrics_from_compiled(compiled)
        reports = [verify(f) for f in fabrics]
    else:
        proof = prove_workspace_plans(ws)
        reports, fabrics = proof.reports, proof.fabrics
    if len(reports) != 1:
        raise UsageError(f"the plans hold {len(reports)} network variants; a diff compares one")
    (report,), (fabric,) = reports, fabrics
    return {path_key(r, fabric.attachments): r for r in report.reachable}, report.violations


def diff(ws: Workspace, request: DiffRequest) -> DiffOutcome:
    """Paths opened and closed between BASE and now: by default between what each side's plans
    deploy (as `verify` proves), with ``source="compiled"`` between the compiled intents; and the
    violations the change newly brings (and the ones it fixes)."""
    with workspace_at(ws, request.base) as old_ws:
        before, old_violations = _proved(old_ws, request.source)
    after, violations = _proved(ws, request.source)
    old_keys, new_keys = {violation_key(v) for v in old_violations}, {violation_key(v) for v in violations}
    return DiffOutcome(sorted(set(after) - set(before), key=_order), sorted(set(before) - set(after), key=_order),
                       after, before, [v for v in violations if violation_key(v) not in old_keys],
                       [v for v in old_violations if violation_key(v) not in new_keys])


def _order(key: PathKey) -> tuple:
    port = key[5]
    return (*key[:5], (0, port, "") if isinstance(port, int) else (1, 0, str(port)))


def network_gate(ws: Workspace, reg: Registry, stack: str, plans: dict[str, dict] | None = None) -> None:
    """Never deploy the network stack or a tenant stack whose plans fail the network proof: the
    verifier reads the plans of the network stack and every tenant (``plans`` when the caller has
    planned them already) and refuses on any violation, or on anything it cannot model."""
    if stack == "foundation":
        return
    from govcloud.network.errors import NetworkInputError, Unsupported

    try:
        violations = prove_workspace_plans(ws, reg=reg, plans=plans).violations
    except (NetworkInputError, Unsupported) as exc:
        raise UsageError(f"refusing to deploy {stack}: the network proof cannot be made from the plans: {exc}") from None
    if violations:
        listed = "; ".join(f"{v.invariant}: {v.message}" for v in violations[:5])
        raise UsageError(f"refusing to deploy {stack}: the plans fail the network proof ({len(violations)} "
                         f"violation(s)): {listed}. govcloud network verify shows each path")


# --- incremental re-verification ---------------------------------------------------------------------------------------


@dataclass
class SessionRun:
    intent: Intent
    reports: list[Report]
    reverified: int                       # tenants verified again (the rest reused)
    parsed: int                           # documents parsed again (the rest reused)
    seconds: dict[str, float]


class NetworkSession:
    """A workspace kept proven while it changes: intent → compile → verify again, reusing what
    the change did not touch.

    - documents: parsed again only when their file changed (:class:`DocumentCache`);
    - intent: a tenant's site flows are rebuilt only when its document or a document of a
      municipality it serves changed (:class:`govcloud.network.intent.IntentMemo`);
    - readers: a compiled document part equal to the previous one is not read again
      (:class:`govcloud.network.fabric.ReadMemo`; the compiler's output only, never a file);
    - verifier: per-tenant results are reused unless the tenant's rules or declared flows
      changed, or a changed tenant is a source its rules admit; when routing, attachments or
      the firewall change, everything is verified again (``verify(previous=...)``).

    The compiled configuration is verified (both AWS variants when asked); each call's reports
    equal a fresh full verification of the same workspace (tests/network/test_incremental.py)."""

    def __init__(self, ws: Workspace, targets: tuple[str, ...] = PLANNED, quotas: dict[str, int] | None = None):
        self.ws, self.targets, self.quotas = ws, targets, dict(quotas or {})
        self.documents = DocumentCache()
        self.intent_memo = IntentMemo()
        self.memo = ReadMemo()
        self.states: dict[str, VerifyState] = {}

    def verify(self, today: dt.date | None = None) -> SessionRun:
        # A national intent allocates hundreds of thousands of small containers and keeps most of
        # them: the cyclic collector would walk the whole heap again and again while they are
        # built (a third of the time measured). It is paused for the run and resumed after:
        # refcounting still frees what is dropped, and any cycle is collected once it resumes.
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._verify(today)
        finally:
            if paused:
                gc.enable()

    def _verify(self, today: dt.date | None) -> SessionRun:
        parsed_before = self.documents.parsed
        t0 = time.perf_counter()
        reg = cached_registry(self.ws, self.documents)
        exceptions, source = cached_exceptions(self.ws, self.documents, reg)
        t1 = time.perf_counter()
        intent = build_intent(reg, exceptions, today=today, source=source, memo=self.intent_memo)
        t2 = time.perf_counter()
        try:
            compiled = compile_network(intent, self.targets, quota_overrides=self.quotas or None)
        except QuotaError as exc:
            raise UsageError(str(exc)) from None
        t3 = time.perf_counter()
        fabrics = fabrics_from_documents(compiled.files, memo=self.memo)
        t4 = time.perf_counter()
        reports = []
        for fabric in fabrics:
            report = verify(fabric, previous=self.states.get(fabric.variant))
            self.states[fabric.variant] = report.state
            reports.append(report)
        t5 = time.perf_counter()
        return SessionRun(intent, reports, sum(r.reverified for r in reports), self.documents.parsed - parsed_before,
                          {"load_s": t1 - t0, "intent_s": t2 - t1, "compile_s": t3 - t2, "read_s": t4 - t3,
                           "verify_s": t5 - t4, "total_s": t5 - t0})

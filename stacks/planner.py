"""Plan stacks offline: one plan document per stack, in parallel worker processes, with a
content-hash cache so an unchanged stack (same tenant document, same code, same config) is never
planned twice.

A plan document is shaped like ``pulumi stack export`` (version 3): ``deployment.resources`` with
urn, custom, type, id, inputs, parent, provider, dependencies and propertyDependencies, plus a
``govcloud`` section with the stack's summary. Every consumer (checks, network verification,
reports) reads plan documents, so the same consumers work on an exported real deployment.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

from govcloud import yamlio
from govcloud.fsio import atomic_write, make_dir
from govcloud.plans import FOUNDATION, INDEX_FILE, NETWORK, PLAN_VERSION, iter_plan_json, render_plan as render_document, tenant_of, tenant_stack
from govcloud.tenants.catalogue import CATALOGUE_DIR
from govcloud.tenants.models import Tenant
from govcloud.workspace import Workspace

PROJECT = "govcloud"
CODE_DIRS = ("templates", "stacks", "network")
ENGINE_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_azure_native")


@dataclass(frozen=True)
class StackJob:
    stack: str
    tenant: dict | None          # Tenant document (JSON form) for tenant stacks
    config: dict[str, str]       # Pulumi config ("govcloud:key" -> value)
    key: str                     # content hash: cache key
    network: dict | None = None  # compiled network inputs: the policy, or this tenant's rules


@dataclass
class PlanResult:
    stack: str
    resources: int
    cached: bool
    seconds: float
    path: Path | None = None
    error: str | None = None


@dataclass
class PlanRun:
    results: list[PlanResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[PlanResult]:
        return [r for r in self.results if r.error]


# --- inputs and cache keys -------------------------------------------------------------------------


@functools.cache
def code_fingerprint() -> str:
    """Hash of everything that shapes a plan besides its inputs: our templates and stacks, the
    catalogues, and the Pulumi SDK and provider versions."""
    h = hashlib.sha256()
    package_root = Path(__file__).resolve().parent.parent
    roots = [Path(__import__(f"govcloud.{d}", fromlist=["x"]).__file__).parent for d in CODE_DIRS]
    roots.append(CATALOGUE_DIR)
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".yaml", ".csv", ".json") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root.parent) if root != package_root else path).encode())
                h.update(path.read_bytes())
    for package in ENGINE_PACKAGES:
        try:
            h.update(f"{package}=={metadata.version(package.replace('_', '-'))}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{package}==missing".encode())
    return h.hexdigest()


def read_stack_config(ws: Workspace, stack: str) -> dict[str, str]:
    """Project config defaults from Pulumi.yaml overlaid with Pulumi.<stack>.yaml, as the CLI does.

    Each file's ``govcloud:`` keys are read the way the program reads them at run time, and a key
    the program would silently ignore (misspelt) or misread (wrong type) is a diagnostic naming
    the file and line, before anything is planned (found in review: govcloud:logRetentionDay: 30
    planned with the default 400 days)."""
    from govcloud import yamlio
    from govcloud.diagnostics import Diagnostic, DiagnosticError, locate
    from govcloud.templates.base import config_kind, settings_from_config

    config: dict[str, str] = {}
    problems: list[Diagnostic] = []

    def read(path: Path, project: bool) -> None:
        data, positions = yamlio.load_file(path)
        section = (data or {}).get("config") if isinstance(data, dict) else None
        if section is None:
            return
        if not isinstance(section, dict):
            line, col = locate(positions, ("config",))
            problems.append(Diagnostic(str(path), line, col, "GC101", "config must be a mapping of key to value", "config"))
            return
        for key, spec in section.items():
            if project and isinstance(spec, dict) and ({"default", "value", "type"} & set(spec)):
                value = spec.get("value", spec.get("default"))
            else:
                value = spec
            if value is None:
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            kind = config_kind(_qualify(str(key))) if _qualify(str(key)).startswith("govcloud:") else None
            wrong = None
            if isinstance(value, dict) and "secure" in value and kind is not None:
                wrong = f"config {_qualify(str(key))} is not a secret: write its value, not secure:"
            elif kind is str and not isinstance(value, str):
                wrong = f"config {_qualify(str(key))} must be text, not {type(value).__name__}"
            elif kind is dict and not isinstance(value, dict):
                wrong = f"config {_qualify(str(key))} must be a map, not {type(value).__name__}"
            elif kind is int and (isinstance(value, bool) or not isinstance(value, (int, str))):
                wrong = f"config {_qualify(str(key))} must be a whole number, not {type(value).__name__}"
            if wrong:
                line, col = locate(positions, ("config", key))
                problems.append(Diagnostic(str(path), line, col, "GC101", wrong, f"config.{key}"))
                continue
            try:
                settings_from_config({_qualify(str(key)): text})
            except ValueError as exc:
                line, col = locate(positions, ("config", key))
                code = "GC102" if "unknown config key" in str(exc) else "GC101"
                problems.append(Diagnostic(str(path), line, col, code, str(exc), f"config.{key}"))
                continue
            config[_qualify(str(key))] = text

    for path, project in ((ws.root / "Pulumi.yaml", True), (ws.root / f"Pulumi.{stack}.yaml", False)):
        if path.exists():
            read(path, project)
    if problems:
        raise DiagnosticError(problems)
    return dict(sorted(config.items()))


def _qualify(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def make_job(ws: Workspace, stack: str, tenant: Tenant | None, network: dict | None = None) -> StackJob:
    """``network``: the network controller's compiled inputs (govcloud.stacks.program.network_inputs);
    only the part this stack uses goes into it and into its cache key."""
    config = read_stack_config(ws, stack)
    network = network or {}
    if tenant is not None:
        own_network = network.get("tenants", {}).get(tenant.name)
    elif stack == "network":
        own_network = {k: v for k, v in network.items() if k != "tenants"} or None
    else:
        own_network = None
    tenant_data = tenant.model_dump(mode="json", by_alias=True, exclude_none=True) if tenant else None
    if tenant_data is not None:
        # status (timestamps, history hashes) does not shape the infrastructure, except the account id.
        status = tenant_data.pop("status", {}) or {}
        if status.get("accountId"):
            tenant_data["status"] = {"accountId": status["accountId"]}
    material = json.dumps({"stack": stack, "tenant": tenant_data, "config": config, "code": code_fingerprint(),
                           "network": own_network}, sort_keys=True, ensure_ascii=False)
    return StackJob(stack, tenant_data, config, hashlib.sha256(material.encode()).hexdigest(), own_network)


# --- running one stack ---------------------------------------------------------------------------------


def plan_stack(job: StackJob) -> str:
    """Plan one stack in this process; returns the plan document as canonical JSON text."""
    from govcloud.stacks.mocks import GovcloudMocks
    from govcloud.stacks.recorder import run_program

    tenant = None
    account_ids: dict[str, str] = {}
    if job.tenant is not None:
        data = dict(job.tenant)
        status = data.pop("status", None)
        tenant = Tenant.model_validate(data)
        if status and status.get("accountId"):
            account_ids[f"govcloud-{tenant.name}"] = status["accountId"]

    def program() -> None:
        if tenant is not None:
            from govcloud.stacks.tenant import tenant_program

            tenant_program(tenant, job.network)
        elif job.stack == "foundation":
            from govcloud.stacks.foundation import foundation_program

            foundation_program()
        elif job.stack == "network":
            from govcloud.stacks.network import network_program

            network_program(job.network)
        else:
            raise ValueError(f"unknown stack {job.stack}")

    monitor = run_program(program, project=PROJECT, stack=job.stack,
                          mocks=GovcloudMocks(job.stack, account_ids), config=job.config)
    return render_plan(job, monitor)


def render_plan(job: StackJob, monitor) -> str:
    from govcloud.stacks.recorder import STACK_TYPE, redact

    regs = monitor.registrations
    order = _topological(regs)
    resources = []
    for urn in order:
        r = regs[urn]
        entry = {"urn": r.urn, "custom": r.custom, "type": r.type}
        if r.id:
            entry["id"] = r.id
        entry["inputs"] = redact(r.inputs)
        if r.parent:
            entry["parent"] = r.parent
        if r.provider:
            entry["provider"] = r.provider
        if r.dependencies:
            entry["dependencies"] = r.dependencies
        if r.property_dependencies:
            entry["propertyDependencies"] = r.property_dependencies
        if r.type == STACK_TYPE:
            entry["outputs"] = redact(monitor.stack_outputs)
        resources.append(entry)
    by_type: dict[str, int] = {}
    for entry in resources:
        by_type[entry["type"]] = by_type.get(entry["type"], 0) + 1
    doc = {
        "version": PLAN_VERSION,
        "deployment": {
            "manifest": {"magic": "", "version": f"govcloud-offline/{_versions()}"},
            "resources": resources,
        },
        "govcloud": {
            "stack": job.stack,
            "tenant": (job.tenant or {}).get("metadata", {}).get("name"),
            "cloud": (job.tenant or {}).get("spec", {}).get("cloud"),
            "zone": (job.tenant or {}).get("spec", {}).get("zone"),
            "mode": "offline-mock",
            "inputsHash": job.key,
            "summary": {"resources": sum(1 for e in resources if e["custom"]),
                        "components": sum(1 for e in resources if not e["custom"]),
                        "byType": dict(sorted(by_type.items()))},
        },
    }
    return render_document(doc)


def _versions() -> str:
    out = []
    for package in ENGINE_PACKAGES:
        try:
            out.append(f"{package}={metadata.version(package.replace('_', '-'))}")
        except metadata.PackageNotFoundError:
            pass
    return ",".join(out)


def _topological(regs: dict) -> list[str]:
    """Parents and dependencies before dependents; ties broken by URN so output is deterministic
    whatever order the asynchronous runtime registered resources in."""
    import heapq

    deps = {urn: {d for d in ([r.parent] if r.parent else []) + r.dependencies
                  + ([r.provider.rsplit("::", 1)[0]] if r.provider else []) if d in regs and d != urn}
            for urn, r in regs.items()}
    dependents: dict[str, list[str]] = {u: [] for u in regs}
    for urn, ds in deps.items():
        for d in ds:
            dependents[d].append(urn)
    remaining = {u: len(ds) for u, ds in deps.items()}
    ready = [u for u, n in remaining.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        urn = heapq.heappop(ready)
        order.append(urn)
        for nxt in dependents[urn]:
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) != len(regs):  # a cycle cannot come out of Pulumi; keep everything anyway
        order += sorted(set(regs) - set(order))
    return order


def _worker(job: StackJob) -> tuple[str, str | None, str | None, float]:
    started = time.perf_counter()
    try:
        return job.stack, plan_stack(job), None, time.perf_counter() - started
    except Exception as exc:  # reported per stack; the other stacks still plan
        return job.stack, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - started


# Provider SDKs load their service modules lazily: a worker forked before they are loaded pays
# for every import again, so the forkserver loads every module the stacks use.
PRELOAD = [
    "pulumi", "pulumi_aws", "pulumi_azure_native",
    *(f"pulumi_aws.{m}" for m in ("accessanalyzer", "cfg", "cloudtrail", "cloudwatch", "ebs", "ec2", "guardduty", "iam",
                                  "kms", "networkmanager", "organizations", "s3", "securityhub", "sns", "vpc")),
    *(f"pulumi_azure_native.{m}" for m in ("authorization", "keyvault", "management", "monitor", "network",
                                           "operationalinsights", "resources", "security", "storage", "subscription")),
    "govcloud.stacks.foundation", "govcloud.stacks.network", "govcloud.stacks.tenant", "govcloud.stacks.mocks",
    "govcloud.stacks.recorder", "govcloud.stacks.planner", "govcloud.templates.aws.baseline",
    "govcloud.templates.aws.network", "govcloud.templates.aws.access", "govcloud.templates.azure.baseline",
    "govcloud.templates.azure.network", "govcloud.templates.azure.access",
]


def _worker_context():
    """Workers fork from a fresh forkserver that has imported the heavy modules once: cheap to
    start like fork, but never inheriting the locks and threads of a process that has already
    run Pulumi programs (which deadlocks plain fork)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


# --- the run ----------------------------------------------------------------------------------------------


def plan_file(out_dir: Path, stack: str) -> Path:
    return out_dir / f"{stack}.json"


def run_plans(ws: Workspace, stacks: list[tuple[str, Tenant | None]], out_dir: Path, *, jobs: int = 1,
              use_cache: bool = True, prune: bool = False, network: dict | None = None,
              progress: Callable[[PlanResult], None] | None = None) -> PlanRun:
    started = time.perf_counter()
    cache_dir = ws.plan_cache_dir
    make_dir(out_dir)
    run = PlanRun()
    todo: list[StackJob] = []
    for stack, tenant in stacks:
        job = make_job(ws, stack, tenant, network)
        cached = cache_dir / f"{job.key}.json"
        if use_cache and cached.exists():
            text = cached.read_text(encoding="utf-8")
            target = plan_file(out_dir, stack)
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                atomic_write(target, text)
            result = PlanResult(stack, json.loads(text)["govcloud"]["summary"]["resources"], True, 0.0, target)
            run.results.append(result)
            if progress:
                progress(result)
        else:
            todo.append(job)

    def finish(job_stack: str, text: str | None, error: str | None, seconds: float, key: str) -> None:
        if error is not None:
            result = PlanResult(job_stack, 0, False, seconds, None, error)
        else:
            target = plan_file(out_dir, job_stack)
            atomic_write(target, text)
            if use_cache:
                atomic_write(cache_dir / f"{key}.json", text)
            result = PlanResult(job_stack, json.loads(text)["govcloud"]["summary"]["resources"], False, seconds, target)
        run.results.append(result)
        if progress:
            progress(result)

    keys = {j.stack: j.key for j in todo}
    if jobs <= 1 or len(todo) <= 1:
        for job in todo:
            finish(*_worker(job), keys[job.stack])
    else:
        # Long-lived workers: the first Pulumi program in a fresh process costs ~2 s, later ones
        # ~0.5 s. Each stack still runs isolated (fresh context and event loop, its own URN set).
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_worker_context()) as pool:
            futures = [pool.submit(_worker, job) for job in todo]
            for future in as_completed(futures):
                stack, text, error, seconds = future.result()
                finish(stack, text, error, seconds, keys[stack])

    if prune:
        wanted = {plan_file(out_dir, s).name for s, _ in stacks}
        for old in out_dir.glob("*.json"):
            if old.name not in wanted and old.name != INDEX_FILE:
                old.unlink()
    run.results.sort(key=lambda r: r.stack)
    index = {"version": 1, "stacks": {r.stack: {"file": plan_file(out_dir, r.stack).name, "resources": r.resources}
                                      for r in run.results if not r.error}}
    if prune:
        atomic_write(out_dir / INDEX_FILE, json.dumps(index, indent=1, sort_keys=True) + "\n")
    run.seconds = time.perf_counter() - started
    return run


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def select_stacks(reg, *, stack: str | None = None, tenant: str | None = None,
                  all_stacks: bool = False) -> list[tuple[str, Tenant | None]]:
    from govcloud.diagnostics import UsageError

    def resolve(name: str) -> tuple[str, Tenant | None]:
        if name in (FOUNDATION, NETWORK):
            return name, None
        tname = tenant_of(name) or name  # a bare tenant name is accepted too
        if tname not in reg.tenants:
            raise UsageError(f"no tenant {tname}; see govcloud tenant list")
        return tenant_stack(tname), reg.tenants[tname]

    if all_stacks:
        return [(FOUNDATION, None), (NETWORK, None),
                *((tenant_stack(n), reg.tenants[n]) for n in sorted(reg.tenants))]
    chosen: list[str] = []
    if stack:
        chosen.append(stack)
    if tenant:
        chosen.append(tenant_stack(tenant))
    if not chosen:
        raise UsageError("say what to plan: --all, --stack NAME or --tenant NAME")
    return [resolve(c) for c in chosen]


def iter_plans(plan_dir: Path) -> Iterable[tuple[Path, dict]]:
    """Every plan of a folder, checked against the plan contract (govcloud.plans) first."""
    return iter_plan_json(plan_dir)

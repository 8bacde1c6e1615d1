"""Gather the report's data: the fleet from the tenant registry, findings from the policies
engine over the plans, the network proof through the verifier adapter, the change between two
snapshots and the live state. Nothing here prints or exits; adapters (the CLI) do that."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from govcloud.diagnostics import UsageError
from govcloud.report.model import (SCHEMA_VERSION, Bilingual, Change, Expiring, FindingRow, Findings, FleetSummary, Live,
                                   MunicipalityRow, NetworkProof, Report, TenantRow)
from govcloud.report.proof import Exception_, prove_workspace
from govcloud.workspace import Workspace

# Waivers and network exceptions expiring within this many days are called out.
WARN_DAYS = 30


@dataclass
class Snapshot:
    """One workspace as the report sees it: documents, plans, findings and the network proof."""

    ws: Workspace
    reg: object
    proof: NetworkProof
    exceptions: list[Exception_]
    findings: Findings
    approvals: list[Expiring]
    today: dt.date
    warn_days: int
    _plans: list[dict] | None = None
    plans_dir: Path | None = None

    @property
    def plans(self) -> list[dict]:
        if self._plans is None:
            from govcloud.report.workspaces import load_plan_folder

            self._plans = load_plan_folder(self.plans_dir)
        return self._plans

    def tenant_documents(self) -> dict[str, dict]:
        return {n: t.spec.model_dump(mode="json") for n, t in self.reg.tenants.items()}


def _in_child(fn):
    """Run ``fn`` in a forked process (it inherits the plans without copying them through a
    pipe) while this process proves the network: the two biggest steps overlap on two cores.
    Returns a function that waits for the result. Without fork (not Linux), runs inline."""
    import multiprocessing as mp
    import traceback

    try:
        ctx = mp.get_context("fork")
    except ValueError:
        value = fn()
        return lambda: value
    receive, send = ctx.Pipe(duplex=False)

    def child() -> None:
        from govcloud.diagnostics import UsageError

        try:
            send.send(("ok", fn()))
        except UsageError as exc:
            send.send(("usage", str(exc)))
        except BaseException:                      # noqa: BLE001 - reported to the parent, never lost
            send.send(("error", traceback.format_exc()))

    process = ctx.Process(target=child, daemon=True)
    process.start()
    send.close()

    def result():
        try:
            kind, value = receive.recv()
        except EOFError:
            raise RuntimeError(f"the findings worker died (exit code {process.exitcode})") from None
        finally:
            process.join()
        if kind == "usage":
            from govcloud.diagnostics import UsageError

            raise UsageError(value)
        if kind == "error":
            raise RuntimeError(f"the findings worker failed:\n{value}")
        return value

    return result


def snapshot(ws: Workspace, *, reg=None, plans: list[dict] | None = None, plans_dir: Path | None = None,
             today: dt.date | None = None, jobs: int | None = None, quota_overrides: dict[str, int] | None = None,
             warn_days: int = WARN_DAYS, network_from_compiled: bool = False) -> Snapshot:
    """Plan (cached) unless ``plans`` or ``plans_dir`` is given; run the controls over the plans
    and prove the network side by side."""
    from govcloud.report.workspaces import load_plan_folder, plan_workspace
    from govcloud.tenants.registry import load_registry

    today = today or dt.date.today()
    reg = reg or load_registry(ws)
    if plans is None and plans_dir is None:
        plans = plan_workspace(ws, reg, jobs)
    elif plans is None:
        # Read here, before the work is split across processes: a plan the contract refuses is a
        # diagnostic with file, line and field (GC901-GC904), not an error from a child process.
        plans = load_plan_folder(plans_dir)
    waivers_file = ws.waivers_file
    # Validated here, in this process, so a bad waivers file is a diagnostic (GC801 and friends).
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import load_waivers

    if waivers_file.exists():
        load_waivers(waivers_file, load_controls(), today)
    pending = _in_child(lambda: findings(plans, waivers_file, today))
    found = prove_workspace(ws, reg, today, quota_overrides, plans=plans, from_compiled=network_from_compiled)
    checked = pending()
    return Snapshot(ws, reg, found.proof, found.exceptions, checked,
                    approvals(waivers_file, found.exceptions, today, warn_days), today, warn_days, plans, plans_dir)


def fleet_summary(reg) -> FleetSummary:
    rows = [TenantRow(n, t.spec.cloud, t.spec.region, t.spec.zone, t.spec.usage, t.spec.environment, t.spec.vendor,
                      t.spec.system, list(t.spec.municipalities)) for n, t in sorted(reg.tenants.items())]
    served = Counter(code for r in rows for code in r.municipalities)
    munis = [MunicipalityRow(code, m.spec.name, m.spec.prefecture, str(m.spec.security_model), served.get(code, 0))
             for code, m in sorted(reg.municipalities.items())]

    def count(attr: str) -> dict[str, int]:
        return dict(sorted(Counter(getattr(r, attr) for r in rows).items()))

    return FleetSummary(rows, munis, count("cloud"), count("region"), count("zone"), count("usage"), count("environment"))


def findings(plans: list[dict], waivers_file: Path, today: dt.date) -> Findings:
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import run_checks

    controls = load_controls()
    run = run_checks(plans, waivers_file, today)
    rows = []
    for f in run.findings:
        c = controls[f.control]
        rows.append(FindingRow(f.control, Bilingual(c.ja, c.en), Bilingual(c.remediation.ja, c.remediation.en),
                               c.severity, c.mode, f.status, f.stack, f.tenant, f.resource, f.resource_type,
                               f.message, f.waiver))
    failed = len(run.failures(controls))
    return Findings(len(run.stacks), run.evaluated, failed, len(run.failures(controls, mandatory_only=False)) - failed,
                    sum(1 for f in run.findings if f.status == "waived"), rows, list(run.waiver_notes))


def _status(expires: dt.date, today: dt.date, warn_days: int) -> tuple[int, str]:
    left = (expires - today).days
    if left < 0:
        return left, "expired"
    return left, "expiring" if left <= warn_days else "active"


def approvals(waivers_file: Path, exceptions: list[Exception_], today: dt.date, warn_days: int) -> list[Expiring]:
    """Waivers and network exceptions with their expiry, soonest first."""
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import Waivers, load_waivers
    from govcloud.tenants import documents

    out = []
    if waivers_file.exists():
        controls = load_controls()
        load_waivers(waivers_file, controls, today)      # the engine's own validation (unknown controls: GC801)
        doc, _ = documents.parse(waivers_file, Waivers)
        for i, w in enumerate(doc.spec.waivers):
            left, status = _status(w.expires, today, warn_days)
            note = ""
            if not controls[w.control].waivable:
                status, note = "ignored", f"{w.control} may not be waived"
            out.append(Expiring("waiver", f"{w.control}#{i + 1}", f"{w.control} on {w.tenant} ({w.resource})",
                                w.approver, w.expires.isoformat(), left, status, note or w.reason))
    for e in exceptions:
        left, status = _status(e.expires, today, warn_days)
        out.append(Expiring("network-exception", e.id, f"{e.source} → {e.destination} {e.protocol}/{e.port}",
                            e.approver, e.expires.isoformat(), left, status, e.justification))
    return sorted(out, key=lambda x: (x.days_left, x.kind, x.id))


def build_report(current: Snapshot, *, lang: str = "ja", base: tuple[str, Snapshot] | None = None,
                 live: Live | None = None, now: dt.datetime | None = None) -> Report:
    from govcloud.report.change import compare

    today = current.today
    now = now or dt.datetime.now(dt.timezone.utc)
    report = Report(
        schema_version=SCHEMA_VERSION, generated_at=now.isoformat(timespec="seconds"), today=today.isoformat(),
        lang=lang, workspace=current.ws.root.name, fleet=fleet_summary(current.reg), proof=current.proof,
        findings=current.findings, approvals=current.approvals, warn_days=current.warn_days)
    if base is not None:
        label, old = base
        report.change = compare(label, old.plans, current.plans, old.tenant_documents(), current.tenant_documents(),
                                old.proof, current.proof, old.findings, current.findings)
    report.live = live
    return report


# --- the report and diff services (what `govcloud report` and `govcloud diff` call) --------------------


@dataclass(frozen=True)
class ReportRequest:
    lang: Literal["ja", "en"] = "ja"
    base: str | None = None                  # git ref (HEAD~1, main) or workspace folder: adds the change
    plans_dir: Path | None = None            # these plan documents instead of planning the workspace
    live_files: tuple[Path, ...] = ()        # JSON of `govcloud audit` / `govcloud network drift --format json`
    jobs: int | None = None                  # worker processes for planning (None: one per core)
    quota_overrides: dict[str, int] = field(default_factory=dict)   # approved quota increases


def snapshots(ws: Workspace, request: ReportRequest) -> tuple[Snapshot, tuple[str, Snapshot] | None]:
    """The workspace (and the base, when asked), each planned (cached) and proven."""
    from govcloud.report.workspaces import base_workspace

    current = snapshot(ws, plans_dir=request.plans_dir, jobs=request.jobs, quota_overrides=request.quota_overrides)
    if request.base is None:
        return current, None
    with base_workspace(ws, request.base) as base_ws:
        try:
            old = snapshot(base_ws, jobs=request.jobs, quota_overrides=request.quota_overrides)
        except UsageError as exc:
            raise UsageError(f"--base {request.base}: {exc}") from None
    return current, (request.base, old)


def report(ws: Workspace, request: ReportRequest) -> Report:
    """The whole report. Live files are read first: a bad one is refused before planning, which is
    what takes the time."""
    from govcloud.policies.catalogue import load_controls
    from govcloud.report.live import load_live

    live = load_live(list(request.live_files), load_controls()) if request.live_files else None
    current, base = snapshots(ws, request)
    return build_report(current, lang=request.lang, base=base, live=live)


def change(ws: Workspace, request: ReportRequest) -> Change:
    """What changes since ``request.base``: tenants, resources per stack, reachable pairs."""
    if request.base is None:
        raise UsageError("a change needs a base to compare with (a git ref or a workspace folder)")
    current, base = snapshots(ws, replace(request, live_files=()))
    return build_report(current, lang=request.lang, base=base).change

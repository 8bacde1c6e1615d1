"""--live: the JSON `govcloud audit --format json` and `govcloud network drift --format json`
print, read back for the report's live section. Each file is recognised by its shape and
validated; a file that is neither is refused by name (fail closed), never skipped."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govcloud.diagnostics import UsageError
from govcloud.report.model import Bilingual, DriftChange, FindingRow, Live, Violation

MAX_LIVE_BYTES = 64 * 1024 * 1024


class _Open(BaseModel):
    # These documents are our own output; fields we do not show are allowed to exist.
    model_config = ConfigDict(extra="allow")


class AuditFinding(_Open):
    control: str
    title: str
    severity: str
    mode: str
    status: str
    stack: str
    tenant: str | None = None
    resource: str
    resource_type: str = Field(alias="resourceType")
    message: str
    remediation: str
    waiver: str | None = None


class AuditDoc(_Open):
    endpoint: str
    findings: list[AuditFinding]
    tenants: list[dict]
    failures: list[dict] = Field(default_factory=list)


class DriftChangeDoc(_Open):
    layer: str
    kind: str
    where: str
    declared: str | None = None
    live: str | None = None


class ViolationDoc(_Open):
    invariant: str
    layer: str
    source: str
    destination: str
    message: str
    path: list[str] = Field(default_factory=list)


class VerificationDoc(_Open):
    variant: str
    ok: bool
    violations: list[ViolationDoc]


class DriftDoc(_Open):
    endpoint: str
    changes: list[DriftChangeDoc]
    verification: list[VerificationDoc]
    failures: list[dict] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def _read(path: Path) -> dict:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"--live {path}: cannot read: {exc.strerror}") from None
    if size > MAX_LIVE_BYTES:
        raise UsageError(f"--live {path}: larger than {MAX_LIVE_BYTES >> 20} MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"--live {path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--live {path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--live {path}: expected a JSON object (the output of audit or network drift --format json)")
    return data


def _problem(path: Path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"--live {path}: field {where}: {err['msg']} ({len(exc.errors())} problem(s))"


def load_live(paths: list[Path], controls: dict) -> Live:
    live = Live(sources=[], endpoint="", audit_findings=[], audit_failures=[], drift=[], drift_violations=[],
                drift_failures=[], drift_notes=[])
    endpoints = set()
    for path in paths:
        data = _read(path)
        if "findings" in data and "tenants" in data:
            try:
                doc = AuditDoc.model_validate(data)
            except ValidationError as exc:
                raise UsageError(_problem(path, exc)) from None
            for f in doc.findings:
                c = controls.get(f.control)
                title = Bilingual(c.ja, c.en) if c else Bilingual(f.title, f.title)
                fix = Bilingual(c.remediation.ja, c.remediation.en) if c else Bilingual(f.remediation, f.remediation)
                live.audit_findings.append(FindingRow(f.control, title, fix, f.severity, f.mode, f.status, f.stack,
                                                      f.tenant, f.resource, f.resource_type, f.message, f.waiver))
            live.audit_failures.extend(doc.failures)
        elif "changes" in data and "verification" in data:
            try:
                doc = DriftDoc.model_validate(data)
            except ValidationError as exc:
                raise UsageError(_problem(path, exc)) from None
            live.drift.extend(DriftChange(c.layer, c.kind, c.where, c.declared, c.live) for c in doc.changes)
            live.drift_violations.extend(Violation(v.invariant, v.layer, v.source, v.destination, v.message, v.path)
                                         for r in doc.verification for v in r.violations)
            live.drift_failures.extend(doc.failures)
            live.drift_notes.extend(doc.notes)
        else:
            raise UsageError(f"--live {path}: neither the JSON of `govcloud audit --format json` (findings, tenants) "
                             f"nor of `govcloud network drift --format json` (changes, verification)")
        endpoints.add(doc.endpoint)
        live.sources.append(str(path))
    live.endpoint = ", ".join(sorted(endpoints))
    return live

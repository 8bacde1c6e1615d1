"""Run checkov as a tool (its own virtual environment) over exported plans: one process for the
whole fleet, one document per stack shape (see shapes.py), findings fanned back out to every stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from govcloud import yamlio
from govcloud.diagnostics import UsageError
from govcloud.policies.catalogue import Control, Text
from govcloud.policies.engine import Finding
from govcloud.policies.export import export_documents, exported_resources
from govcloud.policies.shapes import Shape, canonical_form

POLICIES = Path(__file__).parent
CHECKS_DIR = POLICIES / "checkov_checks"
SKIPS = POLICIES / "checkov-skips.yaml"


def find_checkov(root: Path) -> str | None:
    """$GOVCLOUD_CHECKOV, the set-up's .venv-checkov, or checkov on PATH."""
    for candidate in (os.environ.get("GOVCLOUD_CHECKOV"), str(root / ".venv-checkov" / "bin" / "checkov"),
                      str(Path(__file__).resolve().parents[1] / ".venv-checkov" / "bin" / "checkov"), shutil.which("checkov")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def skips() -> dict[str, str]:
    data, _ = yamlio.load_file(SKIPS)
    return {s["check"]: s["reason"] for s in data["skips"]}


@dataclass
class CheckovResult:
    findings: list[Finding]
    controls: dict[str, Control]       # pseudo-controls for checkov's own checks
    ours: set[tuple[str, str]]         # (govcloud control id, urn) that checkov's run of our checks failed
    resources: int                     # resources the plans hold (what checkov's findings cover)
    scanned: int                       # resources checkov actually scanned: one copy per shape
    documents: int
    shapes: int
    seconds: float


@dataclass
class _Group:
    shape: Shape
    members: list[list[tuple[str, dict]]]    # per member: (stack, meta) for each resource, in order


def group_by_shape(plans: list[dict]) -> dict[tuple[str, str], _Group]:
    """Exported documents grouped by (format, canonical shape)."""
    groups: dict[tuple[str, str], _Group] = {}
    for stack, suffix, doc in export_documents(plans):
        shape = canonical_form(doc)
        group = groups.setdefault((suffix, shape.digest), _Group(shape, []))
        group.members.append([(stack, meta) for _, meta in exported_resources(doc)])
    return groups


def run_checkov(plans: list[dict], checkov: str) -> CheckovResult:
    """One checkov process for the whole fleet, over one document per shape; each finding on a
    shape's resource is a finding on that resource in every member."""
    import time

    started = time.perf_counter()
    groups = group_by_shape(plans)
    index: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    with tempfile.TemporaryDirectory(prefix="govcloud-checkov-") as tmp:
        out = Path(tmp)
        for (suffix, digest), group in groups.items():
            name = f"shape-{digest[:20]}.{suffix}"
            (out / name).write_text(group.shape.text, encoding="utf-8")
            addresses = [address for address, _ in exported_resources(json.loads(group.shape.text))]
            for position, address in enumerate(addresses):
                index[(name, address)] = [member[position] for member in group.members]
        cmd = [checkov, "-d", str(out), "--framework", "terraform_plan", "arm", "--external-checks-dir", str(CHECKS_DIR),
               "--skip-check", ",".join(sorted(skips())), "-o", "json", "--quiet", "--skip-download", "--compact"]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise UsageError(f"checkov failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    findings, controls, ours, scanned = [], {}, set(), 0
    for report in reports:
        scanned += report.get("summary", {}).get("resource_count", 0)
        for failed in report.get("results", {}).get("failed_checks", []):
            members = index.get((Path(failed["file_path"]).name, failed["resource"]))
            if members is None:
                raise UsageError(f"checkov reported a resource govcloud did not export: {failed['file_path']} {failed['resource']}")
            check_id = failed["check_id"]
            if check_id.startswith("GC_"):
                ours.update((check_id.replace("_", "-"), meta["urn"]) for _, meta in members)
                continue
            controls.setdefault(check_id, Control.model_construct(
                id=check_id, scope="resource", cloud="any", types=[], zones=None, severity="medium", mode="advisory",
                waivable=True, ja=failed["check_name"], en=failed["check_name"],
                remediation=Text.model_construct(ja=failed.get("guideline") or "checkov のガイドラインを参照",
                                                 en=failed.get("guideline") or "see the checkov guideline"),
                references={"checkov": check_id}))
            findings.extend(Finding(check_id, stack, meta["tenant"] or None, meta["urn"], meta["type"], "failed",
                                    failed["check_name"]) for stack, meta in members)
    return CheckovResult(findings, controls, ours, resources=sum(len(m) for g in groups.values() for m in g.members),
                         scanned=scanned, documents=sum(len(g.members) for g in groups.values()), shapes=len(groups),
                         seconds=time.perf_counter() - started)

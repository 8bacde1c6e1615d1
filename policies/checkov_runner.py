"""Run checkov as a tool (its own virtual environment) over exported plans, once for the whole
fleet, and turn its results into govcloud findings."""

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
from govcloud.policies.export import write_exports

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
    resources: int
    seconds: float


def run_checkov(plans: list[dict], checkov: str) -> CheckovResult:
    import time

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="govcloud-checkov-") as tmp:
        out = Path(tmp)
        write_exports(plans, out)
        index = _index(out)
        cmd = [checkov, "-d", str(out), "--framework", "terraform_plan", "arm", "--external-checks-dir", str(CHECKS_DIR),
               "--skip-check", ",".join(sorted(skips())), "-o", "json", "--quiet", "--skip-download", "--compact"]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise UsageError(f"checkov failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    findings, controls, ours, count = [], {}, set(), 0
    for report in reports:
        count += report.get("summary", {}).get("resource_count", 0)
        for failed in report.get("results", {}).get("failed_checks", []):
            key = (Path(failed["file_path"]).name, failed["resource"])
            stack, tenant, urn, rtype = index.get(key, (Path(failed["file_path"]).name.split(".")[0], None, failed["resource"], ""))
            check_id = failed["check_id"]
            if check_id.startswith("GC_"):
                ours.add((check_id.replace("_", "-"), urn))
                continue
            controls.setdefault(check_id, Control.model_construct(
                id=check_id, scope="resource", cloud="any", types=[], zones=None, severity="medium", mode="advisory",
                waivable=True, ja=failed["check_name"], en=failed["check_name"],
                remediation=Text.model_construct(ja=failed.get("guideline") or "checkov のガイドラインを参照",
                                                 en=failed.get("guideline") or "see the checkov guideline"),
                references={"checkov": check_id}))
            findings.append(Finding(check_id, stack, tenant, urn, rtype, "failed", failed["check_name"]))
    return CheckovResult(findings, controls, ours, count, time.perf_counter() - started)


def _index(directory: Path) -> dict[tuple[str, str], tuple[str, str | None, str, str]]:
    """(file, checkov resource id) -> (stack, tenant, urn, Pulumi type)."""
    index = {}
    for path in directory.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        stack = path.name.rsplit(".", 2)[0]
        if "planned_values" in doc:
            for r in doc["planned_values"]["root_module"]["resources"]:
                m = json.loads(r["values"]["govcloud_meta"])
                index[(path.name, r["address"])] = (stack, m["tenant"] or None, m["urn"], m["type"])
        else:
            for r in doc.get("resources", []):
                m = json.loads(r["govcloud_meta"])
                index[(path.name, f"{r['type']}.{r['name']}")] = (stack, m["tenant"] or None, m["urn"], m["type"])
    return index

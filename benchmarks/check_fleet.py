"""Benchmark `govcloud check` against running checkov directly on the same exported files.

    .venv/bin/python benchmarks/check_fleet.py --tenants 500

Builds a scratch workspace of N tenants (the plan_fleet generator: real municipality codes, a mix of
AWS and Azure, two regions each, eight standard systems), plans it, and breaks a few tenants the
ways security teams care about (CloudTrail log-file validation off, open SSH ingress, a public IP
in a mynumber tenant) so the findings to compare are not empty. Then, each as a fresh process:

- `govcloud check --export DIR --format json`: our controls, plus checkov's catalogue and our
  controls inside checkov, one checkov process over one document per stack shape;
- checkov run directly on DIR (the same exported files, the same external checks and skips), one
  process for the whole fleet: the fastest way to run checkov directly;
- optionally (`--per-stack-sample K`) checkov once per stack file, as a CI job per stack runs it,
  timed on K files and extrapolated to the fleet (reported as an estimate).

The findings must be identical: every (check, resource URN) checkov fails on the exported files is
failed by `govcloud check`, and nothing else. The script exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from plan_fleet import build_workspace  # noqa: E402
from plan_fleet import timed as plan_fleet_timed  # noqa: E402

CHECKOV_ENV = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}


def timed(cmd: list[str], cwd: Path, ok=(0,), stdout_to: Path | None = None) -> dict:
    return plan_fleet_timed(cmd, cwd, ok=ok, stdout_to=stdout_to, env=CHECKOV_ENV)


def break_tenants(plans: Path, count: int) -> list[str]:
    """Edit `count` tenant plans, each a different way; returns the stacks edited."""
    aws = sorted(p for p in plans.glob("tenant-*.json") if json.loads(p.read_text())["govcloud"]["cloud"] == "aws")
    azure = sorted(p for p in plans.glob("tenant-*.json") if json.loads(p.read_text())["govcloud"]["cloud"] == "azure")
    edited = []
    for i in range(count):
        path = (aws if i % 3 != 2 else azure)[(i * 37) % len(aws if i % 3 != 2 else azure)]
        doc = json.loads(path.read_text())
        resources = doc["deployment"]["resources"]
        if i % 3 == 0:
            for r in resources:
                if r["type"] == "aws:cloudtrail/trail:Trail":
                    r["inputs"]["enableLogFileValidation"] = False
        elif i % 3 == 1:
            rule = next(r for r in resources if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            rule["inputs"].update({"cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"})
        else:
            tags = next(r["inputs"]["tags"] for r in resources if isinstance((r.get("inputs") or {}).get("tags"), dict))
            resources.append({"urn": f"urn:pulumi:{doc['govcloud']['stack']}::govcloud::azure-native:network:PublicIPAddress::bench-pip",
                              "custom": True,
                              "type": "azure-native:network:PublicIPAddress",
                              "inputs": {"location": "japaneast", "tags": tags, "publicIPAllocationMethod": "Static"}})
        path.write_text(json.dumps(doc))
        edited.append(doc["govcloud"]["stack"])
    return edited


def checkov_command(checkov: str, target: list[str]) -> list[str]:
    from govcloud.policies.checkov_runner import CHECKS_DIR, skips

    return [checkov, *target, "--framework", "terraform_plan", "arm", "--external-checks-dir", str(CHECKS_DIR),
            "--skip-check", ",".join(sorted(skips())), "-o", "json", "--quiet", "--skip-download", "--compact"]


def direct_failures(report_path: Path, exported: Path) -> set[tuple[str, str]]:
    """(check id as govcloud names it, URN) for every check checkov failed on the exported files."""
    from govcloud.policies.export import exported_resources

    index = {}
    for path in exported.glob("*.json"):
        for address, meta in exported_resources(json.loads(path.read_text(encoding="utf-8"))):
            index[(path.name, address)] = meta["urn"]
    reports = json.loads(report_path.read_text())
    failed = set()
    for report in reports if isinstance(reports, list) else [reports]:
        for f in report.get("results", {}).get("failed_checks", []):
            check = f["check_id"].replace("_", "-") if f["check_id"].startswith("GC_") else f["check_id"]
            failed.add((check, index[(Path(f["file_path"]).name, f["resource"])]))
    return failed


def govcloud_failures(report_path: Path, checked_by_checkov: set[str]) -> set[tuple[str, str]]:
    """The same pairs from `govcloud check --format json`: checkov's checks and our resource controls
    (stack-level controls and provider resources are beyond what checkov sees)."""
    findings = json.loads(report_path.read_text())["findings"]
    return {(f["control"], f["resource"]) for f in findings
            if f["status"] in ("failed", "waived") and f["control"] in checked_by_checkov
            and not f["resourceType"].startswith("pulumi:providers:") and f["resourceType"] != "pulumi:pulumi:Stack"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--broken", type=int, default=6, help="tenants to break (findings to compare)")
    parser.add_argument("--per-stack-sample", type=int, default=0, metavar="K",
                        help="also time checkov once per stack on K stack files and extrapolate")
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.checkov_runner import find_checkov

    checkov = find_checkov(REPO)
    if not checkov:
        raise SystemExit("checkov is not installed: run `make setup` (it creates .venv-checkov)")
    govcloud = str(Path(sys.executable).parent / "govcloud")
    scratch = Path(tempfile.mkdtemp(prefix="govcloud-bench-check-"))
    try:
        build_workspace(scratch, args.tenants)
        plan = timed([govcloud, "plan", "--all", "-j", "2", "--out", "plans"], scratch)
        edited = break_tenants(scratch / "plans", args.broken)

        ours = timed([govcloud, "check", "--plans", "plans", "--checkov", "--export", "exported", "--format", "json",
                      "--out", "govcloud.json"], scratch, ok=(0, 1))
        exported = sorted((scratch / "exported").glob("*.json"))
        direct = timed(checkov_command(checkov, ["-d", "exported"]), scratch, ok=(0, 1), stdout_to=scratch / "direct.json")

        per_stack = None
        if args.per_stack_sample:
            sample = exported[:: max(1, len(exported) // args.per_stack_sample)][: args.per_stack_sample]
            started = time.perf_counter()
            for path in sample:
                timed(checkov_command(checkov, ["-f", str(path)]), scratch, ok=(0, 1), stdout_to=scratch / "one.json")
            per_file = (time.perf_counter() - started) / len(sample)
            per_stack = {"sampled_files": len(sample), "seconds_per_file": round(per_file, 2),
                         "estimated_fleet_s": round(per_file * len(exported), 1)}

        expected = direct_failures(scratch / "direct.json", scratch / "exported")
        checks = {c for c, _ in expected} | {cid for cid, c in load_controls().items() if c.scope == "resource"}
        got = govcloud_failures(scratch / "govcloud.json", checks)
        broken_found = sorted({urn.split("::")[0].removeprefix("urn:pulumi:") for c, urn in expected
                               if c.startswith("GC-")})
        figures = {
            "tenants": args.tenants, "stacks": len(list((scratch / "plans").glob("*.json"))) - 1,
            "exported_documents": len(exported),
            "plan_all_2_jobs_s": round(plan["seconds"], 1),
            "govcloud_check_s": round(ours["seconds"], 1), "govcloud_check_peak_mib": round(ours["peak_mib"]),
            "govcloud_check_summary": [l for l in ours["stderr"].splitlines() if l.startswith("checkov:")],
            "checkov_direct_s": round(direct["seconds"], 1), "checkov_direct_peak_mib": round(direct["peak_mib"]),
            "speedup_vs_checkov_direct": round(direct["seconds"] / ours["seconds"], 1),
            "checkov_per_stack": per_stack,
            "speedup_vs_checkov_per_stack_estimate": round(per_stack["estimated_fleet_s"] / ours["seconds"], 1) if per_stack else None,
            "failed_checks_direct": len(expected), "failed_checks_govcloud": len(got),
            "findings_identical": expected == got,
            "edited_stacks": edited, "stacks_with_govcloud_control_failures": broken_found,
        }
        print(json.dumps(figures, indent=1, ensure_ascii=False))
        if expected != got:
            print("only checkov:", sorted(expected - got)[:10], "\nonly govcloud:", sorted(got - expected)[:10], file=sys.stderr)
            raise SystemExit(1)
    finally:
        if args.keep:
            print(f"workspace kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

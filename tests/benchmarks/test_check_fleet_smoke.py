"""The check benchmark must keep working and keep comparing findings (figures come from running it
with --tenants 500, not from here)."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_check_fleet_benchmark_runs_and_findings_agree():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/check_fleet.py"), "--tenants", "8", "--broken", "3"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["findings_identical"] is True and report["failed_checks_direct"] >= 3
    assert report["stacks_with_govcloud_control_failures"] == sorted(report["edited_stacks"])
    assert report["exported_documents"] == 12

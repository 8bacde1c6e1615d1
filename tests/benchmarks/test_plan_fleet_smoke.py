"""The benchmark must keep working (figures are measured by running it, not here)."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_plan_fleet_benchmark_runs_and_reports():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/plan_fleet.py"), "--tenants", "3", "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["stacks"] == 5 and report["resources"] > 100
    assert report["plans_identical_1_vs_2_jobs"] is True
    assert "(4 from cache)" in report["one_tenant_changed_output"]

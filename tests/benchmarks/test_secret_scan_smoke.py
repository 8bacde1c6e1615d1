"""The secret-scan benchmark keeps running and keeps finding the planted secret in every shape
(figures come from running it with --megabytes 4, not from here)."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_secret_scan_benchmark_runs_and_finds_the_planted_secret():
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/secret_scan.py"), "--megabytes", "0.05"],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    assert all(row["planted_found"] for shape in report["shapes"].values()
               for key, row in shape.items() if key != "growth_quarter_to_full")

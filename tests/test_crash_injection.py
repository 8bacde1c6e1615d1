"""Kill every write command at every file-system step, through the real CLI in a subprocess.

``GOVCLOUD_CRASH_AT=N`` makes the command ``os._exit`` just before its N-th file-system step
(govcloud/fsio.py). After each kill the next commands must find a workspace that is exactly the
state before the command or exactly the state after it (one transaction), that validates and whose
history verifies, with no journal or temporary file left; and the command, run again, completes.
A second kill during the recovery itself is covered too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from govcloud.fsio import CRASH_EXIT
from tests.conftest import REPO, approve_args, govcloud_bin, key

pytestmark = pytest.mark.slow

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"
ENV = {"GOVCLOUD_ACTOR": "tester", "GOVCLOUD_NOW": "2026-05-01T09:00:00Z"}
RECORD = ("python", "-c", "import sys; from pathlib import Path; from govcloud.live.accounts import record_account_id; "
          "from govcloud.workspace import Workspace; record_account_id(Workspace(Path(sys.argv[1])), "
          "'131016-juki-prod', '123456789013')")

# name: (set-up commands, the write command under test)
SCENARIOS = {
    "request approve": ([], approve_args(EXAMPLE, "platform")),
    "request apply": ([approve_args(EXAMPLE, "platform"),
                       approve_args(EXAMPLE, "132012")],
                      ("request", "apply", EXAMPLE)),
    "tenant remove": ([], ("tenant", "remove", "141003-koseki-staging", "--yes", "--key", key("platform"))),
    "accounts vend (recording)": ([], RECORD),
}


def make_workspace(root: Path) -> Path:
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, root / settings.name)
    return root


def run(root: Path, args: tuple, **extra_env) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVCLOUD_ROOT": str(root), **ENV, **extra_env}
    if args[0] == "python":
        cmd = [sys.executable, *args[1:], str(root)]
    else:
        cmd = [govcloud_bin(), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".govcloud" not in p.parts}


def strays(root: Path) -> list[str]:
    found = [str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".tmp")]
    if (root / ".govcloud" / "journal").exists():
        found.append(".govcloud/journal")
    return found


def steps_of(root: Path, args: tuple, tmp: Path) -> list[str]:
    trace = tmp / "trace.txt"
    proc = run(root, args, GOVCLOUD_CRASH_TRACE=str(trace))
    assert proc.returncode == 0, proc.stderr
    return [line.split("\t", 1)[1] for line in trace.read_text().splitlines()]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_kill_at_every_step_leaves_a_valid_workspace_and_the_command_can_run_again(scenario, tmp_path):
    setup, command = SCENARIOS[scenario]
    base = make_workspace(tmp_path / "base")
    for args in setup:
        assert run(base, args).returncode == 0
    before = snapshot(base)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    labels = steps_of(reference, command, tmp_path)
    after = snapshot(reference)
    assert after != before and len(labels) >= 5
    covered = []
    for step, label in enumerate(labels, start=1):
        ws = tmp_path / f"step{step}"
        shutil.copytree(base, ws)
        killed = run(ws, command, GOVCLOUD_CRASH_AT=str(step))
        assert killed.returncode == CRASH_EXIT, (step, label, killed.stderr)
        if (ws / ".govcloud" / "journal" / "COMMIT").exists():
            # kill the roll-forward too, at its first step; the next command finishes it
            again = run(ws, ("history", "verify"), GOVCLOUD_CRASH_AT="1")
            assert again.returncode in (CRASH_EXIT, 0), again.stderr
        verified = run(ws, ("history", "verify"))
        assert verified.returncode == 0, (step, label, verified.stderr)
        valid = run(ws, ("validate",))
        assert valid.returncode == 0, (step, label, valid.stderr)
        assert strays(ws) == [], (step, label)
        state = snapshot(ws)
        assert state in (before, after), f"kill before step {step} ({label}) left a mixed workspace"
        if state == before:
            rerun = run(ws, command)
            assert rerun.returncode == 0, (step, label, rerun.stderr)
            assert snapshot(ws) == after
        covered.append(f"{step}:{label}:{'rolled back' if state == before else 'rolled forward'}")
        shutil.rmtree(ws)
    # The log of points is the evidence the report quotes (pytest -rA shows it).
    print(f"{scenario}: {len(covered)} crash points: " + "; ".join(covered))

"""Progress of `govcloud check`: the service reports what it counts to a plain callable; the
command line draws it as a bar on a terminal's stderr and draws nothing when stderr is not one, so
JSON, SARIF and CI logs are unchanged."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from govcloud.app.check import CheckRequest, check
from govcloud.app.progress import Step, bracket, counted
from govcloud.plans import render_plan
from govcloud.workspace import Workspace
from tests.conftest import govcloud_bin
from tests.plans import sample_plan

STACKS = ["foundation", "tenant-131016-juki-prod", "tenant-minato-data-kokuho-prod"]


@pytest.fixture
def plans(ws: Path) -> Path:
    folder = ws / "plans"
    folder.mkdir()
    for stack in STACKS:
        (folder / f"{stack}.json").write_text(render_plan(sample_plan(stack)), encoding="utf-8")
    return folder


def test_the_check_service_reports_each_plan_read_and_judged(ws: Path, plans: Path) -> None:
    steps: list[Step] = []
    outcome = check(Workspace(ws), CheckRequest(plans_dir=plans, checkov=False, partial=True), progress=steps.append)
    assert sorted(outcome.run.stacks) == STACKS
    read = [(s.done, s.total) for s in steps if s.stage == "read"]
    judged = [(s.done, s.total, s.item) for s in steps if s.stage == "check"]
    assert read == [(1, 3), (2, 3), (3, 3)]
    assert judged == [(i, 3, stack) for i, stack in enumerate(STACKS, start=1)]   # files are read in name order
    assert [s.stage for s in steps] == ["read"] * 3 + ["check"] * 3                # no checkov asked for


def test_the_helpers_count_and_bracket() -> None:
    steps: list[Step] = []
    counted(steps.append, "audit")(2, 5)
    finished = bracket(steps.append, "checkov", "10 plan(s)")
    finished()
    assert steps == [Step("audit", 2, 5), Step("checkov", 0, None, "10 plan(s)"), Step("checkov", 1, 1, "10 plan(s)")]
    counted(None, "audit")(1, 1)        # a caller that shows no progress passes None
    bracket(None, "live")()


def _with_stderr_on_a_terminal(args: list[str], env: dict) -> tuple[int, bytes, bytes]:
    """Run with stdout piped and stderr on a pseudo-terminal, as `govcloud check --format json > f` in a shell."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:          # the terminal closed: the command has exited
            break
        if not data:
            break
        seen.append(data)
    os.close(master)
    out = proc.stdout.read()
    proc.stdout.close()
    return proc.wait(), out, b"".join(seen)


def test_a_bar_on_a_terminal_and_nothing_when_piped(ws: Path, plans: Path, run) -> None:
    args = ("check", "--no-checkov", "--partial", "--format", "json", "--lang", "en", "--plans", str(plans))
    piped = run(*args)
    assert piped.returncode == 0 and piped.stderr == ""                 # nothing drawn, nothing said
    assert json.loads(piped.stdout)["stacks"] == 3
    env = {**os.environ, "GOVCLOUD_ROOT": str(ws), "GOVCLOUD_ACTOR": "tester", "TERM": "xterm-256color", "COLUMNS": "120"}
    code, out, terminal = _with_stderr_on_a_terminal([govcloud_bin(), *args], env)
    assert code == 0 and out.decode() == piped.stdout                  # stdout is the same JSON, byte for byte
    shown = terminal.decode(errors="replace")
    assert "reading plans" in shown and "checking controls" in shown and "3/3" in shown
    assert "\x1b[?25h" in shown and shown.endswith("\x1b[1A\x1b[2K")     # cursor given back, the bar erased

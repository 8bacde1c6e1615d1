"""Report fixtures: the sample workspace planned once per session (planning is the slow part),
a copy of it with one request applied (a change to review), and the pages they give."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, approve_args, govcloud_bin


def copy_workspace(target: Path) -> Path:
    shutil.copytree(REPO / "tenants", target / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, target / settings.name)
    return target


def govcloud(root: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVCLOUD_ROOT": str(root), "GOVCLOUD_ACTOR": "tester", **(env or {})}
    proc = subprocess.run([govcloud_bin(), *args], capture_output=True, text=True, env=env, cwd=root)
    if check and proc.returncode != 0:
        raise AssertionError(f"govcloud {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def plan_cache(sample_plan_cache) -> Path:
    """The plan cache of the sample workspace, filled once a session (tests/conftest.py)."""
    return sample_plan_cache


def with_cache(root: Path, cache: Path) -> Path:
    shutil.copytree(cache, root / ".govcloud" / "cache")
    return root


@pytest.fixture
def sample(tmp_path, plan_cache) -> Path:
    return with_cache(copy_workspace(tmp_path / "sample"), plan_cache)


def apply_hachioji(root: Path) -> None:
    """Onboard the example request (as `make demo` does): two new mynumber tenants for 八王子市."""
    req = root / "tenants/requests/examples/hachioji-juki.yaml"
    govcloud(root, *approve_args(str(req), "platform"))
    govcloud(root, *approve_args(str(req), "132012"))
    govcloud(root, "request", "apply", str(req))


@pytest.fixture(scope="session")
def changed(tmp_path_factory, plan_cache) -> tuple[Path, Path]:
    """(workspace with the request applied, the untouched base workspace folder)."""
    top = tmp_path_factory.mktemp("changed")
    base = with_cache(copy_workspace(top / "base"), plan_cache)
    head = with_cache(copy_workspace(top / "head"), plan_cache)
    apply_hachioji(head)
    return head, base

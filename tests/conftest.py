from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Real servers as fixtures (see each module's docstring for the contract): a PostgreSQL server from
# Debian's package (postgres_server, postgres_url) and the certified oidc-provider on Node.js
# (oidc_provider, oidc_provider_shared). Each starts only when a test asks for it.
pytest_plugins = ["tests.support.postgres", "tests.support.oidc"]

# Property tests run with a profile, never with hypothesis's defaults, whose deadline (200 ms a
# case) and too-slow health check fail a correct test on a busy machine. `dev` (the default)
# runs a quarter of each test's examples; `ci` (CI=true, as .ci/run runs, or HYPOTHESIS_PROFILE=ci)
# runs them all. A test states its full count through examples() below.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=50)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
settings.load_profile(HYPOTHESIS_PROFILE)


def examples(full: int) -> int:
    """How many examples a property test runs: ``full`` under the ci profile, a quarter (at least
    20) under dev, so a local run is quick and CI searches as hard as the test was written to."""
    return full if HYPOTHESIS_PROFILE == "ci" else max(20, full // 4)


REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
# The tests read English diagnostics (what logs and CI keep); those about Japanese say so with
# GOVCLOUD_LANG=ja or --lang ja. Without this the locale would decide (C.UTF-8 gives Japanese).
os.environ.setdefault("GOVCLOUD_LANG", "en")
SAMPLE_KEYS = REPO / "samples" / "keys"
# Who signs for what in the sample workspace (tenants/principals.yaml; samples/keys/README.md).
APPROVERS = {"platform": "yamada-taro", "platform2": "kobayashi-aiko", "131016": "chiyoda-suzuki",
             "132012": "hachioji-takahashi", "141003": "yokohama-watanabe", "143014": "hayama-nakamura",
             "011002": "sapporo-ito", "271004": "osaka-kimura"}


def key(who: str) -> str:
    """The sample private key of an approver: "platform", a municipality code or a principal id."""
    return str(SAMPLE_KEYS / APPROVERS.get(who, who))


def approve_args(path: str, who: str, *extra: str) -> tuple[str, ...]:
    return ("request", "approve", str(path), "--key", key(who), *extra)


def govcloud_bin() -> str:
    """The installed console script: CLI tests go through the real entry point."""
    candidate = Path(sys.executable).parent / "govcloud"
    return str(candidate) if candidate.exists() else shutil.which("govcloud")


def copy_sample_workspace(root: Path) -> Path:
    """A copy of the sample workspace's documents (no code) at ``root``."""
    shutil.copytree(REPO / "tenants", root / "tenants",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for project_file in REPO.glob("Pulumi*.yaml"):  # the project file and per-stack settings
        shutil.copy(project_file, root / project_file.name)
    return root


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A private copy of the sample workspace (documents only, no code)."""
    return copy_sample_workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def planned_sample(tmp_path_factory) -> Path:
    """The sample workspace with every stack planned by `govcloud plan --all`, once a session (once
    per xdist worker): planning is the slow part of a test that needs plans (half a minute of CPU).
    Tests copy what they need from it: its plan documents (build/plans) or its plan cache, with
    which `govcloud plan --all` in another copy of the workspace is a cache hit (with_plan_cache)."""
    root = copy_sample_workspace(tmp_path_factory.mktemp("planned"))
    env = {**os.environ, "GOVCLOUD_ROOT": str(root), "GOVCLOUD_ACTOR": "tester"}
    proc = subprocess.run([govcloud_bin(), "plan", "--all"], capture_output=True, text=True, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture(scope="session")
def sample_plan_cache(planned_sample: Path) -> Path:
    return planned_sample / ".govcloud" / "cache"


def with_plan_cache(root: Path, cache: Path) -> Path:
    shutil.copytree(cache, root / ".govcloud" / "cache", dirs_exist_ok=True)
    return root


@pytest.fixture
def planned_ws(ws: Path, sample_plan_cache: Path) -> Path:
    """``ws`` with the session's plan cache: a command that plans the fleet (the network proof,
    preflight, the deploy gate) reuses the plans of every stack whose inputs did not change,
    instead of planning the whole sample fleet again in every test. The same folder as ``ws``."""
    return with_plan_cache(ws, sample_plan_cache)


@pytest.fixture
def run(ws: Path):
    """Run the real `govcloud` command in a workspace; returns CompletedProcess."""

    def _run(*args: str, root: Path | None = None, env: dict | None = None, check: bool = False):
        full_env = {**os.environ, "GOVCLOUD_ROOT": str(root or ws), "GOVCLOUD_ACTOR": "tester", **(env or {})}
        proc = subprocess.run([govcloud_bin(), *args], capture_output=True, text=True, env=full_env, cwd=root or ws)
        if check and proc.returncode != 0:
            raise AssertionError(f"govcloud {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return _run


def tree_snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".govcloud" not in p.parts}

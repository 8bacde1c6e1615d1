from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def govcloud_bin() -> str:
    """The installed console script: CLI tests go through the real entry point."""
    candidate = Path(sys.executable).parent / "govcloud"
    return str(candidate) if candidate.exists() else shutil.which("govcloud")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A private copy of the sample workspace (documents only, no code)."""
    root = tmp_path / "ws"
    shutil.copytree(REPO / "tenants", root / "tenants",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings in REPO.glob("Pulumi*.yaml"):  # the project file and per-stack settings
        shutil.copy(settings, root / settings.name)
    return root


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

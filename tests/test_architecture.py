"""The data flow is a checked contract: import-linter's contracts (pyproject.toml) hold for the
*installed* package, where the top-level folders are mapped under `govcloud.`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(REPO)], check=True, capture_output=True)
    assert (target / "govcloud" / "network" / "verify.py").exists(), "folders are not mapped under govcloud."
    return target


def lint(target: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], cwd=target,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)


def test_contracts_hold_for_the_installed_package(installed: Path) -> None:
    proc = lint(installed, REPO / "pyproject.toml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and "Contracts: 2 kept, 0 broken." in proc.stdout


def test_the_contract_catches_a_domain_package_importing_the_cli(installed: Path, tmp_path: Path) -> None:
    """The check can fail: an arrow from a domain package up to an adapter breaks the layers."""
    rogue = installed / "govcloud" / "tenants" / "zz_rogue.py"
    rogue.write_text("from govcloud.cli import main\n", encoding="utf-8")
    try:
        proc = lint(installed, REPO / "pyproject.toml")
    finally:
        rogue.unlink()
    assert proc.returncode != 0
    assert "govcloud.tenants.zz_rogue -> govcloud.cli" in proc.stdout


def test_the_contract_catches_a_cycle(installed: Path) -> None:
    first, second = installed / "govcloud" / "network" / "zz_a.py", installed / "govcloud" / "network" / "zz_b.py"
    first.write_text("def f():\n    from govcloud.network import zz_b\n", encoding="utf-8")
    second.write_text("def g():\n    from govcloud.network import zz_a\n", encoding="utf-8")
    try:
        proc = lint(installed, REPO / "pyproject.toml")
    finally:
        first.unlink()
        second.unlink()
    assert proc.returncode != 0
    assert "No cycles are allowed in govcloud.network" in proc.stdout

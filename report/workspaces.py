"""The two workspaces a change report compares, and their plans.

The current workspace is planned with the existing offline plan engine (``stacks.planner``) and
its content-hash cache, so an unchanged stack is never planned twice. ``--base`` is either a
folder holding a workspace or a git ref, which is materialised with ``git archive`` into a
temporary folder. The base shares the current workspace's plan cache (the cache is keyed by
content, so sharing it is safe), which makes planning an unchanged base almost free.

The base is planned with the *current* code (templates, stacks): the change shown is the change in
the workspace's documents, which is what a review of a tenant or network change is about.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from govcloud.diagnostics import UsageError
from govcloud.workspace import Workspace

# A git archive of a workspace is small; anything bigger is not what we expect to unpack.
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024


def plan_workspace(ws: Workspace, reg, jobs: int | None = None) -> list[dict]:
    """Every stack of the workspace, planned offline (cached), as plan documents."""
    import json

    from govcloud.stacks import planner
    from govcloud.stacks.program import network_inputs

    stacks = planner.select_stacks(reg, all_stacks=True)
    with tempfile.TemporaryDirectory(prefix="govcloud-report-plans-") as tmp:
        run = planner.run_plans(ws, stacks, Path(tmp), jobs=jobs or planner.default_jobs(),
                                network=network_inputs(ws, reg))
        if run.failed:
            first = run.failed[0]
            raise UsageError(f"cannot plan stack {first.stack} of {ws.root}: {first.error}")
        return [json.loads(r.path.read_text(encoding="utf-8")) for r in run.results]


def load_plan_folder(folder: Path) -> list[dict]:
    """Plan documents written by `govcloud plan`, read by the plan contract's one reader (fails
    closed on anything it cannot judge, with file, line and field)."""
    from govcloud.plans import read_plan_folder

    return [doc.as_json() for doc in read_plan_folder(folder)]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True)
    except FileNotFoundError:
        raise UsageError("--base names a git ref but git is not installed") from None


@contextmanager
def base_workspace(ws: Workspace, base: str) -> Iterator[Workspace]:
    """The workspace at ``base``: a folder (used as it is) or a git ref of the current workspace's
    repository (extracted into a temporary folder removed afterwards)."""
    if not base or base.startswith("-"):
        raise UsageError(f"--base wants a git ref or a workspace folder, got {base!r}")
    folder = Path(base)
    if folder.is_dir():
        if not (folder / "tenants").is_dir():
            raise UsageError(f"--base {base}: the folder has no tenants/ folder, so it is not a govcloud workspace")
        yield Workspace(folder.resolve())
        return
    check = _git(ws.root, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if check.returncode != 0:
        raise UsageError(f"--base {base}: neither a folder nor a commit of the git repository at {ws.root}")
    commit = check.stdout.decode().strip()
    tmp = Path(tempfile.mkdtemp(prefix="govcloud-base-"))
    try:
        archive = _git(ws.root, "archive", "--format=tar", commit)
        if archive.returncode != 0:
            raise UsageError(f"--base {base}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
        if len(archive.stdout) > MAX_ARCHIVE_BYTES:
            raise UsageError(f"--base {base}: the tree is larger than {MAX_ARCHIVE_BYTES >> 20} MiB")
        _extract(archive.stdout, tmp)
        # The workspace may be a subfolder of the repository.
        prefix = _git(ws.root, "rev-parse", "--show-prefix").stdout.decode().strip()
        root = tmp / prefix if prefix else tmp
        if not (root / "tenants").is_dir():
            raise UsageError(f"--base {base}: that commit has no {prefix}tenants/ folder")
        # Share the plan cache: keys are content hashes, so the base reuses whatever was planned.
        cache = ws.state_dir / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        (root / ".govcloud").mkdir(exist_ok=True)
        os.symlink(cache, root / ".govcloud" / "cache")
        yield Workspace(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract(data: bytes, into: Path) -> None:
    import io

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        # git archive writes plain files and folders; the "data" filter refuses anything that
        # would land outside `into` (absolute names, .., links out).
        tar.extractall(into, filter="data")

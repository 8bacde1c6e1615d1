"""The network controller's steps over a workspace: intent → compiled files → fabric → report.
The file effects (reading the workspace, writing compiled files) live here, at the edge."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from govcloud.diagnostics import UsageError
from govcloud.fsio import atomic_write
from govcloud.network.compile import TARGETS, Compiled, compile_network
from govcloud.network.fabric import Fabric, load_fabrics
from govcloud.network.intent import Intent, build_intent, load_exceptions
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace

EXCEPTIONS_FILE = "network-exceptions.yaml"


def workspace_intent(ws: Workspace, today: dt.date | None = None, reg: Registry | None = None) -> Intent:
    reg = reg or load_registry(ws)
    exceptions, source = load_exceptions(ws.tenants_dir / EXCEPTIONS_FILE)
    return build_intent(reg, exceptions, today=today, source=source)


def compile_workspace(ws: Workspace, targets: tuple[str, ...] = TARGETS, *,
                      quota_overrides: dict[str, int] | None = None, today: dt.date | None = None,
                      reg: Registry | None = None) -> tuple[Intent, Compiled]:
    intent = workspace_intent(ws, today, reg)
    return intent, compile_network(intent, targets, quota_overrides=quota_overrides)


def write_compiled(out_dir: Path, compiled: Compiled) -> list[Path]:
    rendered = compiled.render()
    written = []
    for name, text in rendered.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)
        written.append(path)
    # A target compiled earlier but not now must not linger to be verified by mistake.
    for old in out_dir.rglob("*.json"):
        if str(old.relative_to(out_dir)) not in rendered:
            old.unlink()
    return written


def fabrics_from_compiled(compiled: Compiled) -> list[Fabric]:
    with tempfile.TemporaryDirectory(prefix="govcloud-net-") as tmp:
        write_compiled(Path(tmp), compiled)
        return load_fabrics(Path(tmp))


@contextmanager
def workspace_at(ws: Workspace, base: str) -> Iterator[Workspace]:
    """The workspace as it was at a git ref (or another folder), for `network diff`."""
    folder = Path(base)
    if folder.is_dir():
        if not (folder / "tenants").is_dir():
            raise UsageError(f"{folder} has no tenants/ folder")
        yield Workspace(folder.resolve())
        return
    tmp = Path(tempfile.mkdtemp(prefix="govcloud-base-"))
    try:
        archive = subprocess.run(["git", "-C", str(ws.root), "archive", "--format=tar", base, "tenants"],
                                 capture_output=True)
        if archive.returncode != 0:
            raise UsageError(f"cannot read tenants/ at {base!r}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        yield Workspace(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

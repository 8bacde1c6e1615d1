"""The network controller's steps over a workspace: intent → compiled files → fabric → report.
The file effects (reading the workspace, writing compiled files) live here, at the edge. Planning
stacks for the proof is the application layer's (govcloud/app/network.py): the stacks sit above
the network controller."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from govcloud.diagnostics import UsageError
from govcloud.fsio import atomic_write, make_dir
from govcloud.network.compile import TARGETS, Compiled, compile_network
from govcloud.network.fabric import Fabric, load_fabrics
from govcloud.network.intent import Intent, build_intent, load_exceptions
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace

EXCEPTIONS_FILE = "network-exceptions.yaml"


def workspace_intent(ws: Workspace, today: dt.date | None = None, reg: Registry | None = None) -> Intent:
    reg = reg or load_registry(ws)
    exceptions, source = load_exceptions(ws.tenants_dir / EXCEPTIONS_FILE, reg)
    return build_intent(reg, exceptions, today=today, source=source)


def compile_workspace(ws: Workspace, targets: tuple[str, ...] = TARGETS, *,
                      quota_overrides: dict[str, int] | None = None, today: dt.date | None = None,
                      reg: Registry | None = None) -> tuple[Intent, Compiled]:
    intent = workspace_intent(ws, today, reg)
    return intent, compile_network(intent, targets, quota_overrides=quota_overrides)


MANIFEST = "manifest.json"
OWNER_MARK = ".govcloud-network-compile"
# What the compiler can write: a folder holding only these (an older compile, before the mark) is adopted.
KNOWN_FILES = frozenset({"attachments.json", "tenants.json", "firewall.json", "intercloud.json", "declared-flows.json",
                         MANIFEST, "aws-cloudwan/core-network-policy.json", "aws-tgw/transit-gateway.json",
                         "azure-vwan/virtual-wan.json"})


def write_compiled(out_dir: Path, compiled: Compiled) -> list[Path]:
    """Write the compiled files into ``out_dir``, which must be empty, missing, or a folder this
    command made earlier (it carries OWNER_MARK listing what it wrote). Only files listed there
    are ever replaced or removed: nothing of anyone else's is touched."""
    rendered = compiled.render()
    mark = out_dir / OWNER_MARK
    previous: list[str] = []
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"{out_dir} is not a folder")
        if mark.exists():
            try:
                previous = json.loads(mark.read_text(encoding="utf-8"))["files"]
                previous = [p for p in previous if p in KNOWN_FILES]
                if not isinstance(previous, list) or not all(isinstance(p, str) for p in previous):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise UsageError(f"{mark} is damaged: remove the folder or pass another --out") from None
        elif any(str(p.relative_to(out_dir)) not in KNOWN_FILES for p in out_dir.rglob("*") if not p.is_dir()):
            raise UsageError(f"refusing to write into {out_dir}: it holds files govcloud network compile did not "
                             f"create (no {OWNER_MARK}); pass an empty or new folder")
    make_dir(out_dir)
    previous = sorted(set(previous) | {str(p.relative_to(out_dir)) for p in out_dir.rglob("*.json")
                                       if str(p.relative_to(out_dir)) in KNOWN_FILES})
    atomic_write(mark, json.dumps({"files": sorted(set(previous) | set(rendered))}, indent=1) + "\n")
    written = []
    for name, text in rendered.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)
        written.append(path)
    # A target compiled earlier but not now must not linger to be verified by mistake; only our own.
    for old in previous:
        if old not in rendered:
            target = out_dir / old
            if target.is_file() and target.resolve().is_relative_to(out_dir.resolve()):
                target.unlink()
    atomic_write(mark, json.dumps({"files": sorted(rendered)}, indent=1) + "\n")
    return written


def fabrics_from_compiled(compiled: Compiled) -> list[Fabric]:
    with tempfile.TemporaryDirectory(prefix="govcloud-net-") as tmp:
        write_compiled(Path(tmp), compiled)
        return load_fabrics(Path(tmp))

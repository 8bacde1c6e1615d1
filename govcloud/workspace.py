"""Where a workspace keeps its documents.

A workspace is a folder (usually a git repository) with a ``tenants/`` folder of documents. This
repository is one: its ``tenants/`` holds the sample fleet next to the code that reads it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from govcloud import fsio


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def tenants_dir(self) -> Path:
        return self.root / "tenants"

    @property
    def municipalities_dir(self) -> Path:
        return self.tenants_dir / "municipalities"

    @property
    def vendors_dir(self) -> Path:
        return self.tenants_dir / "vendors"

    @property
    def active_dir(self) -> Path:
        """Materialised ``Tenant`` documents, one file per tenant."""
        return self.tenants_dir / "active"

    @property
    def requests_dir(self) -> Path:
        return self.tenants_dir / "requests"

    @property
    def ipam_file(self) -> Path:
        return self.tenants_dir / "ipam.yaml"

    @property
    def history_file(self) -> Path:
        return self.tenants_dir / "history.jsonl"

    @property
    def principals_file(self) -> Path:
        """Who may act on the workspace (kind ``Principals``); changed only through history."""
        return self.tenants_dir / "principals.yaml"

    @property
    def anchor_file(self) -> Path:
        """Where the history head is anchored outside the workspace (kind ``HistoryAnchor``; read
        by ``govcloud.anchor``, whose environment overrides it). Absent: no anchor, said plainly."""
        return self.tenants_dir / "anchor.yaml"

    @property
    def network_exceptions_file(self) -> Path:
        return self.tenants_dir / "network-exceptions.yaml"

    @property
    def waivers_file(self) -> Path:
        """Time-limited waivers of baseline controls (policies/waivers.yaml)."""
        return self.root / "policies" / "waivers.yaml"

    @property
    def plans_dir(self) -> Path:
        """Where ``govcloud plan`` writes plan documents (build output, never committed)."""
        return self.build_dir / "plans"

    @property
    def build_dir(self) -> Path:
        """Build output: plans, reports (never committed)."""
        return self.root / "build"

    def report_file(self, fmt: str) -> Path:
        """Where ``govcloud report`` writes by default (``html`` or ``json``)."""
        return self.build_dir / f"report.{fmt}"

    @property
    def plan_cache_dir(self) -> Path:
        """Plans by content hash: an unchanged stack is never planned twice."""
        return self.state_dir / "cache" / "plans"

    @property
    def lock_file(self) -> Path:
        return self.root / ".govcloud" / "workspace.lock"

    @property
    def state_dir(self) -> Path:
        """Machine-local caches and build output; never committed."""
        return self.root / ".govcloud"

    @property
    def journal_dir(self) -> Path:
        """The write-ahead journal of the transaction in progress (see ``govcloud.fsio``)."""
        return self.state_dir / "journal"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the workspace lock, with any interrupted transaction finished or undone first."""
        with fsio.workspace_lock(self.lock_file, on_acquire=self._recover_locked):
            yield

    def commit(self, writes: dict[Path, str | bytes | None]) -> None:
        """All files of one command as one transaction; the caller holds :meth:`locked`."""
        fsio.commit(self.root, self.journal_dir, writes)

    def recover(self) -> str | None:
        """Finish or undo an interrupted transaction (taking the lock only when one is pending),
        so that even read-only commands never read a half-applied change."""
        if not self.journal_dir.exists():
            return None
        with fsio.workspace_lock(self.lock_file):
            return self._recover_locked()

    def _recover_locked(self) -> str | None:
        return fsio.recover(self.root, self.journal_dir)

    def relative(self, path: Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)


def find_workspace(start: Path | None = None) -> Workspace:
    """``$GOVCLOUD_ROOT``, else the nearest folder upwards with ``tenants/`` and ``Pulumi.yaml``,
    else the current directory."""
    env = os.environ.get("GOVCLOUD_ROOT")
    if env:
        return Workspace(Path(env).resolve())
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "tenants").is_dir() and (candidate / "Pulumi.yaml").is_file():
            return Workspace(candidate)
    return Workspace(here)

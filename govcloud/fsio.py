"""File effects: atomic writes, multi-file commits and the workspace lock.

Nothing the CLI writes is ever half-written: each file goes to a temporary sibling, is fsynced
and renamed over the target. A multi-file change stages every file first and renames only when
all staged, so a failure while staging leaves the tree exactly as it was.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from govcloud.diagnostics import UsageError


def _stage(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write(path: Path, content: str | bytes) -> None:
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = _stage(path, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def commit_files(writes: dict[Path, str | bytes | None]) -> None:
    """Write (or, for ``None``, delete) several files as one step: stage all, then rename."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in writes.items():
            if content is None:
                continue
            data = content.encode("utf-8") if isinstance(content, str) else content
            staged.append((_stage(path, data), path))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    for path, content in writes.items():
        if content is None:
            path.unlink(missing_ok=True)
    for directory in {p.parent for p in writes}:
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def workspace_lock(lock_path: Path, timeout: float = 60.0) -> Iterator[None]:
    """Serialise every state-changing command (apply, remove, approve) on one workspace."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise UsageError(
            f"another govcloud command holds the workspace lock {lock_path} for more than {timeout:.0f}s"
        ) from None

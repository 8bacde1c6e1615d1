"""File effects: atomic writes, one journalled transaction per command, and the workspace lock.

Single files (caches, build output) are written to a temporary sibling, fsynced and renamed over
the target. A command that changes the workspace ledger (tenant documents, ``ipam.yaml``,
``history.jsonl``, applied requests) changes several files; those go through a **write-ahead
journal** under ``.govcloud/journal/`` so they land together or not at all:

1. every new file content is staged inside the journal folder and fsynced;
2. the manifest (which staged file replaces which target, which targets are deleted) is written
   to ``COMMIT.tmp``, fsynced and renamed to ``COMMIT`` — **the commit point**;
3. each staged file is renamed over its target, each deletion unlinked;
4. ``COMMIT`` is removed, then the journal folder.

A kill before step 2 leaves the targets untouched (the next command removes the staged files: roll
back); a kill after it leaves a ``COMMIT`` that the next command finishes (roll forward). Every
step of 3 is idempotent: a staged file that is gone was already renamed into place. Recovery runs
under the workspace lock at the start of every command that reads or writes the ledger, so no
command ever sees a half-applied transaction, and no temporary file is left anywhere but inside the
journal folder, which recovery removes.

The journal lives in the workspace, so its renames stay on one file system (rename is atomic only
within one); a ``tenants/`` folder mounted from another file system is refused at commit time.

Crash injection (tests only): ``GOVCLOUD_CRASH_AT=N`` makes the process ``os._exit(CRASH_EXIT)``
just before its N-th file-system step; ``GOVCLOUD_CRASH_TRACE=FILE`` appends each step's label to
FILE, so a test can count a command's steps and kill it at every one of them.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from govcloud.diagnostics import UsageError

CRASH_EXIT = 86
MANIFEST = "COMMIT"
JOURNAL_FORMAT = 1
_steps = 0


def crash_point(label: str) -> None:
    """A file-system step; the crash-injection hook kills the process here when asked to."""
    global _steps
    trace = os.environ.get("GOVCLOUD_CRASH_TRACE")
    at = os.environ.get("GOVCLOUD_CRASH_AT")
    if not trace and not at:
        return
    _steps += 1
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(f"{_steps}\t{label}\n")
    if at and int(at) == _steps:
        os._exit(CRASH_EXIT)


def _write_synced(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _writable_target(path: Path) -> None:
    """Refuse, before anything is written, a target that is not a regular file (a directory, a
    FIFO, a device) or whose folder is a file: writing there fails half-way, or blocks."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{path} is a dangling symbolic link: remove it or point it at a file")
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise UsageError(f"{path} is {kind}: cannot write a file there; move it away")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{parent} is a file, not a folder: cannot write {path}")
            break


def make_dir(path: Path) -> None:
    """Create an output folder (``--out DIR``), refusing a path that exists as something else
    instead of failing with FileExistsError half-way through the output."""
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not path.is_dir():
        raise UsageError(f"{path} exists and is not a folder (or is a dangling link): give a folder (or a new "
                         "path) for the output")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:               # a parent that is a file or a dangling link, no permission
        raise UsageError(f"cannot create the folder {path}: {exc.strerror or exc}") from None


def _stage(path: Path, data: bytes) -> Path:
    _writable_target(path)
    make_dir(path.parent)
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
    """One file, all or nothing (for files outside the ledger: caches, build output, state)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = _stage(path, data)
    try:
        crash_point(f"rename {path.name}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


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


# --- the journal -----------------------------------------------------------------------------------


class JournalError(UsageError):
    """The journal itself is unreadable or names a file outside the workspace."""


def _inside(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if Path(relative).is_absolute() or ".." in Path(relative).parts or not target.is_relative_to(root.resolve()):
        raise JournalError(f"the journal names {relative!r}, which is outside the workspace {root}")
    return root / relative


def commit(root: Path, journal: Path, writes: dict[Path, str | bytes | None]) -> None:
    """Write (or, for ``None``, delete) every file in ``writes`` as one transaction.

    The caller holds the workspace lock and has run :func:`recover` (``Workspace.locked`` does both).
    """
    if journal.exists():
        raise JournalError(f"an unfinished transaction is in {journal}; run any govcloud command to recover it")
    root = Path(root)
    journal.mkdir(parents=True)
    try:
        entries = _stage_all(root, journal, writes)
        manifest = json.dumps({"format": JOURNAL_FORMAT, "writes": entries}, ensure_ascii=False, indent=1)
        crash_point("write journal manifest")
        _write_synced(journal / (MANIFEST + ".tmp"), manifest.encode("utf-8"))
    except Exception:
        # An ordinary failure before the commit point (disk full, a refused path): nothing was
        # touched, so undo at once. A kill leaves the journal for the next command to roll back.
        shutil.rmtree(journal, ignore_errors=True)
        raise
    crash_point("commit (rename manifest)")
    os.replace(journal / (MANIFEST + ".tmp"), journal / MANIFEST)
    _fsync_dir(journal)
    _roll_forward(root, journal, entries)


def _stage_all(root: Path, journal: Path, writes: dict[Path, str | bytes | None]) -> list[dict]:
    entries = []
    device = os.stat(journal).st_dev
    for index, (path, content) in enumerate(writes.items()):
        relative = os.path.relpath(Path(path).absolute(), root.absolute())
        _inside(root, relative)
        _writable_target(Path(path))
        if Path(path).parent.exists() and os.stat(Path(path).parent).st_dev != device:
            raise JournalError(f"{path} is on another file system than the journal {journal}; "
                               "renames across file systems are not atomic")
        if content is None:
            entries.append({"target": relative, "staged": None})
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        staged = f"{index:04d}.data"
        mode = Path(path).stat().st_mode & 0o777 if Path(path).exists() else 0o644
        crash_point(f"stage {relative}")
        _write_synced(journal / staged, data, mode)
        entries.append({"target": relative, "staged": staged})
    return entries


def _roll_forward(root: Path, journal: Path, entries: list[dict]) -> None:
    touched = set()
    for entry in entries:
        target = _inside(root, entry["target"])
        touched.add(target.parent)
        if entry["staged"] is None:
            if target.exists() or target.is_symlink():
                crash_point(f"delete {entry['target']}")
                try:
                    target.unlink()
                except OSError as exc:
                    raise JournalError(f"the last transaction is committed but could not delete {target}: "
                                       f"{exc.strerror or exc}. Fix that, then run any govcloud command to finish "
                                       f"it (the journal is {journal})") from None
            continue
        staged = journal / entry["staged"]
        if not staged.exists():
            continue                       # renamed into place before an interruption
        crash_point(f"rename into {entry['target']}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                raise JournalError(f"{target} is on another file system than the journal {journal}") from None
            # Committed but not finished (someone put a folder where a file goes, meanwhile): the
            # journal stays, and the next command finishes it once the obstacle is gone.
            raise JournalError(f"the last transaction is committed but could not be finished: {target}: "
                               f"{exc.strerror or exc}. Fix that, then run any govcloud command to finish it "
                               f"(the journal is {journal})") from None
    for directory in touched:
        _fsync_dir(directory)
    crash_point("finish (remove manifest)")
    (journal / MANIFEST).unlink()
    _fsync_dir(journal)
    crash_point("remove journal folder")
    shutil.rmtree(journal)


def recover(root: Path, journal: Path) -> str | None:
    """Finish or undo an interrupted transaction. Returns what was done, or None if nothing was
    pending. The caller holds the workspace lock."""
    if not journal.exists():
        return None
    manifest = journal / MANIFEST
    if not manifest.exists():
        # Interrupted before the commit point: the targets were never touched.
        crash_point("roll back (remove journal folder)")
        shutil.rmtree(journal)
        return "rolled back an interrupted transaction that had not committed"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        entries = data["writes"]
        if data.get("format") != JOURNAL_FORMAT or not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("target"), str)
            and (e.get("staged") is None or isinstance(e.get("staged"), str)) for e in entries
        ):
            raise ValueError("unexpected shape")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise JournalError(f"{manifest} is damaged ({exc}); the last transaction can be neither finished "
                           f"nor undone automatically: inspect {journal} and the workspace by hand") from None
    for entry in entries:
        if entry["staged"] is not None and ("/" in entry["staged"] or entry["staged"].startswith(".")):
            raise JournalError(f"{manifest} names a staged file {entry['staged']!r} outside the journal")
    _roll_forward(Path(root), journal, entries)
    return f"finished an interrupted transaction ({len(entries)} file(s))"


@contextmanager
def workspace_lock(lock_path: Path, timeout: float = 60.0,
                   on_acquire: Callable[[], object] | None = None) -> Iterator[None]:
    """Serialise every state-changing command (apply, remove, approve) on one workspace;
    ``on_acquire`` runs first inside the lock (journal recovery)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=timeout)
    try:
        with lock:
            if on_acquire is not None:
                on_acquire()
            yield
    except Timeout:
        raise UsageError(
            f"another govcloud command holds the workspace lock {lock_path} for more than {timeout:.0f}s"
        ) from None


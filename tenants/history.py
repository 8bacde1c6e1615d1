"""Append-only, hash-chained history of every workflow event (approve, apply, remove).

Each line of ``tenants/history.jsonl`` is one JSON entry. ``hash`` is the SHA-256 of the entry's
canonical JSON without ``hash``; ``prev`` is the previous entry's hash. Editing or deleting any
entry breaks the chain. Deleting the *newest* entries keeps a valid but shorter chain, so the
newest hash is also recorded in the address plan (``status.historyHead``) and can be pinned with
``govcloud history verify --expect-head``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def now_iso() -> str:
    """UTC timestamp; ``GOVCLOUD_NOW`` pins it for reproducible sample data and tests."""
    pinned = os.environ.get("GOVCLOUD_NOW")
    if pinned:
        return pinned
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class History:
    entries: tuple[dict, ...]

    @property
    def head(self) -> str:
        return self.entries[-1]["hash"] if self.entries else GENESIS

    def with_event(self, event: str, actor: str, data: dict) -> tuple["History", dict]:
        entry = {
            "seq": len(self.entries) + 1,
            "time": now_iso(),
            "event": event,
            "actor": actor,
            "data": data,
            "prev": self.head,
        }
        entry["hash"] = entry_hash(entry)
        return History(self.entries + (entry,)), entry

    def render(self) -> str:
        return "".join(canonical(e) + "\n" for e in self.entries)

    def events(self, event: str) -> list[dict]:
        return [e for e in self.entries if e["event"] == event]


def read(path: Path) -> History:
    """Read without verifying (``verify`` reports problems with line numbers)."""
    if not path.exists():
        return History(())
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                entries.append({"_unreadable": line})
    return History(tuple(entries))


def verify(path: Path, expected_head: str | None = None) -> list[tuple[int, str]]:
    """Problems as (line number, message); empty when the chain is intact."""
    problems: list[tuple[int, str]] = []
    if not path.exists():
        if expected_head not in (None, GENESIS):
            problems.append((1, f"history file {path} is missing but the head should be {expected_head}"))
        return problems
    prev, seq, line_no = GENESIS, 0, 0
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            problems.append((line_no, "blank line in an append-only history"))
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((line_no, f"entry is not valid JSON ({exc.msg})"))
            prev = None  # the chain cannot be followed past an unreadable entry
            seq += 1
            continue
        seq += 1
        if not isinstance(entry, dict) or "hash" not in entry:
            problems.append((line_no, "entry has no hash"))
            continue
        if entry.get("seq") != seq:
            problems.append((line_no, f"sequence number {entry.get('seq')} where {seq} was expected: an entry was deleted or inserted"))
            seq = entry.get("seq") if isinstance(entry.get("seq"), int) else seq
        if entry_hash(entry) != entry["hash"]:
            problems.append((line_no, f"entry {entry.get('seq')} was edited: its content does not match its hash"))
        if prev is not None and entry.get("prev") != prev:
            problems.append((line_no, f"entry {entry.get('seq')} does not follow the previous entry: an entry before it was edited or deleted"))
        prev = entry["hash"]
    head = prev
    if expected_head is not None and head != expected_head:
        problems.append((max(line_no, 1), f"newest entry is {head}, expected {expected_head}: entries were removed from the end or the file was replaced"))
    return problems

"""Append-only, hash-chained history of every workflow event (approve, apply, remove, account).

Each line of ``tenants/history.jsonl`` is one JSON entry: ``seq`` (1, 2, …), ``time``, ``event``,
``actor``, ``data``, ``prev`` (the previous entry's hash, 64 zeros for the first) and ``hash``,
the SHA-256 of the entry's canonical JSON without ``hash``. Editing, inserting or deleting any
entry but the newest breaks the chain; deleting the newest entries (or the whole file) is caught
by the anchors in ``govcloud.tenants.ledger``.

Two entry formats, told apart by the ``v`` field so that existing histories stay verifiable:

- **v2** (``"v": 2``, everything written now): canonical JSON is RFC 8785, the JSON
  Canonicalization Scheme (sorted keys by UTF-16 code units, ECMAScript number forms, minimal
  string escapes), via the ``rfc8785`` library;
- **v1** (no ``v``, the sample history written before): Python's
  ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))``.

Each line must be byte for byte the canonical encoding of its entry, so one entry has exactly one
spelling, and every entry is typed (:class:`Entry` and one data model per event): a damaged line
is a diagnostic naming the file and the line, never a crash.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from govcloud.diagnostics import Diagnostic, DiagnosticError
from govcloud.yamlio import _no_duplicates  # one duplicate-key rule for every JSON the product reads

GENESIS = "0" * 64
CURRENT_VERSION = 2
# Limits: an entry is a few hundred bytes; a fleet of 1,741 municipalities × 20 systems × 2
# environments with a handful of events each stays far below the file limit.
# A ``principals.recorded`` entry carries the whole Principals document (a country's approvers
# and their keys stay within a few MiB).
MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_FILE_BYTES = 512 * 1024 * 1024

HASH = r"^[0-9a-f]{64}$"
DIGEST = r"^sha256:[0-9a-f]{64}$"
TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"


def canonical(obj: Any) -> str:
    """The v1 canonical form (also what request digests are computed over: unchanged)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_SAFE_INT = 2**53 - 1


def _plain(obj: Any) -> bool:
    """True when RFC 8785 and Python's sorted compact JSON spell ``obj`` the same: ASCII keys
    (UTF-16 and code-point order agree), strings without lone surrogates, integers within
    ±2^53−1, no floats. Both then escape exactly ``"`` ``\\`` and the C0 controls, the five short
    forms as such and the rest as lowercase ``\\u00xx`` (RFC 8785 §3.2.2.2, ECMA-262
    JSON.stringify; CPython's json encoder). Every history entry is plain; the check keeps the
    fast C encoder honest for anything that is not."""
    if isinstance(obj, str):
        return not any("\ud800" <= ch <= "\udfff" for ch in obj) if not obj.isascii() else True
    if isinstance(obj, bool) or obj is None:
        return True
    if isinstance(obj, int):
        return -_SAFE_INT <= obj <= _SAFE_INT
    if isinstance(obj, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_plain(v) for v in obj)
    return False


def encode(entry: dict) -> str:
    """The one spelling of an entry (with or without ``hash``) in its own format version."""
    if entry.get("v") == CURRENT_VERSION:
        if _plain(entry):
            return canonical(entry)            # identical bytes, C speed (see _plain)
        return rfc8785.dumps(entry).decode("utf-8")
    return canonical(entry)


def entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(encode(body).encode("utf-8")).hexdigest()


def now_iso() -> str:
    """UTC timestamp; ``GOVCLOUD_NOW`` pins it for reproducible sample data and tests."""
    pinned = os.environ.get("GOVCLOUD_NOW")
    if pinned:
        return pinned
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- the typed entry ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Approved(_Strict):
    """A signed approval names its principal and carries the SSH signature of its statement
    (``govcloud.tenants.principals.approval_statement``); ``signedBy: service`` when the onboarding
    service signed for the signed-in principal with ``serviceKey``. Entries without ``signature``
    are the unsigned approvals of before, which never count."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)
    request: StrictStr = Field(min_length=1)
    digest: StrictStr = Field(pattern=DIGEST)
    role: Literal["platform", "municipality"]
    by: StrictStr = Field(min_length=1)
    municipality: StrictStr | None = Field(default=None, pattern=r"^[0-9]{6}$")
    principal: StrictStr | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    signature: StrictStr | None = Field(default=None, max_length=16384)
    signed_by: Literal["key", "service"] | None = Field(default=None, alias="signedBy")
    service_key: StrictStr | None = Field(default=None, alias="serviceKey")
    authentication: Literal["oidc", "token"] | None = None
    # The history head the statement was signed against (approval statement v2): what makes the
    # statement unique, so a withdrawn approval cannot come back and a re-approval is a new
    # signature. Absent in approvals recorded before (statement v1).
    head: StrictStr | None = Field(default=None, pattern=HASH)


class ApprovalWithdrawn(_Strict):
    """The approver of entry ``withdraws`` takes that approval back (signed like an approval, over
    ``principals.withdrawal_statement``); it no longer counts."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)
    request: StrictStr = Field(min_length=1)
    digest: StrictStr = Field(pattern=DIGEST)
    withdraws: StrictInt = Field(ge=1)
    by: StrictStr = Field(min_length=1)
    principal: StrictStr = Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    reason: StrictStr = Field(default="", max_length=2000)
    signature: StrictStr = Field(max_length=16384)
    signed_by: Literal["key", "service"] = Field(alias="signedBy")
    service_key: StrictStr | None = Field(default=None, alias="serviceKey")
    authentication: Literal["oidc", "token"] | None = None


class Applied(_Strict):
    request: StrictStr = Field(min_length=1)
    digest: StrictStr = Field(pattern=DIGEST)
    tenants: dict[StrictStr, StrictStr] = Field(min_length=1)
    # Since approvals are signed: the municipalities served and the approval entries counted.
    municipalities: list[StrictStr] | None = None
    approvals: list[StrictInt] | None = None
    # Since tenants are re-derived (issue 19): each tenant's zone as the catalogue gave it at apply
    # time, so a later catalogue cannot change what an applied request derives.
    zones: dict[StrictStr, StrictStr] | None = None


class Cosignature(_Strict):
    """One signer of a governed change: a principal id and their SSH signature of the statement."""

    principal: StrictStr = Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    signature: StrictStr = Field(max_length=16384)


class PrincipalsRecorded(_Strict):
    """v2 (``version`` present, everything written now): ``replaces`` names the digest of the
    version in force before (null for the first), ``signatures`` every signer. v1 (recorded
    before): one ``principal`` and ``signature`` over ``govcloud.principals/v1``."""

    digest: StrictStr = Field(pattern=DIGEST)
    document: dict[StrictStr, Any]
    principal: StrictStr | None = Field(default=None, min_length=1)
    signature: StrictStr | None = Field(default=None, max_length=16384)
    version: StrictInt | None = Field(default=None, ge=1)
    replaces: StrictStr | None = Field(default=None, pattern=DIGEST)
    signatures: list[Cosignature] | None = Field(default=None, min_length=1, max_length=16)


class DocumentRecorded(_Strict):
    """A governed decision document (``kind`` Waivers or NetworkExceptions) recorded whole, with
    the signatures of the people it needs (see ``govcloud.tenants.governed``)."""

    kind: Literal["Waivers", "NetworkExceptions"]
    digest: StrictStr = Field(pattern=DIGEST)
    document: dict[StrictStr, Any]
    version: StrictInt = Field(ge=1)
    replaces: StrictStr | None = Field(default=None, pattern=DIGEST)
    signatures: list[Cosignature] = Field(min_length=1, max_length=64)


class Removed(_Strict):
    """Signed by a platform principal (``principals.removal_statement``) once a Principals
    document is recorded; before, a typed actor only."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)
    tenant: StrictStr = Field(min_length=1)
    cidr: StrictStr
    request: StrictStr
    by: StrictStr | None = Field(default=None, min_length=1)
    principal: StrictStr | None = Field(default=None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    signature: StrictStr | None = Field(default=None, max_length=16384)
    signed_by: Literal["key", "service"] | None = Field(default=None, alias="signedBy")
    service_key: StrictStr | None = Field(default=None, alias="serviceKey")
    authentication: Literal["oidc", "token"] | None = None


class AccountRecorded(_Strict):
    tenant: StrictStr = Field(min_length=1)
    account_id: StrictStr = Field(alias="accountId", pattern=r"^[0-9]{12}$")


EVENT_DATA: dict[str, type[_Strict]] = {
    "request.approved": Approved,
    "request.applied": Applied,
    "request.approval-withdrawn": ApprovalWithdrawn,
    "tenant.removed": Removed,
    "tenant.account-recorded": AccountRecorded,
    "principals.recorded": PrincipalsRecorded,
    "document.recorded": DocumentRecorded,
}


class Entry(_Strict):
    v: Literal[2] | None = None
    seq: StrictInt = Field(ge=1)
    time: StrictStr = Field(pattern=TIME)
    event: Literal["request.approved", "request.applied", "request.approval-withdrawn", "tenant.removed",
                   "tenant.account-recorded", "principals.recorded", "document.recorded"]
    actor: StrictStr = Field(min_length=1)
    data: dict[StrictStr, Any]
    prev: StrictStr = Field(pattern=HASH)
    hash: StrictStr = Field(pattern=HASH)


def _shape_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "entry is not a JSON object"
    for model, value, prefix in ((Entry, entry, ""), (None, None, "data.")):
        try:
            if model is None:
                EVENT_DATA[entry["event"]].model_validate(entry["data"])
            else:
                model.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            return f"field {prefix}{where}: {first['msg']}"
    return None


# --- the chain -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    entries: tuple[dict, ...]

    @property
    def head(self) -> str:
        return self.entries[-1]["hash"] if self.entries else GENESIS

    def with_event(self, event: str, actor: str, data: dict) -> tuple["History", dict]:
        EVENT_DATA[event].model_validate(data)        # never write an entry we could not read back
        entry = {
            "v": CURRENT_VERSION,
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
        return "".join(encode(e) + "\n" for e in self.entries)

    def events(self, event: str) -> list[dict]:
        return [e for e in self.entries if e["event"] == event]

    def find(self, entry_hash_: str) -> dict | None:
        return self._by_hash.get(entry_hash_)

    @functools.cached_property
    def _by_hash(self) -> dict[str, dict]:
        return {e["hash"]: e for e in self.entries}


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def scan(path: Path) -> tuple[History, list[tuple[int, str]]]:
    """Read and check the whole chain: (the entries that could be read, problems as (line, message)).

    The chain is intact exactly when the problem list is empty; only then may anyone build on it.
    """
    if not path.exists() and not path.is_symlink():
        return History(()), []
    problems: list[tuple[int, str]] = []
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # A folder cannot be read; a FIFO or device would block the read.
            return History(()), [(1, "the history is not a regular file (a folder, FIFO or device)")]
        if st.st_size > MAX_FILE_BYTES:
            return History(()), [(1, f"history is {st.st_size} bytes, more than the limit of {MAX_FILE_BYTES}")]
        raw = path.read_bytes()
    except OSError as exc:
        return History(()), [(1, f"cannot read the history: {exc.strerror or exc}")]
    if not raw:
        return History(()), []     # no entries yet; the anchors (ipam.yaml, tenants) catch a truncation
    if raw and not raw.endswith(b"\n"):
        problems.append((raw.count(b"\n") + 1, "the last entry is cut off (no line end): the file was truncated"))
    entries: list[dict] = []
    prev, seq = GENESIS, 0
    for line_no, line in enumerate(raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"), start=1):
        if not line.strip():
            problems.append((line_no, "blank line in an append-only history"))
            continue
        seq += 1
        if len(line) > MAX_LINE_BYTES:
            problems.append((line_no, f"entry is {len(line)} bytes, more than the limit of {MAX_LINE_BYTES}"))
            prev = None
            continue
        try:
            text = line.decode("utf-8")
            entry = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        except UnicodeDecodeError as exc:
            problems.append((line_no, f"entry is not UTF-8 (byte {exc.start + 1})"))
            prev = None                 # the chain cannot be followed past an unreadable entry
            continue
        except ValueError as exc:
            problems.append((line_no, f"entry is not valid JSON ({getattr(exc, 'msg', exc)})"))
            prev = None
            continue
        except RecursionError:
            # json's C decoder recurses per nesting level; an entry is a few levels deep.
            problems.append((line_no, "entry is not a history entry: nested too deeply"))
            prev = None
            continue
        shape = _shape_problem(entry)
        if shape:
            problems.append((line_no, f"entry does not have the shape of a history entry: {shape}"))
            prev = None
            continue
        if entry["seq"] != seq:
            problems.append((line_no, f"sequence number {entry['seq']} where {seq} was expected: "
                                      "an entry was deleted or inserted"))
            seq = entry["seq"]
        if entry_hash(entry) != entry["hash"]:
            problems.append((line_no, f"entry {entry['seq']} was edited: its content does not match its hash"))
        elif text != encode(entry):
            problems.append((line_no, f"entry {entry['seq']} is not written in its canonical form "
                                      f"(v{entry.get('v') or 1}); it was rewritten by hand"))
        if prev is not None and entry["prev"] != prev:
            problems.append((line_no, f"entry {entry['seq']} does not follow the previous entry: "
                                      "an entry before it was edited or deleted"))
        if entries and entries[-1].get("v") == CURRENT_VERSION and entry.get("v") != CURRENT_VERSION:
            problems.append((line_no, f"entry {entry['seq']} is in the old format after a v2 entry"))
        prev = entry["hash"]
        entries.append(entry)
    return History(tuple(entries)), problems


def verify(path: Path, expected_head: str | None = None) -> list[tuple[int, str]]:
    """Problems as (line number, message); empty when the chain is intact (and ends at
    ``expected_head`` when one is given)."""
    hist, problems = scan(path)
    if expected_head is not None and not problems and hist.head != expected_head:
        what = "the history file is missing" if not path.exists() else f"the newest entry is {hist.head}"
        problems.append((max(len(hist.entries), 1), f"{what}, expected {expected_head}: entries were removed "
                                                    "from the end or the file was replaced"))
    return problems


def diagnostics(path: Path, problems: list[tuple[int, str]], display: str | None = None) -> list[Diagnostic]:
    return [Diagnostic(display or str(path), line, 1, "GC601", message) for line, message in problems]


def load(path: Path, display: str | None = None) -> History:
    """The verified chain; raises with every problem (file and line) when it is not intact."""
    hist, problems = scan(path)
    if problems:
        raise DiagnosticError(diagnostics(path, problems, display))
    return hist


def read(path: Path) -> History:
    """Alias of :func:`load`: there is no unverified way to read the history."""
    return load(path)


_HEX = re.compile(HASH)


def is_hash(text: object) -> bool:
    return isinstance(text, str) and bool(_HEX.match(text))

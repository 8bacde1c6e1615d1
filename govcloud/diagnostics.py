"""Diagnostics: every user-facing error names the file, line, column and field.

Format (compiler style, so editors and CI annotate it):
``path:line:col: error[CODE]: message (field spec.region)``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    code: str
    message: str
    field: str = ""
    severity: str = "error"

    def format(self, lang: str = "en") -> str:
        """The compiler-style line. In Japanese the ``severity[CODE]`` prefix stays as it is (editors
        and CI annotate by it); the message is translated (govcloud/messages/ja.yaml), or shown in
        English after the code's Japanese title when no translation matches."""
        where = f"{self.path}:{self.line}:{self.col}"
        if lang == "ja":
            from govcloud.messages import translate

            suffix = f"（項目 {self.field}）" if self.field else ""
            return f"{where}: {self.severity}[{self.code}]: {translate(self.code, self.message)}{suffix}"
        suffix = f" (field {self.field})" if self.field else ""
        return f"{where}: {self.severity}[{self.code}]: {self.message}{suffix}"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "field": self.field,
        }


class DiagnosticError(Exception):
    """Raised with one or more diagnostics; the CLI prints them all and exits 1."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class UsageError(Exception):
    """A problem with how a command was called or with workspace state (not a document)."""


@dataclass
class Collector:
    """Accumulates diagnostics for one file so every problem is reported at once."""

    path: Path | str
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    items: list[Diagnostic] = field(default_factory=list)
    # Fields already reported as malformed: rules that run on the rest of the document must not
    # report them a second time (an empty placeholder stands in for them).
    suppressed: set[tuple] = field(default_factory=set)

    def suppress(self, locs: set[tuple]) -> None:
        self.suppressed |= {tuple(loc) for loc in locs}

    def add(self, code: str, message: str, loc: tuple = (), *, severity: str = "error") -> None:
        loc = tuple(loc)
        if any(loc[:n] in self.suppressed for n in range(len(loc) + 1)):
            return
        line, col = locate(self.positions, loc)
        self.items.append(
            Diagnostic(str(self.path), line, col, code, message, dotted(loc), severity)
        )

    def add_at(self, line: int, col: int, code: str, message: str, *, severity: str = "error") -> None:
        """A problem at a place in the text that is no field (a comment)."""
        self.items.append(Diagnostic(str(self.path), line, col, code, message, "", severity))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise DiagnosticError(self.items)


def dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def locate(positions: dict[tuple, tuple[int, int]], loc: tuple) -> tuple[int, int]:
    """Position of the deepest prefix of ``loc`` that exists in the document (1-based)."""
    loc = tuple(loc)
    while loc not in positions and loc:
        loc = loc[:-1]
    return positions.get(loc, (1, 1))

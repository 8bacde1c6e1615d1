"""One drift change: what differs between the declared (planned or compiled) state and the live one.
Shared by the Transit Gateway, Cloud WAN and security-group readers (live/drift.py, live/cloudwan.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    layer: str          # routing (Transit Gateway) or filtering (security groups)
    kind: str           # added, removed, changed
    where: str
    declared: str | None
    live: str | None

    def as_dict(self) -> dict:
        return {"layer": self.layer, "kind": self.kind, "where": self.where, "declared": self.declared, "live": self.live}


def change_kind(declared, live) -> str:
    return "added" if declared is None else "removed" if live is None else "changed"

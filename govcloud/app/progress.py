"""Progress of a long service call, for adapters that want to show it.

A service that takes a while (``check`` while checkov runs, ``audit``, ``drift``) accepts an
optional ``progress`` callable and calls it with a ``Step`` as it goes: ``done`` of ``total`` units
of one ``stage`` (``total`` None when the stage cannot be counted, e.g. one call to checkov). The
service neither knows nor cares what is drawn: the command line draws a bar on a terminal, a web
adapter could stream the steps, a test records them. Calls come from the thread that called the
service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

# plan: stacks planned (through the cache); read: plan files read; check: plans judged;
# checkov: checkov's run; accounts: tenant accounts found; audit: tenant accounts read;
# compile: the network intent compiled; live: live network state read and verified.
Stage = Literal["plan", "read", "check", "checkov", "accounts", "audit", "compile", "live"]


@dataclass(frozen=True)
class Step:
    stage: Stage
    done: int
    total: int | None
    item: str = ""        # what was just done (a stack, a tenant), when there is one


Progress = Callable[[Step], None]


def ignore(step: Step) -> None:
    """The progress of a caller that does not show any."""


def counted(progress: Progress | None, stage: Stage) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback for a domain function that counts, reporting as ``stage``."""
    report = progress or ignore
    return lambda done, total: report(Step(stage, done, total))


def bracket(progress: Progress | None, stage: Stage, item: str = ""):
    """Report an uncountable stage as started (0 of None) and, when the returned callable is
    called, as finished (1 of 1)."""
    report = progress or ignore
    report(Step(stage, 0, None, item))
    return lambda: report(Step(stage, 1, 1, item))

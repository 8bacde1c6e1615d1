"""Shared helpers: plan sample stacks once per test session (planning is the slow part)."""

from __future__ import annotations

import functools
import json

from govcloud.stacks import planner
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace
from tests.conftest import REPO

WS = Workspace(REPO)


@functools.cache
def sample_plan(stack: str) -> dict:
    reg = load_registry(WS)
    from govcloud.stacks.program import network_inputs

    ((name, tenant),) = planner.select_stacks(reg, stack=stack)
    return json.loads(planner.plan_stack(planner.make_job(WS, name, tenant, network_inputs(WS))))


def resources(plan: dict, type_: str | None = None) -> list[dict]:
    return [r for r in plan["deployment"]["resources"] if type_ is None or r["type"] == type_]


def one(plan: dict, type_: str) -> dict:
    found = resources(plan, type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return found[0]["inputs"]

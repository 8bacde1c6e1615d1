"""Deploy service: preview and up with the Pulumi CLI through the Automation API, behind the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from govcloud.app.check import GateOutcome
from govcloud.app.network import network_gate, plan_stacks
from govcloud.diagnostics import UsageError
from govcloud.plans import EXPECTED_STACKS, FOUNDATION, NETWORK, tenant_of
from govcloud.tenants import ledger
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace

ACTIONS = ("preview", "up")


@dataclass(frozen=True)
class DeployRequest:
    action: str                  # preview or up
    stack: str
    org: str | None = None
    confirmed: bool = False      # up changes real infrastructure: the adapter must have asked


@dataclass(frozen=True)
class DeployOutcome:
    action: str
    stack: str
    summary: str
    gate: GateOutcome | None


class GateRefused(UsageError):
    """The deploy gate refused the stack; carries what failed."""

    def __init__(self, outcome: GateOutcome):
        self.outcome = outcome
        listed = "; ".join(f"{f.control} ({f.message})" for f in outcome.failures[:10])
        super().__init__(f"refusing to deploy {outcome.stack}: {len(outcome.failures)} mandatory control(s) fail: {listed}. "
                         "Fix them or record a waiver in policies/waivers.yaml (govcloud check --plans shows details)")


def judge(ws: Workspace, stack: str, plan: dict) -> GateOutcome:
    """The mandatory controls over the stack's plan, waivers applied: never deploy a plan that
    fails one (the plan comes from the one planning run the deploy makes)."""
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import run_checks

    return GateOutcome(stack, run_checks([plan], ws.waivers_file).failures(load_controls()))


def deploy(ws: Workspace, request: DeployRequest, on_output: Callable[[str], None] | None = None,
           on_gate: Callable[[GateOutcome], None] | None = None) -> DeployOutcome:
    from govcloud.stacks import automation

    if request.action not in ACTIONS:
        raise UsageError(f"unknown action {request.action!r}: expected {' or '.join(ACTIONS)}")
    reg = load_registry(ws)
    # Deploy only what was signed: the ledger (tenant documents as the history derives them,
    # decisions recorded, the anchor) before anything is planned or previewed.
    ledger.require_intact(ws, reg)
    if request.stack not in (FOUNDATION, NETWORK) and tenant_of(request.stack) not in reg.tenants:
        raise UsageError(f"unknown stack {request.stack!r}: expected {EXPECTED_STACKS}")
    if request.action == "up" and not request.confirmed:
        raise UsageError("govcloud up changes real infrastructure: run `govcloud preview` first, then pass --yes")
    judged = None
    if request.action == "up":
        # Planned once: the stack's own plan for the controls, and the network stack's and every
        # tenant's plans for the network proof (the same planning, from the plan cache).
        planned = plan_stacks(ws, reg, stack=request.stack)
        judged = judge(ws, request.stack, planned.checked)
        if not judged.passed:
            raise GateRefused(judged)
        network_gate(ws, reg, request.stack, planned.plans)
        if on_gate:
            on_gate(judged)
    fn = automation.up if request.action == "up" else automation.preview
    result = fn(ws, request.stack, org=request.org, on_output=on_output)
    summary = getattr(result, "change_summary", None) or getattr(result.summary, "resource_changes", "")
    return DeployOutcome(request.action, request.stack, str(summary), judged)

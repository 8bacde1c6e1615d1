"""From the stacks' plans to the network model: what the proof reads of what is deployed.

Shared by the application layer (``network verify``, the deploy gate, the preflight) and the
report, so that both prove what the plans deploy and not what the compiler intended (the report
proved the compiled intent: a plan with a route to an internet gateway in a mynumber tenant read
"proof holds"; found in review).
"""

from __future__ import annotations

import json

from govcloud.diagnostics import UsageError
from govcloud.network.fabric import Fabric, fabrics_from_documents
from govcloud.network.plans import documents_from_plans
from govcloud.workspace import Workspace


def configured_attachment_ids(ws: Workspace) -> dict[str, str]:
    """`govcloud:attachmentIds` of Pulumi.network.yaml: links made outside the stacks."""
    from govcloud.stacks import planner

    raw = planner.read_stack_config(ws, "network").get("govcloud:attachmentIds", "{}")
    try:
        configured = json.loads(raw)
        if not isinstance(configured, dict):
            raise ValueError
    except ValueError:
        raise UsageError("Pulumi.network.yaml: govcloud:attachmentIds must map attachment names to ids") from None
    return configured


def offline_stack_outputs(stack: str) -> dict:
    """What a stack reference reads under the offline (mock) planner: the plan reader needs a
    tenant's attachment id as the network stack's offline plan saw it."""
    from govcloud.stacks.mocks import reference_outputs

    return reference_outputs(f"organization/govcloud/{stack}")


def fabrics_from_plan_documents(ws: Workspace, plans: dict[str, dict], inventory: dict[str, object]) -> list[Fabric]:
    """``plans``: stack name -> plan document (the network stack and every tenant stack are
    needed; others are ignored); ``inventory``: the compiled documents (who serves which
    municipality, site prefixes, declared flows, the inter-cloud link)."""
    proof_plans = {s: p for s, p in plans.items() if s == "network" or s.startswith("tenant-")}
    docs = documents_from_plans(proof_plans, inventory, configured_attachment_ids(ws),
                                stack_outputs=offline_stack_outputs)
    return fabrics_from_documents(docs, source_prefix="plans: ")

"""Stack names: the one place that knows how a stack name maps to what it builds.

``Pulumi.yaml`` has one program; the stack name picks the part of the platform to build
(DESIGN.md §3): ``foundation``, ``network``, or ``tenant-<tenant name>`` (one stack per tenant,
small blast radius and parallel deploys, as Pulumi recommends for fleets).
"""

from __future__ import annotations

FOUNDATION = "foundation"
NETWORK = "network"
TENANT_PREFIX = "tenant-"
EXPECTED = f"{FOUNDATION}, {NETWORK} or {TENANT_PREFIX}<tenant name>"


def tenant_stack(tenant: str) -> str:
    return f"{TENANT_PREFIX}{tenant}"


def tenant_of(stack: str) -> str | None:
    """The tenant a stack builds, or None for the platform stacks (and names that are not stacks)."""
    if stack.startswith(TENANT_PREFIX) and len(stack) > len(TENANT_PREFIX):
        return stack.removeprefix(TENANT_PREFIX)
    return None


def is_stack_name(stack: str) -> bool:
    return stack in (FOUNDATION, NETWORK) or tenant_of(stack) is not None

"""One Pulumi program for the whole project; the stack name says what to build:
``foundation``, ``network`` or ``tenant-<tenant name>``."""

from __future__ import annotations

from govcloud.diagnostics import UsageError
from govcloud.tenants.registry import Registry

TENANT_PREFIX = "tenant-"


def stack_names(reg: Registry) -> list[str]:
    return ["foundation", "network", *(f"{TENANT_PREFIX}{name}" for name in sorted(reg.tenants))]


def build(stack: str, reg: Registry) -> None:
    """Declare the resources of ``stack`` (call inside a Pulumi program or the offline engine)."""
    if stack == "foundation":
        from govcloud.stacks.foundation import foundation_program

        foundation_program()
    elif stack == "network":
        from govcloud.stacks.network import network_program

        network_program()
    elif stack.startswith(TENANT_PREFIX):
        from govcloud.stacks.tenant import tenant_program

        name = stack.removeprefix(TENANT_PREFIX)
        tenant = reg.tenants.get(name)
        if tenant is None:
            raise UsageError(f"stack {stack}: no tenant {name} in tenants/active/")
        tenant_program(tenant)
    else:
        raise UsageError(f"unknown stack {stack!r}: expected foundation, network or {TENANT_PREFIX}<tenant>")

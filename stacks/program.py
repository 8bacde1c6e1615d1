"""One Pulumi program for the whole project; the stack name says what to build:
``foundation``, ``network`` or ``tenant-<tenant name>``."""

from __future__ import annotations

from govcloud.diagnostics import UsageError
from govcloud.plans import EXPECTED_STACKS, FOUNDATION, NETWORK, tenant_of
from govcloud.tenants.registry import Registry


def network_inputs(ws, reg: Registry | None = None) -> dict:
    """What the network controller compiles for the stacks: the Cloud WAN policy for `network`
    and each tenant's security-group / NSG rules for `tenant-<name>`."""
    from govcloud.network.intent import site_name
    from govcloud.network.pipeline import compile_workspace
    from govcloud.tenants.registry import load_registry

    reg = reg or load_registry(ws)
    _, compiled = compile_workspace(ws, ("aws-cloudwan", "azure-vwan"), reg=reg)
    vwan = compiled.files["azure-vwan/virtual-wan.json"]
    tenants = {name: {**entry, "hubConnection": vwan["connections"].get(name)}
               for name, entry in compiled.files["tenants.json"].items()}
    sites = []
    for code, muni in sorted(reg.municipalities.items()):
        for site in muni.spec.sites:
            sites.append({"attachment": site_name(code, site.name), **site.model_dump(mode="json", by_alias=True,
                                                                                       exclude_none=True)})
    return {"policy": compiled.files["aws-cloudwan/core-network-policy.json"], "tenants": tenants,
            "firewall": compiled.files["firewall.json"], "vwan": vwan, "sites": sites}


def build(stack: str, reg: Registry, network: dict | None = None) -> None:
    """Declare the resources of ``stack`` (call inside a Pulumi program or the offline engine)."""
    network = network or {}
    if stack == FOUNDATION:
        from govcloud.stacks.foundation import foundation_program

        foundation_program()
    elif stack == NETWORK:
        from govcloud.stacks.network import network_program

        network_program(network or None)
    elif (name := tenant_of(stack)) is not None:
        from govcloud.stacks.tenant import tenant_program

        tenant = reg.tenants.get(name)
        if tenant is None:
            raise UsageError(f"stack {stack}: no tenant {name} in tenants/active/")
        tenant_program(tenant, network.get("tenants", {}).get(name))
    else:
        raise UsageError(f"unknown stack {stack!r}: expected {EXPECTED_STACKS}")

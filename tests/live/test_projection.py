"""Live commands know a tenant's account from the tenant itself (templates.base.aws_account), not by
re-parsing plan JSON. The oracle: what the stack actually declares in its plan."""

from __future__ import annotations

import pytest

from govcloud.live.plans import aws_tenants
from govcloud.plans import tenant_stack
from govcloud.diagnostics import UsageError
from govcloud.templates.base import settings_from_config
from govcloud.tenants.registry import load_registry
from tests.plans import WS, sample_plan


def test_the_projection_is_what_the_stack_declares() -> None:
    reg = load_registry(WS)
    names = sorted(n for n, t in reg.tenants.items() if t.spec.cloud == "aws")[:3]
    plans = {tenant_stack(n): sample_plan(tenant_stack(n)) for n in names}
    for tenant in aws_tenants(WS, reg, plans, names):
        (account,) = [r["inputs"] for r in plans[tenant_stack(tenant["name"])]["deployment"]["resources"]
                      if r["type"] == "aws:organizations/account:Account"]
        assert (tenant["email"], tenant["accountName"], tenant["role"]) == (account["email"], account["name"], account["roleName"])
        assert tenant["tags"] == account["tags"]


def test_a_tenant_without_a_plan_is_refused() -> None:
    reg = load_registry(WS)
    name = next(n for n, t in sorted(reg.tenants.items()) if t.spec.cloud == "aws")
    with pytest.raises(UsageError, match="no plan for tenant"):
        aws_tenants(WS, reg, {}, [name])


@pytest.mark.parametrize("values, message", [
    ({"logRetentionDays": "forever"}, "whole number"),
    ({"govcloud:azureVendorPrincipalIds": "[1]"}, "must be a map"),
])
def test_config_of_the_wrong_type_is_refused(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_config(values)

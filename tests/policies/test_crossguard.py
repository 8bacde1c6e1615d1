"""The CrossGuard adapter and `govcloud check` agree on the fixture corpus. The validations are
called directly: constructing a PolicyPack would start the policy server."""

import copy
from types import SimpleNamespace

import pytest

from govcloud.policies.crossguard import build_policies
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from tests.plans import sample_plan
from tests.policies.test_controls import CASES, failed


def crossguard_failures(plan) -> set[str]:
    violations: list[str] = []

    def report(message, urn=None):
        violations.append(message.split(":", 1)[0])

    resources = [r for r in plan["deployment"]["resources"] if r.get("custom") or r["type"].startswith("pulumi:providers:")]
    for policy in build_policies():
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = SimpleNamespace(resource_type=r["type"], props=r.get("inputs") or {}, urn=r["urn"])
                for validate in policy.validate if isinstance(policy.validate, list) else [policy.validate]:
                    validate(args, report)
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(SimpleNamespace(resources=[SimpleNamespace(resource_type=r["type"], props=r.get("inputs") or {},
                                                                       urn=r["urn"]) for r in resources]), report)
    return {v.upper() for v in violations}


def test_every_control_is_a_policy_with_its_enforcement_level():
    policies = {p.name: p for p in build_policies()}
    assert len(policies) == 57
    assert policies["gc-aws-ct-2"].enforcement_level.value == "mandatory"
    assert policies["gc-aws-iam-2"].enforcement_level.value == "advisory"


@pytest.mark.parametrize("stack", ["tenant-131016-juki-prod", "tenant-minato-data-kokuho-prod", "foundation",
                                   "tenant-271004-denshi-shinsei-prod"])
def test_compliant_plans_pass_crossguard(stack):
    assert crossguard_failures(sample_plan(stack)) == set()


@pytest.mark.parametrize("control", sorted(CASES))
def test_crossguard_agrees_with_govcloud_check(control):
    stack, mutate = CASES[control]
    plan = copy.deepcopy(sample_plan(stack))
    mutate(plan)
    assert crossguard_failures(plan) == failed(plan) == {control}


@pytest.mark.parametrize("stack", ["tenant-131016-juki-prod", "foundation", "network", "tenant-", "tenants"])
def test_the_pack_reads_stack_names_as_the_plan_contract_does(stack):
    """The pack restates govcloud.plans.tenant_of (it runs without govcloud): the two must agree."""
    from govcloud.plans import tenant_of
    from govcloud.policies.crossguard import _context

    assert _context("aws:s3/bucket:Bucket", {}, f"urn:pulumi:{stack}::govcloud::t::n")["tenant"] == tenant_of(stack)

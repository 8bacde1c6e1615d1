"""Pulumi CrossGuard adapter: every control of the catalogue as a policy of one policy pack.

`pulumi preview --policy-pack policies/` runs them for users with the Pulumi CLI. Pulumi runs a
pack in its own virtual environment (policies/requirements.txt), so this module needs only
pulumi-policy and PyYAML, and the control functions (standard library only).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

try:  # inside the govcloud package
    from .controls import CLOUD_PREFIXES, RESOURCE, STACK, applies, load_all
except ImportError:  # as the policy pack's own top-level module
    from controls import CLOUD_PREFIXES, RESOURCE, STACK, applies, load_all  # type: ignore[no-redef]

CATALOGUE = Path(__file__).with_name("catalogue.yaml")


def catalogue() -> list[dict]:
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["controls"]


def _stack_of(urn: str) -> str:
    return urn.split("::")[0].removeprefix("urn:pulumi:") if urn.startswith("urn:pulumi:") else ""


def _context(resource_type: str, props, urn: str) -> dict:
    tags = props.get("tags") if isinstance(props, dict) else None
    stack = _stack_of(urn)
    # The stack-name rule of govcloud/plans.py (tenant_of), restated: the policy pack runs in
    # Pulumi's own environment without govcloud or pydantic (tests/policies/test_crossguard.py).
    return {"type": resource_type, "zone": (tags or {}).get("zone") if isinstance(tags, dict) else None,
            "tenant": stack.removeprefix("tenant-") or None if stack.startswith("tenant-") else None, "stack": stack}


def _applies(control: dict, resource_type: str, zone) -> bool:
    return applies(control["cloud"], control["types"], control.get("zones"), resource_type, zone)


def resource_validator(control: dict):
    fn = RESOURCE[control["id"]]

    def validate(args, report_violation) -> None:
        ctx = _context(args.resource_type, dict(args.props), args.urn)
        if _applies(control, args.resource_type, ctx["zone"]):
            message = fn(dict(args.props), ctx)
            if message:
                report_violation(f"{control['id']}: {message} — {control['remediation']['en']}", args.urn)
    return validate


def stack_validator(control: dict):
    fn = STACK[control["id"]]

    def validate(args, report_violation) -> None:
        resources = [{"type": r.resource_type, "inputs": dict(r.props), "urn": r.urn} for r in args.resources]
        urn = next((r["urn"] for r in resources), "")
        zone = next((r["inputs"]["tags"].get("zone") for r in resources
                     if isinstance(r["inputs"].get("tags"), dict) and r["inputs"]["tags"].get("zone")), None)
        ctx = _context("pulumi:pulumi:Stack", {}, urn)
        ctx["zone"] = zone
        if control.get("zones") is not None and zone not in control["zones"]:
            return
        clouds = {c for c, prefix in CLOUD_PREFIXES.items() if any(r["type"].startswith(prefix[0]) for r in resources)}
        if control["cloud"] != "any" and control["cloud"] not in clouds:
            return
        tenantless = {"GC-AWS-ORG-1", "GC-AZ-POL-1"}
        if ctx["tenant"] is None and control["id"] not in tenantless:
            return
        for message in fn(resources, ctx):
            report_violation(f"{control['id']}: {message} — {control['remediation']['en']}", None)
    return validate


def build_policies() -> list:
    load_all()
    policies = []
    for control in catalogue():
        level = EnforcementLevel.MANDATORY if control["mode"] == "mandatory" else EnforcementLevel.ADVISORY
        name = control["id"].lower()
        description = f"{control['en']} / {control['ja']}"
        if control["scope"] == "resource":
            policies.append(ResourceValidationPolicy(name=name, description=description,
                                                     validate=resource_validator(control), enforcement_level=level))
        else:
            policies.append(StackValidationPolicy(name=name, description=description,
                                                  validate=stack_validator(control), enforcement_level=level))
    return policies

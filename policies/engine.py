"""Run the control catalogue over plan documents (offline plans or an exported real stack)."""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

from pydantic import Field

from govcloud.diagnostics import Collector, DiagnosticError
from govcloud.plans import STACK_TYPE, is_component
from govcloud.policies.catalogue import Control, load_controls
from govcloud.policies.controls import RESOURCE, STACK, applies
from govcloud.tenants import documents
from govcloud.tenants.models import Model, TimeLimitedApproval


@dataclass(frozen=True)
class Finding:
    control: str
    stack: str
    tenant: str | None
    resource: str            # URN, or the stack's URN for stack controls
    resource_type: str
    status: Literal["failed", "waived"]
    message: str
    waiver: str | None = None


@dataclass
class CheckRun:
    findings: list[Finding] = field(default_factory=list)
    evaluated: int = 0                    # (control, resource) pairs evaluated
    stacks: list[str] = field(default_factory=list)
    waiver_notes: list[str] = field(default_factory=list)
    checked: dict[str, set[str]] = field(default_factory=dict)   # stack -> controls evaluated on it

    def failures(self, controls: dict[str, Control], mandatory_only: bool = True) -> list[Finding]:
        return [f for f in self.findings if f.status == "failed"
                and (not mandatory_only or controls[f.control].mode == "mandatory")]


# --- waivers (policies/waivers.yaml) -----------------------------------------------------------------


class Waiver(TimeLimitedApproval):
    control: str
    tenant: str = Field(default="*", description="tenant name or glob")
    resource: str = Field(default="*", description="URN glob")
    reason: str = Field(min_length=10)


class WaiverSpec(Model):
    waivers: list[Waiver] = Field(default_factory=list)


class Waivers(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["Waivers"]
    metadata: dict
    spec: WaiverSpec


def load_waivers(path: Path, controls: dict[str, Control], today: dt.date) -> tuple[list[Waiver], list[str]]:
    """Active waivers, and notes on the ones that do not apply (expired, not waivable)."""
    if not path.exists():
        return [], []
    doc, src = documents.parse(path, Waivers)
    src.raise_if_errors()
    waiver_problems(doc, src, controls, today)
    src.raise_if_errors()
    active, notes = [], []
    for w in doc.spec.waivers:
        if w.expired(today):
            notes.append(f"waiver for {w.control} on {w.tenant} expired on {w.expires} and no longer applies")
        elif not controls[w.control].waivable:
            notes.append(f"waiver for {w.control} on {w.tenant} is ignored: {w.control} may not be waived")
        else:
            active.append(w)
    return active, notes


def waiver_problems(doc: Waivers, src: Collector, controls: dict[str, Control], today: dt.date, *,
                    strict: bool = False) -> None:
    """Rules of the waivers document. ``strict`` (govcloud validate) also refuses a waiver of a
    control that may not be waived and warns about expired ones; a check run notes them instead
    and ignores those waivers."""
    for i, w in enumerate(doc.spec.waivers or []):
        loc = ("spec", "waivers", i)
        if w.control not in controls:
            src.add("GC801", f"unknown control {w.control!r}", loc + ("control",))
        elif strict and not controls[w.control].waivable:
            src.add("GC802", f"{w.control} is a control that may not be waived", loc + ("control",))
        if strict and w.expires is not None and w.expired(today):
            src.add("GC802", f"waiver for {w.control} on {w.tenant} expired on {w.expires} and no longer applies",
                    loc + ("expires",), severity="warning")


def _waiver_for(waivers: list[Waiver], control: str, tenant: str | None, urn: str) -> Waiver | None:
    for w in waivers:
        if w.control == control and fnmatch.fnmatchcase(tenant or "", w.tenant) and fnmatch.fnmatchcase(urn, w.resource):
            return w
    return None


# --- running ---------------------------------------------------------------------------------------------


def _applies(control: Control, resource_type: str, zone: str | None) -> bool:
    return applies(control.cloud, control.types, control.zones, resource_type, zone)


def _stack_cloud(resources: list[dict]) -> set[str]:
    clouds = set()
    for r in resources:
        if r["type"].startswith("aws:"):
            clouds.add("aws")
        elif r["type"].startswith("azure-native:"):
            clouds.add("azure")
    return clouds


def check_plan(plan: dict, controls: dict[str, Control], waivers: list[Waiver], run: CheckRun) -> None:
    meta = plan["govcloud"]  # govcloud.plans.read_plan_folder refuses a plan without it
    stack = meta.get("stack", "?")
    tenant, zone = meta.get("tenant"), meta.get("zone")
    resources = plan["deployment"]["resources"]
    stack_urn = next((r["urn"] for r in resources if r["type"] == STACK_TYPE), stack)
    run.stacks.append(stack)

    def record(control: Control, urn: str, rtype: str, message: str) -> None:
        waiver = _waiver_for(waivers, control.id, tenant, urn)
        run.findings.append(Finding(control.id, stack, tenant, urn, rtype, "waived" if waiver else "failed", message,
                                    f"{waiver.approver}: {waiver.reason} (until {waiver.expires})" if waiver else None))

    resource_controls = [c for c in controls.values() if c.scope == "resource"]
    for r in resources:
        # The stack and govcloud's components carry nothing to judge; every other resource is judged
        # whatever its `custom` says (the plan reader refuses a provider's resource marked non-custom).
        if is_component(r["type"]):
            continue
        ctx = {"type": r["type"], "zone": zone, "tenant": tenant, "stack": stack}
        for control in resource_controls:
            if not _applies(control, r["type"], zone):
                continue
            run.evaluated += 1
            run.checked.setdefault(stack, set()).add(control.id)
            message = _evaluate(control, r["urn"], lambda: RESOURCE[control.id](r["inputs"], ctx))
            if message:
                record(control, r["urn"], r["type"], message)
    clouds = _stack_cloud(resources)
    is_tenant = tenant is not None
    for control in (c for c in controls.values() if c.scope == "stack"):
        if control.cloud != "any" and control.cloud not in clouds:
            continue
        if control.zones is not None and zone not in control.zones:
            continue
        if not is_tenant and control.id not in TENANTLESS_STACK_CONTROLS:
            continue  # account-baseline controls are about tenant accounts
        run.evaluated += 1
        run.checked.setdefault(stack, set()).add(control.id)
        messages = _evaluate(control, stack_urn, lambda: STACK[control.id](resources, {"zone": zone, "tenant": tenant, "stack": stack}))
        for message in ([messages] if isinstance(messages, str) else messages or []):
            record(control, stack_urn, STACK_TYPE, message)


def _evaluate(control: Control, urn: str, call):
    """A control that trips over what it reads (a property missing or of the wrong shape, a
    policy that is not JSON) fails the resource: it could not show the resource is compliant."""
    try:
        return call()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"cannot evaluate {control.id} on {urn}: the plan lacks or malforms what it reads ({type(exc).__name__}: {exc})"


# Stack controls that also judge the foundation and network stacks.
TENANTLESS_STACK_CONTROLS = {"GC-AWS-ORG-1", "GC-AZ-POL-1"}


def run_checks(plans: Iterable[dict], waivers_file: Path | None = None, today: dt.date | None = None) -> CheckRun:
    controls = load_controls()
    today = today or dt.date.today()
    waivers, notes = load_waivers(waivers_file, controls, today) if waivers_file else ([], [])
    run = CheckRun(waiver_notes=notes)
    for plan in plans:
        check_plan(plan, controls, waivers, run)
    run.findings.sort(key=lambda f: (f.stack, f.control, f.resource, f.message))
    return run


__all__ = ["CheckRun", "Finding", "run_checks", "DiagnosticError"]

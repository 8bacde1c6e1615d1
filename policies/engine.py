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
from govcloud import yamlio
from govcloud.tenants import documents, governed, ledger
from govcloud.tenants.models import Model, TimeLimitedApproval
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace


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


MY_NUMBER_ZONE = "mynumber"
GLOB = set("*?[")


def waiver_requirement(w: Waiver, controls: dict[str, Control], reg: Registry) -> governed.Requirement:
    """Who signs a waiver (docs/trust.md): the platform and the approver of every municipality the
    waived tenant serves, plus the security team for a mandatory control of a My Number tenant.
    A pattern (``*``, ``131016-*``) or a name no tenant has yet covers tenants nobody can name
    today — whichever municipality they will serve, in whichever zone — so it is fleet-wide: two
    distinct platform principals and the security team, who stand in for the municipalities."""
    mandatory = w.control not in controls or controls[w.control].mode == "mandatory"
    if GLOB & set(w.tenant):
        return governed.Requirement(2, frozenset(), True, (f"tenant {w.tenant!r} is a pattern: a fleet-wide waiver",))
    tenant = reg.tenants.get(w.tenant)
    if tenant is None:
        return governed.Requirement(2, frozenset(), True, (f"no tenant is named {w.tenant!r} yet: it would cover "
                                                           "whichever tenant gets the name",))
    security = mandatory and tenant.spec.zone == MY_NUMBER_ZONE
    why = [f"tenant {w.tenant} serves {', '.join(tenant.spec.municipalities)}"]
    if security:
        why.append(f"{w.control} is mandatory and {w.tenant} is in the My Number zone")
    return governed.Requirement(1, frozenset(tenant.spec.municipalities), security, tuple(why))


def signer_problems(doc: Waivers, text: str, src: Collector, versions: list[governed.RecordedVersion],
                    controls: dict[str, Control], reg: Registry) -> None:
    """GC609 for every waiver whose recorded version lacks a signer it needs."""
    raw = governed.items_of(governed.body_of(yamlio.load_text(text, src.path)[0]))
    items = [(raw[i], waiver_requirement(w, controls, reg), ("spec", "waivers", i), f"waiver of {w.control} on {w.tenant}")
             for i, w in enumerate(doc.spec.waivers) if i < len(raw)]
    for loc, message in governed.item_problems(versions, items):
        src.add("GC609", message, loc)


def read_recorded_waivers(path: Path, controls: dict[str, Control], today: dt.date, *,
                          reg: Registry | None = None, strict: bool = False) -> tuple[Waivers, Collector] | None:
    """The waivers document when it is exactly the version the history recorded, signed by the
    people each waiver needs; None when there is none. Refuses (GC608, GC609) otherwise: an
    edit that was not recorded waives nothing, and a file nobody recorded is not read at all.
    The history is the workspace's (``policies/waivers.yaml`` → ``tenants/history.jsonl``)."""
    ws = Workspace(path.parent.parent)
    if not path.exists():
        ledger.decisions(ws, "Waivers")               # refuses a recorded document deleted by hand
        return None
    text = yamlio.read_text(path)
    doc, src = documents.parse(path, Waivers, text=text)
    src.raise_if_errors()
    waiver_problems(doc, src, controls, today, strict=strict)
    src.raise_if_errors()
    versions = ledger.decisions(Workspace(path.parent.parent), "Waivers", text)
    signer_problems(doc, text, src, versions, controls, reg or load_registry(ws))
    src.raise_if_errors()
    return doc, src


def load_waivers(path: Path, controls: dict[str, Control], today: dt.date,
                 reg: Registry | None = None) -> tuple[list[Waiver], list[str]]:
    """Active waivers, and notes on the ones that do not apply (expired, not waivable). Only the
    recorded, signed version is read (:func:`read_recorded_waivers`)."""
    read = read_recorded_waivers(path, controls, today, reg=reg)
    if read is None:
        return [], []
    doc, _ = read
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

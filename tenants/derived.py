"""Tenant documents are derived, never trusted (DESIGN.md §4, issue 19 part 2).

An applied tenant (``tenants/active/<name>.yaml``) is exactly what three recorded things produce:

- the **applied request**: the record ``tenants/requests/applied/<request>.yaml``, bound to the
  history by the request digest its ``request.applied`` entry carries (the ledger checks the record
  against that digest, GC603, so the record *is* the applied content);
- its **allocation**: the ``tenants`` map of that entry (tenant name → CIDR);
- the **recorded events** since: the entry itself (its hash and time become ``status``) and the
  last ``tenant.account-recorded`` for the tenant (``status.accountId``).

:func:`build_tenant` is the one derivation: ``request apply`` writes what it returns, and the
ledger re-derives every live tenant with it and compares field by field (:func:`differences`), so
a municipality code added to ``spec.municipalities`` or a published port changed by hand is a
diagnostic naming the file, the line and the field instead of network intent.

The zone of a request that names none is the system's default zone from the product's catalogue;
``request.applied`` entries record each tenant's zone (``zones``) since tenants are re-derived, so a
later catalogue cannot change an applied tenant. Entries written before (the sample history's) have
no ``zones``: their tenants are derived with the catalogue of the installed govcloud.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterator

from govcloud.tenants import rules
from govcloud.tenants.catalogue import load_catalogue
from govcloud.tenants.models import Tenant, TenantNetwork, TenantRequest, TenantSpec, TenantStatus


def build_tenant(req: TenantRequest, digest: str, planned: rules.PlannedTenant, entry: str, time: str,
                 account_id: str | None = None, zone: str | None = None) -> Tenant:
    """The tenant document; ``zone`` as recorded at apply time (else the catalogue's)."""
    spec = req.spec
    zone = zone if zone is not None else effective_zone(req)
    return Tenant(
        api_version="govcloud/v1",
        kind="Tenant",
        metadata={"name": planned.name, "labels": {
            "vendor": spec.vendor, "system": spec.system, "zone": zone or "", "environment": planned.environment,
            "cloud": spec.cloud, "usage": spec.usage,
        }},
        spec=TenantSpec(
            request=req.metadata.name, vendor=spec.vendor, system=spec.system, usage=spec.usage,
            municipalities=list(spec.municipalities), cloud=spec.cloud, region=spec.region,
            environment=planned.environment, zone=zone or "", network=TenantNetwork(cidr=planned.cidr),
            apis=spec.apis,
        ),
        status=TenantStatus(request_digest=digest, applied_at=time, history_entry=entry, account_id=account_id),
    )


def effective_zone(req: TenantRequest) -> str:
    return rules.effective_zone(req, load_catalogue()) or ""


def environment_of(req: TenantRequest, name: str) -> str | None:
    """The environment of ``req`` whose tenant is called ``name`` (None: the request makes no such tenant)."""
    return next((env for env in req.spec.environments if rules.tenant_name(req, env) == name), None)


def derive(req: TenantRequest, entry: dict, name: str, account_id: str | None) -> Tenant | None:
    """Tenant ``name`` as the ``request.applied`` ``entry`` of ``req`` (and the account recorded
    since) produce it; None when the request does not make that tenant."""
    env = environment_of(req, name)
    cidr = entry["data"]["tenants"].get(name)
    if env is None or cidr is None:
        return None
    zones = entry["data"].get("zones") or {}
    return build_tenant(req, entry["data"]["digest"], rules.PlannedTenant(name, env, cidr), entry["hash"],
                        entry["time"], account_id, zones.get(name))


def as_data(tenant: Tenant) -> dict:
    """The document as the file holds it (aliases, no empty optionals): what is compared."""
    return tenant.model_dump(mode="json", by_alias=True, exclude_none=True)


_MISSING = object()


def differences(have: Any, want: Any, loc: tuple = ()) -> Iterator[tuple[tuple, Any, Any]]:
    """Every place where ``have`` (the document) and ``want`` (the derivation) differ, as
    ``(location, have, want)``; a missing value is ``differences.MISSING``. Mappings are compared
    key by key, lists item by item (an item added or removed is reported at its index)."""
    if isinstance(have, dict) and isinstance(want, dict):
        for key in list(want) + [k for k in have if k not in want]:
            yield from differences(have.get(key, _MISSING), want.get(key, _MISSING), loc + (key,))
    elif isinstance(have, list) and isinstance(want, list):
        if len(have) == len(want):
            for i, (h, w) in enumerate(zip(have, want)):
                yield from differences(h, w, loc + (i,))
            return
        # An item added or removed is one difference at its index, not a shift of every later one.
        matcher = difflib.SequenceMatcher(a=[json.dumps(h, sort_keys=True) for h in have],
                                          b=[json.dumps(w, sort_keys=True) for w in want], autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            for k in range(max(i2 - i1, j2 - j1)):
                h = have[i1 + k] if i1 + k < i2 else _MISSING
                w = want[j1 + k] if j1 + k < j2 else _MISSING
                yield from differences(h, w, loc + (i1 + k,))
    elif type(have) is not type(want) or have != want:
        yield loc, have, want


differences.MISSING = _MISSING  # type: ignore[attr-defined]


def shown(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    return repr(value)

"""The IP address plan: pools per cloud, region and zone; deterministic, non-overlapping allocation.

All functions here are pure: they take the plan and return a new one (or, for
``render_plan``, the new file text). Reading and writing ``tenants/ipam.yaml`` under the workspace
lock is the workflow's job.
"""

from __future__ import annotations

import bisect
import io
import ipaddress
import re
from dataclasses import dataclass
from ipaddress import IPv4Network

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from govcloud.tenants.models import AddressPlan, AddressPlanStatus, Allocation, Pool, Tenant


class AddressPlanError(ValueError):
    """A request the plan cannot satisfy; ``code`` is the diagnostic code."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def parse_cidr(text: str) -> IPv4Network:
    """Strict: host bits must be zero, so ``10.0.0.1/24`` is refused instead of silently widened."""
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise AddressPlanError("GC101", f"{text!r} is not an IPv4 network in CIDR notation: {exc}") from None


def first_free_block(pool: IPv4Network, taken: list[IPv4Network], prefix_length: int) -> IPv4Network | None:
    """Lowest block of ``prefix_length`` inside ``pool`` overlapping nothing in ``taken``.

    Deterministic (lowest address first) so the same requests in the same order always get the
    same ranges. Linear in the allocations of the pool.
    """
    if prefix_length < pool.prefixlen:
        return None
    size = 1 << (32 - prefix_length)
    start, end = int(pool.network_address), int(pool.broadcast_address)
    candidate = start
    for block in sorted((b for b in taken if b.overlaps(pool)), key=lambda b: int(b.network_address)):
        b_start, b_end = int(block.network_address), int(block.broadcast_address)
        if candidate + size - 1 < b_start:
            break
        if b_end >= candidate:
            candidate = _align_up(b_end + 1, size)
    if candidate + size - 1 > end:
        return None
    return IPv4Network((candidate, prefix_length))


def _align_up(value: int, size: int) -> int:
    return (value + size - 1) // size * size


@dataclass(frozen=True)
class PlanIndex:
    """Allocated networks sorted by address, for overlap queries in O(log n)."""

    starts: list[int]
    entries: list[tuple[IPv4Network, str]]

    @classmethod
    def build(cls, plan: AddressPlan) -> "PlanIndex":
        entries = sorted(((parse_cidr(a.cidr), a.tenant) for a in plan.status.allocations),
                         key=lambda e: int(e[0].network_address))
        return cls([int(n.network_address) for n, _ in entries], entries)

    def overlapping(self, net: IPv4Network) -> list[str]:
        hits = []
        # Allocations never overlap each other, so only neighbours of the insertion point can.
        i = bisect.bisect_right(self.starts, int(net.broadcast_address))
        while i > 0:
            i -= 1
            other, tenant = self.entries[i]
            if int(other.broadcast_address) < int(net.network_address):
                break
            if other.overlaps(net):
                hits.append(tenant)
        return sorted(hits)


def find_pool(plan: AddressPlan, cloud: str, region: str, zone: str) -> Pool:
    for pool in plan.spec.pools:
        if (pool.cloud, pool.region, pool.zone) == (cloud, region, zone):
            return pool
    raise AddressPlanError("GC304", f"the address plan has no pool for cloud {cloud}, region {region}, zone {zone}")


def allocate(plan: AddressPlan, tenant: str, pool: Pool, *, prefix_length: int | None = None,
             cidr: str | None = None) -> tuple[AddressPlan, IPv4Network]:
    """Allocate a network for ``tenant`` from ``pool``: the explicit ``cidr`` after checking it,
    or the first free block of ``prefix_length`` (the pool's default when None)."""
    if any(a.tenant == tenant for a in plan.status.allocations):
        raise AddressPlanError("GC211", f"tenant {tenant} already has an allocation")
    pool_net = parse_cidr(pool.cidr)
    if cidr is not None:
        net = parse_cidr(cidr)
        if not net.subnet_of(pool_net):
            raise AddressPlanError("GC303", f"{net} lies outside pool {pool.name} ({pool_net})")
        _check_prefix(pool, net.prefixlen)
        clash = PlanIndex.build(plan).overlapping(net)
        if clash:
            raise AddressPlanError("GC302", f"{net} overlaps the allocation of {', '.join(clash)}")
    else:
        length = prefix_length if prefix_length is not None else pool.prefix_length.default
        _check_prefix(pool, length)
        taken = [parse_cidr(a.cidr) for a in plan.status.allocations if a.pool == pool.name]
        found = first_free_block(pool_net, taken, length)
        if found is None:
            used = sum(n.num_addresses for n in taken)
            raise AddressPlanError(
                "GC305",
                f"pool {pool.name} ({pool_net}) has no free /{length}: {len(taken)} allocations use "
                f"{used} of {pool_net.num_addresses} addresses; add a pool or ask for a smaller prefix",
            )
        net = found
    allocations = [*plan.status.allocations, Allocation(tenant=tenant, pool=pool.name, cidr=str(net))]
    return _with_allocations(plan, allocations), net


def _check_prefix(pool: Pool, length: int) -> None:
    rng = pool.prefix_length
    if not rng.min <= length <= rng.max:
        raise AddressPlanError(
            "GC301", f"prefix length /{length} is outside pool {pool.name}'s allowed range /{rng.min}–/{rng.max}"
        )


def release(plan: AddressPlan, tenant: str) -> AddressPlan:
    return _with_allocations(plan, [a for a in plan.status.allocations if a.tenant != tenant])


def _with_allocations(plan: AddressPlan, allocations: list[Allocation]) -> AddressPlan:
    ordered = sorted(allocations, key=lambda a: (a.pool, int(parse_cidr(a.cidr).network_address)))
    status = AddressPlanStatus(allocations=ordered, history_head=plan.status.history_head)
    return plan.model_copy(update={"status": status})


def with_history_head(plan: AddressPlan, head: str) -> AddressPlan:
    status = plan.status.model_copy(update={"history_head": head})
    return plan.model_copy(update={"status": status})


def plan_problems(plan: AddressPlan) -> list[tuple[tuple, str, str]]:
    """Inconsistencies inside the plan itself: (field path, code, message)."""
    problems: list[tuple[tuple, str, str]] = []
    nets: list[tuple[IPv4Network, int]] = []
    names: set[str] = set()
    for i, pool in enumerate(plan.spec.pools):
        loc = ("spec", "pools", i)
        if pool.name in names:
            problems.append((loc + ("name",), "GC101", f"duplicate pool name {pool.name!r}"))
        names.add(pool.name)
        try:
            net = parse_cidr(pool.cidr)
        except AddressPlanError as exc:
            problems.append((loc + ("cidr",), exc.code, str(exc)))
            continue
        if pool.prefix_length.min < net.prefixlen:
            problems.append((loc + ("prefixLength", "min"), "GC301",
                             f"minimum prefix /{pool.prefix_length.min} is larger than the pool itself ({net})"))
        for other, j in nets:
            if other.overlaps(net):
                problems.append((loc + ("cidr",), "GC302",
                                 f"pool {pool.name} ({net}) overlaps pool {plan.spec.pools[j].name} ({other})"))
        nets.append((net, i))
    pools = {p.name: p for p in plan.spec.pools}
    seen: dict[str, int] = {}
    allocated: list[tuple[IPv4Network, str]] = []
    for i, alloc in enumerate(plan.status.allocations):
        loc = ("status", "allocations", i)
        if alloc.tenant in seen:
            problems.append((loc + ("tenant",), "GC211", f"tenant {alloc.tenant} is allocated twice"))
        seen[alloc.tenant] = i
        pool = pools.get(alloc.pool)
        if pool is None:
            problems.append((loc + ("pool",), "GC304", f"unknown pool {alloc.pool!r}"))
            continue
        try:
            net = parse_cidr(alloc.cidr)
        except AddressPlanError as exc:
            problems.append((loc + ("cidr",), exc.code, str(exc)))
            continue
        if not net.subnet_of(parse_cidr(pool.cidr)):
            problems.append((loc + ("cidr",), "GC303", f"{net} lies outside pool {pool.name} ({pool.cidr})"))
        allocated.append((net, alloc.tenant))
    allocated.sort(key=lambda e: int(e[0].network_address))
    for (a, ta), (b, tb) in zip(allocated, allocated[1:]):
        if a.overlaps(b):
            i = seen[tb]
            problems.append((("status", "allocations", i, "cidr"), "GC302", f"{b} ({tb}) overlaps {a} ({ta})"))
    return problems


def document_problems(plan: AddressPlan, tenants: dict[str, Tenant]) -> list[tuple[str, tuple, str, str]]:
    """Allocations and tenant documents agree exactly and no two tenants' networks overlap.

    Each problem is (where, field path, code, message) with ``where`` either ``"plan"`` or a tenant
    name. The allocator only sees the plan, so this is what guarantees that it never hands out a
    range a tenant document holds: every write refuses unless this list is empty.
    """
    problems: list[tuple[str, tuple, str, str]] = []
    by_tenant = {a.tenant: (i, a) for i, a in enumerate(plan.status.allocations)}
    held: list[tuple[IPv4Network, str]] = []
    cidr_loc = ("spec", "network", "cidr")
    for name in sorted(tenants):
        tenant = tenants[name]
        try:
            net = parse_cidr(tenant.spec.network.cidr)
        except AddressPlanError as exc:
            problems.append((name, cidr_loc, exc.code, str(exc)))
            continue
        held.append((net, name))
        found = by_tenant.get(name)
        if found is None:
            problems.append((name, cidr_loc, "GC307", f"tenant {name} holds {net}, but the address plan has no "
                                                      "allocation for it (tenants/ipam.yaml was edited by hand?)"))
            problems.append(("plan", ("status", "allocations"), "GC307",
                             f"no allocation for tenant {name}, whose document holds {net}"))
            continue
        i, alloc = found
        if alloc.cidr != str(net):
            problems.append((name, cidr_loc, "GC307", f"tenant {name} holds {net}, but its allocation in the "
                                                      f"address plan is {alloc.cidr}"))
            problems.append(("plan", ("status", "allocations", i, "cidr"), "GC307",
                             f"allocation {alloc.cidr} of {name} differs from its tenant document ({net})"))
        try:
            pool = find_pool(plan, tenant.spec.cloud, tenant.spec.region, tenant.spec.zone)
        except AddressPlanError as exc:
            problems.append((name, ("spec", "zone"), exc.code, str(exc)))
            continue
        if alloc.pool != pool.name:
            problems.append(("plan", ("status", "allocations", i, "pool"), "GC307",
                             f"allocation of {name} is in pool {alloc.pool}, but the tenant is "
                             f"{tenant.spec.cloud}/{tenant.spec.region}/{tenant.spec.zone} (pool {pool.name})"))
        if not net.subnet_of(parse_cidr(pool.cidr)):
            problems.append((name, cidr_loc, "GC303", f"{net} lies outside pool {pool.name} ({pool.cidr})"))
    for i, alloc in enumerate(plan.status.allocations):
        if alloc.tenant not in tenants:
            problems.append(("plan", ("status", "allocations", i, "tenant"), "GC307",
                             f"allocation {alloc.cidr} for {alloc.tenant}, which is not a tenant "
                             f"(tenants/active/{alloc.tenant}.yaml is missing)"))
    # Overlaps between tenant documents, in one sweep over the networks sorted by address.
    held.sort(key=lambda e: (int(e[0].network_address), e[0].prefixlen))      # wider first
    widest: tuple[IPv4Network, str] | None = None
    for net, name in held:
        if widest is not None and int(net.network_address) <= int(widest[0].broadcast_address):
            problems.append((name, cidr_loc, "GC302", f"tenant {name}'s network {net} overlaps tenant "
                                                      f"{widest[1]}'s {widest[0]}"))
        if widest is None or int(net.broadcast_address) > int(widest[0].broadcast_address):
            widest = (net, name)
    return problems


# --- tenants/ipam.yaml on disk: comments kept -------------------------------------------------------

_NUMBER_LIKE = re.compile(r"[-+]?(0[xob])?[0-9][0-9_.:eE+-]*")


def _scalar(value: str):
    """Quote strings a YAML reader could take for a number (as govcloud.yamlio's dumper does)."""
    return SingleQuotedScalarString(value) if _NUMBER_LIKE.fullmatch(value) else value


def render_plan(plan: AddressPlan, original: str | None, header: str) -> str:
    """``tenants/ipam.yaml`` with the plan's ``status`` written into ``original`` (the current file)
    by a round-trip YAML editor, so comments and layout of ``spec`` survive every write. Without an
    original (or one that is not a mapping) the whole document is written fresh under ``header``."""
    status = plan.model_dump(mode="json", by_alias=True, exclude_none=True)["status"]
    rt = YAML(typ="rt")
    rt.width = 100
    rt.indent(mapping=2, sequence=2, offset=0)
    rt.preserve_quotes = True
    doc = None
    if original is not None:
        try:
            doc = rt.load(original)
        except Exception:  # noqa: BLE001 - the workflow validated the file already; start fresh
            doc = None
    if not isinstance(doc, CommentedMap):
        doc = CommentedMap(plan.model_dump(mode="json", by_alias=True, exclude_none=True))
        out = io.StringIO()
        rt.dump(doc, out)
        return header + out.getvalue()
    allocations = CommentedSeq()
    for alloc in status.get("allocations", []):
        allocations.append(CommentedMap((k, _scalar(v)) for k, v in alloc.items()))
    new_status = doc.get("status")
    if not isinstance(new_status, CommentedMap):
        new_status = CommentedMap()
        doc["status"] = new_status
    new_status["allocations"] = allocations
    if "historyHead" in status:
        new_status["historyHead"] = status["historyHead"]
    else:
        new_status.pop("historyHead", None)
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()

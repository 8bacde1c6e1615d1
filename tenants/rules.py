"""Semantic rules over documents, given the catalogues and the workspace registry.

Each rule reports through the document's Collector so the error names the file, line and field.
Codes: GC1xx format, GC2xx references and authorisation, GC3xx addressing, GC4xx APIs and names,
GC5xx security. docs/error-codes.md lists them all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from govcloud.diagnostics import Collector
from govcloud.tenants import ipam
from govcloud.tenants.catalogue import Catalogue
from govcloud.tenants.codes import is_valid_corporate_number, is_valid_municipality_code, municipality_check_digit
from govcloud.tenants.models import AddressPlan, Municipality, Tenant, TenantRequest, Vendor
from govcloud.tenants.registry import Registry

VENDOR_ID_MAX = 20


def _suggest(value: str, choices) -> str:
    if not isinstance(value, str):
        return ""  # an empty placeholder for a field already reported as malformed
    choices = sorted(choices)
    close = difflib.get_close_matches(value, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(choices)}"


def check_municipality_code(out: Collector, code: str, loc: tuple) -> bool:
    if not (len(code) == 6 and code.isdigit()):
        out.add("GC201", f"municipality code {code!r} must be 6 digits (5 digits plus a check digit)", loc)
        return False
    if not is_valid_municipality_code(code):
        out.add("GC201", f"municipality code {code} has a wrong check digit: expected {code[:5]}{municipality_check_digit(code[:5])}", loc)
        return False
    return True


# --- Municipality, Vendor, AddressPlan --------------------------------------------------------------


def check_municipality(doc: Municipality, out: Collector, cat: Catalogue, vendors: dict[str, Vendor]) -> None:
    spec = doc.spec
    if spec.code is not None and check_municipality_code(out, spec.code, ("spec", "code")):
        national = cat.national_codes.get(spec.code)
        if national is None:
            out.add("GC202", f"{spec.code} is not a local government code in JIS X 0402 (令和6年1月1日現在)", ("spec", "code"))
        else:
            if spec.name is not None and national.name != spec.name:
                out.add("GC202", f"code {spec.code} is {national.name}, not {spec.name}", ("spec", "name"))
            if spec.prefecture is not None and national.prefecture != spec.prefecture:
                out.add("GC202", f"code {spec.code} is in {national.prefecture}, not {spec.prefecture}", ("spec", "prefecture"))
    if spec.code is not None and Path(str(out.path)).stem != spec.code:
        out.add("GC105", f"file name must be the municipality code: {spec.code}.yaml", ("spec", "code"))
    if spec.code is not None and doc.metadata.name is not None and doc.metadata.name != spec.code:
        out.add("GC105", f"metadata.name must be the municipality code {spec.code}, not {doc.metadata.name!r}",
                ("metadata", "name"))
    names: set[str] = set()
    for i, site in enumerate(spec.sites):
        loc = ("spec", "sites", i)
        if site.name in names:
            out.add("GC101", f"duplicate site name {site.name!r}", loc + ("name",))
        names.add(site.name)
        if site.zone not in cat.zones:
            out.add("GC207", f"unknown zone {site.zone!r}{_suggest(site.zone, cat.zones)}", loc + ("zone",))
        for j, cidr in enumerate(site.cidrs):
            try:
                ipam.parse_cidr(cidr)
            except ipam.AddressPlanError as exc:
                out.add("GC101", str(exc), loc + ("cidrs", j))
    for i, contract in enumerate(spec.contracts):
        loc = ("spec", "contracts", i)
        if contract.vendor not in vendors:
            out.add("GC204", f"unknown vendor {contract.vendor!r}{_suggest(contract.vendor, vendors)}", loc + ("vendor",))
        for j, system in enumerate(contract.systems):
            if system not in cat.systems:
                out.add("GC203", f"unknown system {system!r}{_suggest(system, cat.systems)}", loc + ("systems", j))


def site_networks(muni: Municipality) -> list[tuple[ipaddress.IPv4Network, tuple, str]]:
    """(network, field path, site name) of every parseable site CIDR of a municipality."""
    out = []
    for i, site in enumerate(muni.spec.sites):
        for j, cidr in enumerate(site.cidrs):
            try:
                out.append((ipam.parse_cidr(cidr), ("spec", "sites", i, "cidrs", j), site.name))
            except ipam.AddressPlanError:
                continue  # reported by check_municipality
    return out


def check_sites(reg: Registry, sources: dict[str, Collector]) -> None:
    """Municipal networks across the workspace: no site overlaps another site (of the same or
    another municipality) or a tenant pool — routes to both could not coexist on the WAN — and
    every customer gateway is an address a VPN can terminate on. AWS: the customer gateway is
    "the IP address of the customer gateway device's external interface ... static" (EC2 API
    reference, CreateCustomerGateway), so it is a unicast address outside every network the WAN
    routes to the municipality or the tenants."""
    sites: list[tuple[ipaddress.IPv4Network, str, tuple, str]] = []
    for code in sorted(reg.municipalities):
        sites += [(net, code, loc, name) for net, loc, name in site_networks(reg.municipalities[code])]
    pools = []
    if reg.plan is not None:
        for pool in reg.plan.spec.pools:
            try:
                pools.append((ipam.parse_cidr(pool.cidr), pool.name))
            except ipam.AddressPlanError:
                continue  # reported by check_plan
    # One sweep in address order: a network overlaps an earlier one exactly when it starts before
    # the furthest end seen so far.
    ordered = sorted(sites, key=lambda s: (int(s[0].network_address), -s[0].prefixlen, s[1], s[2]))
    furthest = None
    for entry in ordered:
        net, code, loc, name = entry
        if furthest is not None and int(net.network_address) <= int(furthest[0].broadcast_address):
            other_net, other_code, _, other_name = furthest
            whose = "the same municipality" if other_code == code else f"municipality {other_code}"
            _source(sources, code).add("GC302", f"site {name} ({net}) overlaps site {other_name} of {whose} ({other_net})", loc)
        if furthest is None or int(net.broadcast_address) > int(furthest[0].broadcast_address):
            furthest = entry
    for net, code, loc, name in sites:
        for pool_net, pool_name in pools:
            if net.overlaps(pool_net):
                _source(sources, code).add("GC302", f"site {name} ({net}) overlaps tenant pool {pool_name} ({pool_net})", loc)
    for code in sorted(reg.municipalities):
        for i, site in enumerate(reg.municipalities[code].spec.sites):
            if site.gateway is not None:
                problem = gateway_problem(site.gateway.address, [s[0] for s in sites] + [p[0] for p in pools])
                if problem:
                    _source(sources, code).add("GC308", f"site {site.name}: gateway {site.gateway.address} {problem}",
                                               ("spec", "sites", i, "gateway", "address"))


def gateway_problem(address: str, routed: list[ipaddress.IPv4Network]) -> str | None:
    try:
        ip = ipaddress.IPv4Address(address)
    except ipaddress.AddressValueError as exc:
        return f"is not an IPv4 address ({exc})"
    if ip.is_unspecified or ip == ipaddress.IPv4Address("255.255.255.255"):
        return "is the unspecified or broadcast address"
    for what, flag in (("multicast", ip.is_multicast), ("loopback", ip.is_loopback),
                       ("link-local", ip.is_link_local), ("reserved (240.0.0.0/4)", ip.is_reserved)):
        if flag:
            return f"is a {what} address, not a device's external interface"
    for net in routed:
        if ip in net:
            edge = " (its network address)" if ip == net.network_address else \
                " (its broadcast address)" if ip == net.broadcast_address else ""
            return f"lies inside {net}{edge}, a network routed through the WAN; the gateway is the device's external address"
    return None


def _source(sources: dict[str, Collector], code: str) -> Collector:
    return sources.setdefault(f"Municipality/{code}", Collector(f"tenants/municipalities/{code}.yaml"))


def check_vendor(doc: Vendor, out: Collector) -> None:
    vid = doc.metadata.name or ""
    if len(vid) > VENDOR_ID_MAX:
        out.add("GC402", f"vendor id {vid!r} is longer than {VENDOR_ID_MAX} characters (it becomes part of tenant names)", ("metadata", "name"))
    if doc.spec.corporate_number is not None and not is_valid_corporate_number(doc.spec.corporate_number):
        out.add("GC212", f"法人番号 {doc.spec.corporate_number} has a wrong check digit", ("spec", "corporateNumber"))
    if Path(str(out.path)).stem != vid:
        out.add("GC105", f"file name must be the vendor id: {vid}.yaml", ("metadata", "name"))


def check_plan(plan: AddressPlan, out: Collector, cat: Catalogue) -> None:
    for loc, code, message in ipam.plan_problems(plan):
        out.add(code, message, loc)
    for i, pool in enumerate(plan.spec.pools):
        loc = ("spec", "pools", i)
        if pool.cloud not in cat.clouds:
            out.add("GC205", f"unknown cloud {pool.cloud!r}{_suggest(pool.cloud, cat.clouds)}", loc + ("cloud",))
        elif pool.region not in cat.regions(pool.cloud):
            out.add("GC206", f"region {pool.region!r} is not an allowed Japan region of {pool.cloud}: {', '.join(cat.regions(pool.cloud))}", loc + ("region",))
        if pool.zone not in cat.zones:
            out.add("GC207", f"unknown zone {pool.zone!r}{_suggest(pool.zone, cat.zones)}", loc + ("zone",))


# --- TenantRequest --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedTenant:
    name: str
    environment: str
    cidr: str


def tenant_name(req: TenantRequest, environment: str) -> str:
    spec = req.spec
    owner = spec.municipalities[0] if spec.usage == "dedicated" else spec.vendor
    return f"{owner}-{spec.system}-{environment}"


def effective_zone(req: TenantRequest, cat: Catalogue) -> str | None:
    if req.spec.zone:
        return req.spec.zone
    system = cat.systems.get(req.spec.system)
    return system.default_zone if system else None


def check_request(req: TenantRequest, out: Collector, cat: Catalogue, reg: Registry,
                  today: dt.date | None = None) -> tuple[list[PlannedTenant], AddressPlan | None]:
    """All request rules. Returns the tenants it would create, with their CIDRs allocated in a
    copy of the address plan (a dry run of ``apply``), and that new plan."""
    spec = req.spec
    today = today or dt.date.today()
    S = ("spec",)

    system = cat.systems.get(spec.system)
    if system is None:
        out.add("GC203", f"unknown system {spec.system!r}{_suggest(spec.system, cat.systems)}", S + ("system",))
    if spec.vendor not in reg.vendors:
        out.add("GC204", f"unknown vendor {spec.vendor!r}{_suggest(spec.vendor, reg.vendors)}", S + ("vendor",))
    cloud = cat.clouds.get(spec.cloud)
    if cloud is None:
        out.add("GC205", f"unknown cloud {spec.cloud!r}; allowed: {', '.join(cat.clouds)}", S + ("cloud",))
    elif spec.region not in cat.regions(spec.cloud):
        allowed = ", ".join(f"{r.id} ({r.en})" for r in cloud.regions)
        other = next((c.id for c in cat.clouds.values() if spec.region in cat.regions(c.id)), None)
        why = f"{spec.region!r} is a {other} region" if other else f"region {spec.region!r} is outside Japan"
        out.add("GC206", f"{why}; municipal data stays in Japan: {spec.cloud} allows {allowed}", S + ("region",))

    zone = effective_zone(req, cat)
    if zone is not None and zone not in cat.zones:
        out.add("GC207", f"unknown zone {zone!r}{_suggest(zone, cat.zones)}", S + ("zone",))
    elif system is not None and system.kind == "standard" and zone != system.default_zone:
        out.add("GC207", f"{system.id} ({system.ja}) is a standardised system that processes My Number data; "
                         f"it must be in zone {system.default_zone}, not {zone}", S + ("zone",))

    envs_ok = True
    for i, env in enumerate(spec.environments):
        if env not in cat.environments:
            out.add("GC208", f"unknown environment {env!r}; allowed: {', '.join(cat.environments)}", S + ("environments", i))
            envs_ok = False
        elif spec.environments.index(env) != i:
            out.add("GC208", f"environment {env!r} is listed twice", S + ("environments", i))
            envs_ok = False

    codes_ok = True
    for i, code in enumerate(spec.municipalities):
        loc = S + ("municipalities", i)
        if not check_municipality_code(out, code, loc):
            codes_ok = False
            continue
        if spec.municipalities.index(code) != i:
            out.add("GC201", f"municipality {code} is listed twice", loc)
            continue
        muni = reg.municipalities.get(code)
        if muni is None:
            national = cat.national_codes.get(code)
            known = f" ({national.prefecture}{national.name})" if national and national.kind != "prefecture" else ""
            out.add("GC202", f"municipality {code}{known} is not onboarded: no tenants/municipalities/{code}.yaml", loc)
            codes_ok = False
            continue
        if system is not None and spec.vendor in reg.vendors and not _contracted(muni, spec.vendor, spec.system, today):
            out.add("GC210", f"{muni.spec.name} ({code}) has no valid contract authorising vendor {spec.vendor} "
                             f"for system {spec.system}", loc)
    if spec.usage == "dedicated" and len(spec.municipalities) != 1:
        out.add("GC209", f"dedicated use (単独利用方式) serves exactly one municipality, "
                         f"got {len(spec.municipalities)}; use usage: shared (共同利用方式)", S + ("municipalities",))

    names: list[tuple[str, str]] = []
    if envs_ok and codes_ok and not (spec.usage == "dedicated" and len(spec.municipalities) != 1):
        for i, env in enumerate(spec.environments):
            name = tenant_name(req, env)
            names.append((env, name))
            if name in reg.tenants:
                out.add("GC211", f"tenant {name} already exists (request {reg.tenants[name].spec.request})", S + ("environments", i))
            if cloud is not None and len(name) > cloud.max_tenant_name_length:
                worst = max(cloud.derived_names, key=lambda d: len(d.pattern) - d.max_length)
                out.add("GC402", f"tenant name {name} has {len(name)} characters; {spec.cloud} allows "
                                 f"{cloud.max_tenant_name_length} so that the {worst.what} "
                                 f"{worst.pattern.format(tenant=name)!r} stays within {worst.max_length}", S + ("system",))

    _check_publishes(req, out)
    _check_consumes(req, out, reg)

    planned: list[PlannedTenant] = []
    new_plan = reg.plan
    if names and not out.errors and reg.plan is not None and zone is not None:
        planned, new_plan = _allocate(req, out, reg.plan, names, zone)
    return planned, new_plan


def _contracted(muni: Municipality, vendor: str, system: str, today: dt.date) -> bool:
    return any(
        c.vendor == vendor and system in c.systems and (c.until is None or c.until >= today)
        for c in muni.spec.contracts
    )


def _check_publishes(req: TenantRequest, out: Collector) -> None:
    seen: set[str] = set()
    for i, api in enumerate(req.spec.apis.publishes):
        if api.name in seen:
            out.add("GC401", f"api {api.name!r} is published twice", ("spec", "apis", "publishes", i, "name"))
        seen.add(api.name)


def _check_consumes(req: TenantRequest, out: Collector, reg: Registry) -> None:
    by_base = reg.tenants_by_base()
    for i, use in enumerate(req.spec.apis.consumes):
        loc = ("spec", "apis", "consumes", i)
        provider = by_base.get(use.tenant)
        if provider is None:
            full = reg.tenants.get(use.tenant)
            hint = f"; name it without its environment: {full.base_name!r}" if full else ""
            out.add("GC401", f"consumes tenant {use.tenant!r}, which does not exist{hint}", loc + ("tenant",))
            continue
        for env in req.spec.environments:
            tenant = provider.get(env)
            if tenant is None:
                out.add("GC401", f"tenant {use.tenant} has no {env} environment (it has "
                                 f"{', '.join(sorted(provider))}); environments never cross", loc + ("tenant",))
            elif use.api not in {a.name for a in tenant.spec.apis.publishes}:
                published = ", ".join(a.name for a in tenant.spec.apis.publishes) or "nothing"
                out.add("GC401", f"tenant {tenant.name} does not publish api {use.api!r} (it publishes {published})", loc + ("api",))


def _allocate(req: TenantRequest, out: Collector, plan: AddressPlan, names: list[tuple[str, str]],
              zone: str) -> tuple[list[PlannedTenant], AddressPlan]:
    spec, net = req.spec, req.spec.network
    N = ("spec", "network")
    try:
        pool = ipam.find_pool(plan, spec.cloud, spec.region, zone)
    except ipam.AddressPlanError as exc:
        out.add(exc.code, str(exc), ("spec", "region"))
        return [], plan
    explicit: dict[str, str] = {}
    if isinstance(net.cidr, str):
        if len(names) != 1:
            out.add("GC306", f"one explicit cidr cannot serve {len(names)} environments; give a map "
                             f"environment → cidr", N + ("cidr",))
            return [], plan
        explicit = {names[0][0]: net.cidr}
    elif isinstance(net.cidr, dict):
        missing = [env for env, _ in names if env not in net.cidr]
        extra = [env for env in net.cidr if env not in {e for e, _ in names}]
        if missing or extra:
            out.add("GC306", f"network.cidr must give one cidr per environment: missing {missing or 'none'}, "
                             f"not requested {extra or 'none'}", N + ("cidr",))
            return [], plan
        explicit = dict(net.cidr)
    planned = []
    for env, name in names:
        loc = N + (("cidr", env) if isinstance(net.cidr, dict) else ("cidr",) if net.cidr else ("prefixLength",))
        try:
            plan, allocated = ipam.allocate(plan, name, pool, prefix_length=net.prefix_length, cidr=explicit.get(env))
        except ipam.AddressPlanError as exc:
            out.add(exc.code, str(exc), loc)
            continue
        planned.append(PlannedTenant(name, env, str(allocated)))
    return planned, plan


def check_tenant(doc: Tenant, out: Collector, cat: Catalogue, reg: Registry | None = None,
                 today: dt.date | None = None) -> None:
    """One tenant document; with the registry also what it refers to: every municipality it
    serves is onboarded and holds a valid contract with its vendor for its system (a deleted
    municipality or a revoked or expired contract leaves a tenant nobody authorises)."""
    spec = doc.spec
    S = ("spec",)
    if doc.metadata.name is not None and Path(str(out.path)).stem != doc.metadata.name:
        out.add("GC105", f"file name must be the tenant name: {doc.metadata.name}.yaml", ("metadata", "name"))
    if spec.environment not in cat.environments:
        out.add("GC208", f"unknown environment {spec.environment!r}", S + ("environment",))
    if spec.cloud not in cat.clouds:
        out.add("GC205", f"unknown cloud {spec.cloud!r}; allowed: {', '.join(cat.clouds)}", S + ("cloud",))
    elif spec.region not in cat.regions(spec.cloud):
        out.add("GC206", f"region {spec.region!r} is not an allowed Japan region of {spec.cloud}", S + ("region",))
    if spec.zone not in cat.zones:
        out.add("GC207", f"unknown zone {spec.zone!r}", S + ("zone",))
    if spec.system not in cat.systems:
        out.add("GC203", f"unknown system {spec.system!r}", S + ("system",))
    if spec.network is not None and spec.network.cidr is not None:
        try:
            ipam.parse_cidr(spec.network.cidr)
        except ipam.AddressPlanError as exc:
            out.add("GC101", str(exc), S + ("network", "cidr"))
    if reg is None:
        return
    today = today or dt.date.today()
    vendor_known = spec.vendor in reg.vendors
    if not vendor_known and f"Vendor/{spec.vendor}" not in reg.unreadable:
        out.add("GC204", f"vendor {spec.vendor!r} of this tenant is not onboarded (no tenants/vendors/{spec.vendor}.yaml)",
                S + ("vendor",))
    for i, code in enumerate(spec.municipalities):
        muni = reg.municipalities.get(code)
        if muni is None and f"Municipality/{code}" in reg.unreadable:
            continue  # its own file's errors are reported
        if muni is None:
            out.add("GC202", f"municipality {code} served by this tenant is not onboarded "
                             f"(no tenants/municipalities/{code}.yaml)", S + ("municipalities", i))
        elif vendor_known and not _contracted(muni, spec.vendor, spec.system, today):
            out.add("GC210", f"{muni.spec.name} ({code}) has no valid contract authorising vendor {spec.vendor} "
                             f"for system {spec.system}, but this tenant serves it", S + ("municipalities", i))

"""Network intent: who is attached where, and which flows are declared.

Built from the tenant documents plus small data files: every tenant network and every municipal
site is an attachment in the segment of its zone; flows come from (a) a site's access to the
tenants that serve its municipality, as the municipality's security model allows, (b) APIs
that a tenant publishes and another consumes (both sides declare it), and (c) cross-zone
exceptions with justification, approver and expiry. Pure functions; no cloud calls.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import Field

from govcloud import yamlio
from govcloud.diagnostics import Collector, DiagnosticError
from govcloud.tenants import documents, governed, ledger
from govcloud.tenants.models import DNS_LABEL, Model, TimeLimitedApproval
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace

DATA = Path(__file__).parent / "data"
SHARED_SERVICES = "shared-services"
INSPECTION = "inspection"
L4 = {"https": "tcp", "http": "tcp", "grpc": "tcp", "tcp": "tcp", "udp": "udp"}
# Sites reach tenants over these connections on the AWS side or the Azure side of the WAN.
CONNECTION_CLOUD = {"directconnect": "aws", "vpn": "aws", "lgwan": "aws", "expressroute": "azure"}
DEFAULT_ACCESS_PORT = 443


# --- data files -------------------------------------------------------------------------------


@functools.cache
def security_models() -> dict[str, dict[str, dict[str, str]]]:
    data, _ = yamlio.load_file(DATA / "security-models.yaml")
    return {name: model["access"] for name, model in data["models"].items()}


@functools.cache
def invariant_catalogue() -> list[dict]:
    data, _ = yamlio.load_file(DATA / "invariants.yaml")
    return data["invariants"]


# --- the exceptions document users write ----------------------------------------------------------------


class ExceptionSource(Model):
    tenant: str | None = None
    site: str | None = Field(default=None, description="<municipality code>/<site name>")
    name: str | None = Field(default=None, pattern=DNS_LABEL, description="an external source, e.g. mynaportal")
    zone: str | None = None
    cidrs: list[str] = Field(default_factory=list)


class ExceptionTarget(Model):
    tenant: str


class FlowException(TimeLimitedApproval):
    id: str = Field(pattern=DNS_LABEL)
    source: ExceptionSource = Field(alias="from")
    destination: ExceptionTarget = Field(alias="to")
    protocol: Literal["tcp", "udp"] = "tcp"
    port: int = Field(ge=1, le=65535)
    via: Literal["inspection"] = "inspection"
    justification: str = Field(min_length=10)


class NetworkExceptionsSpec(Model):
    exceptions: list[FlowException] = Field(default_factory=list)


class NetworkExceptions(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["NetworkExceptions"]
    metadata: dict
    spec: NetworkExceptionsSpec


# --- the intent ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    name: str                       # tenant name, "site:<code>:<site>", or "external:<name>"
    kind: Literal["tenant", "site", "external"]
    zone: str
    cloud: str                      # side of the WAN it attaches to
    region: str
    cidrs: tuple[str, ...]
    municipalities: frozenset[str]
    connection: str = ""
    vendor: str = ""
    internet_facing: bool = False   # has its own internet gateway (open zones only)
    security_model: str = ""        # a site: its municipality's model (what the site may reach: network/zone_rules.py)


class Flow(NamedTuple):
    """A declared flow (a NamedTuple: a national intent has tens of thousands)."""

    source: str
    destination: str
    protocol: str
    port: int
    reason: str                     # "site-access", "api:<name>", "exception:<id>"
    via_inspection: bool = False


@dataclass
class Intent:
    attachments: dict[str, Attachment]
    flows: list[Flow]
    exceptions: list[FlowException] = field(default_factory=list)
    expired: list[FlowException] = field(default_factory=list)
    screen_transfer: list[tuple[str, str]] = field(default_factory=list)  # (site, tenant) via 画面転送

    def tenants(self) -> list[Attachment]:
        return [a for a in self.attachments.values() if a.kind == "tenant"]


def site_name(code: str, site: str) -> str:
    return f"site:{code}:{site}"


MY_NUMBER_ZONE = "mynumber"


def exception_requirement(exc: FlowException, reg: Registry) -> governed.Requirement:
    """Who signs a network exception (docs/trust.md): the platform; the approver of every
    municipality whose tenant or site it touches (both ends: a tenant's municipalities, a site's
    municipality); the security team when either end is in the My Number zone (a path into it,
    or out of it). An end nobody can place (an unknown tenant or site) asks for everyone: two
    platform principals and the security team."""
    codes: set[str] = set()
    security, platform, why = False, 1, []

    def tenant_end(name: str, side: str) -> None:
        nonlocal security, platform
        t = reg.tenants.get(name)
        if t is None:
            security, platform = True, 2
            why.append(f"{side} {name} is no tenant of this workspace")
            return
        codes.update(t.spec.municipalities)
        why.append(f"{side} {name} serves {', '.join(t.spec.municipalities)}")
        if t.spec.zone == MY_NUMBER_ZONE:
            security = True
            why.append(f"{side} {name} is in the My Number zone")

    tenant_end(exc.destination.tenant, "destination")
    if exc.source.tenant:
        tenant_end(exc.source.tenant, "source")
    elif exc.source.site:
        code, _, name = exc.source.site.partition("/")
        codes.add(code)
        muni = reg.municipalities.get(code)
        site = next((s for s in muni.spec.sites if s.name == name), None) if muni else None
        if site is None:
            security, platform = True, 2
            why.append(f"source site {exc.source.site} is not declared")
        elif site.zone == MY_NUMBER_ZONE:
            security = True
            why.append(f"source site {exc.source.site} is in the My Number zone")
    elif exc.source.zone == MY_NUMBER_ZONE:
        security = True
        why.append("the source is in the My Number zone")
    return governed.Requirement(platform, frozenset(codes), security, tuple(why))


def signer_problems(doc: NetworkExceptions, text: str, src: Collector, versions: list[governed.RecordedVersion],
                    reg: Registry) -> None:
    """GC609 for every exception whose recorded version lacks a signer it needs."""
    raw = governed.items_of(governed.body_of(yamlio.load_text(text, src.path)[0]))
    items = [(raw[i], exception_requirement(e, reg), ("spec", "exceptions", i), f"exception {e.id}")
             for i, e in enumerate(doc.spec.exceptions) if i < len(raw)]
    for loc, message in governed.item_problems(versions, items):
        src.add("GC609", message, loc)


def load_exceptions(path: Path, reg: Registry | None = None) -> tuple[list[FlowException], Collector | None]:
    """The exceptions in force: the document exactly as the history recorded it, each exception
    signed by the people it needs. An edit that was not recorded, or a file nobody recorded, is
    refused (GC608), never read as if someone had approved it."""
    ws = Workspace(path.parent.parent)                # tenants/network-exceptions.yaml → the workspace
    if not path.exists():
        ledger.decisions(ws, "NetworkExceptions")     # refuses a recorded document deleted by hand
        return [], None
    text = yamlio.read_text(path)
    doc, src = documents.parse(path, NetworkExceptions, text=text)
    src.raise_if_errors()
    check_recorded(ws, doc, text, src, reg)
    return list(doc.spec.exceptions), src


def check_recorded(ws: Workspace, doc: NetworkExceptions, text: str, src: Collector, reg: Registry | None) -> None:
    """Refuse (GC608, GC609) exceptions that are not the recorded, sufficiently signed version."""
    versions = ledger.decisions(ws, "NetworkExceptions", text)
    signer_problems(doc, text, src, versions, reg or load_registry(ws))
    src.raise_if_errors()


@dataclass
class IntentMemo:
    """Each tenant's site-access flows from the previous build, for a rebuild after a change.

    A tenant's site flows depend on its own document, the documents of the municipalities it
    serves (their sites and security model), the security-model table and which zones are
    closed. They are reused only when the tenant's document and every one of those
    municipalities' documents are the very objects used last time (a caller that re-reads only
    changed files hands the unchanged ones back as the same objects; nothing mutates a document
    in place) and the table and zones are equal. Everything else (API flows, exceptions) is
    rebuilt every time."""

    context: object = None
    municipalities: dict[str, object] = field(default_factory=dict)
    tenants: dict[str, tuple[object, list, list]] = field(default_factory=dict)
    reused: int = 0


def build_intent(reg: Registry, exceptions: list[FlowException], *, today: dt.date | None = None,
                 source: Collector | None = None, memo: IntentMemo | None = None) -> Intent:
    """Raises DiagnosticError for intent that must not compile (undeclared cross-zone API use,
    exceptions naming unknown tenants). With ``memo`` (kept between calls) the site flows of a
    tenant whose documents did not change are reused."""
    today = today or dt.date.today()
    from govcloud.tenants.catalogue import load_catalogue

    closed = {z: e.closed for z, e in load_catalogue().zones.items()}
    attachments: dict[str, Attachment] = {}
    for t in reg.tenants.values():
        s = t.spec
        attachments[t.name] = Attachment(t.name, "tenant", s.zone, s.cloud, s.region, (s.network.cidr,),
                                         frozenset(s.municipalities), vendor=s.vendor,
                                         internet_facing=not closed.get(s.zone, True) and s.cloud == "aws")
    for code, muni in reg.municipalities.items():
        for site in muni.spec.sites:
            cloud = CONNECTION_CLOUD[site.connection]
            attachments[site_name(code, site.name)] = Attachment(
                site_name(code, site.name), "site", site.zone, cloud, "", tuple(site.cidrs), frozenset([code]),
                connection=site.connection, security_model=str(muni.spec.security_model))

    flows: list[Flow] = []
    screen: list[tuple[str, str]] = []
    models = security_models()
    access_of: dict[tuple[str, str], tuple[list[str], list[str]]] = {}

    def access(code: str, zone: str) -> tuple[list[str], list[str]]:
        """(sites with direct access, sites with screen transfer) of a municipality to a tenant zone."""
        key = (code, zone)
        if key not in access_of:
            muni = reg.municipalities.get(code)
            if muni is None:
                access_of[key] = ([], [])
            else:
                table = models[muni.spec.security_model]
                found = [(site_name(code, s.name), table.get(s.zone, {}).get(zone, "never")) for s in muni.spec.sites]
                access_of[key] = ([n for n, a in found if a == "direct"] if zone in closed else [],
                                  [n for n, a in found if a == "screen-transfer"] if zone in closed else [])
        return access_of[key]

    context = (models, closed)
    changed: set[str] | None = None
    if memo is not None and memo.context == context:
        changed = {c for c, m in reg.municipalities.items() if memo.municipalities.get(c) is not m}
        changed |= set(memo.municipalities) - set(reg.municipalities)
    kept_tenants: dict[str, tuple[object, list, list]] = {}
    for tenant in sorted(reg.tenants.values(), key=lambda t: t.name):
        kept = memo.tenants.get(tenant.name) if memo is not None and changed is not None else None
        if kept is not None and kept[0] is tenant and changed.isdisjoint(tenant.spec.municipalities):
            memo.reused += 1
            own_flows, own_screen = kept[1], kept[2]
        else:
            ports = sorted({(L4[a.protocol], a.port) for a in tenant.spec.apis.publishes}) or [("tcp", DEFAULT_ACCESS_PORT)]
            zone = tenant.spec.zone
            own_flows, own_screen = [], []
            for code in tenant.spec.municipalities:
                direct, screened = access(code, zone)
                for site in direct:
                    own_flows += [Flow(site, tenant.name, proto, port, "site-access") for proto, port in ports]
                own_screen += [(site, tenant.name) for site in screened]
        flows += own_flows
        screen += own_screen
        kept_tenants[tenant.name] = (tenant, own_flows, own_screen)
    if memo is not None:
        memo.context, memo.municipalities, memo.tenants = context, dict(reg.municipalities), kept_tenants

    problems = Collector(source.path if source else "tenants/network-exceptions.yaml", source.positions if source else {})
    active = [e for e in exceptions if not e.expired(today)]
    expired = [e for e in exceptions if e.expired(today)]
    by_base = reg.tenants_by_base()
    for consumer in sorted(reg.tenants.values(), key=lambda t: t.name):
        for use in consumer.spec.apis.consumes:
            provider = by_base.get(use.tenant, {}).get(consumer.spec.environment)
            if provider is None:
                continue  # request validation already refuses this; stale tenants are reported there
            api = next((a for a in provider.spec.apis.publishes if a.name == use.api), None)
            if api is None:
                continue
            flow = Flow(consumer.name, provider.name, L4[api.protocol], api.port, f"api:{api.name}")
            if consumer.spec.zone != provider.spec.zone:
                covering = [e for e in active if e.source.tenant == consumer.name and e.destination.tenant == provider.name
                            and e.port == api.port]
                if not covering:
                    where = reg.sources.get(f"Tenant/{consumer.name}") or Collector(f"tenants/active/{consumer.name}.yaml")
                    where.add("GC701", f"{consumer.name} ({consumer.spec.zone}) consumes {provider.name} "
                                       f"({provider.spec.zone}) api {api.name}: a cross-zone flow needs an exception "
                                       f"in tenants/network-exceptions.yaml", ("spec", "apis", "consumes"))
                    raise DiagnosticError(where.errors)
                continue  # the exception below declares it
            flows.append(flow)
    for i, exc in enumerate(exceptions):
        loc = ("spec", "exceptions", i)
        if exc.destination.tenant not in reg.tenants:
            problems.add("GC702", f"exception {exc.id}: unknown destination tenant {exc.destination.tenant}", loc + ("to", "tenant"))
            continue
        if exc.source.tenant:
            if exc.source.tenant not in reg.tenants:
                problems.add("GC702", f"exception {exc.id}: unknown source tenant {exc.source.tenant}", loc + ("from", "tenant"))
                continue
            src_name = exc.source.tenant
        elif exc.source.site:
            code, _, site = exc.source.site.partition("/")
            src_name = site_name(code, site)
            if src_name not in attachments:
                problems.add("GC702", f"exception {exc.id}: unknown site {exc.source.site}", loc + ("from", "site"))
                continue
        elif exc.source.name and exc.source.zone and exc.source.cidrs:
            if exc.source.zone not in closed:   # the zone says which invariants apply: never guessed
                problems.add("GC207", f"unknown zone {exc.source.zone!r}", loc + ("from", "zone"))
                continue
            src_name = f"external:{exc.source.name}"
            attachments.setdefault(src_name, Attachment(src_name, "external", exc.source.zone, "aws", "",
                                                        tuple(exc.source.cidrs), frozenset()))
        else:
            problems.add("GC702", f"exception {exc.id}: from needs a tenant, a site, or name + zone + cidrs", loc + ("from",))
            continue
        if exc in active:
            flows.append(Flow(src_name, exc.destination.tenant, exc.protocol, exc.port, f"exception:{exc.id}", True))
    problems.raise_if_errors()
    flows = sorted(set(flows))
    return Intent(attachments, flows, active, expired, sorted(screen))

"""Typed models of every document users write (Kubernetes-style: apiVersion, kind, metadata, spec).

Models check shape only. Rules that need the catalogues or the rest of the workspace (is the
system known, is the vendor contracted, does the CIDR overlap) live in ``rules.py`` so the JSON
Schema stays a faithful description of the file format.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator
from pydantic.alias_generators import to_camel

API_VERSION = "govcloud/v1"

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
MunicipalityCode = Annotated[
    str, Field(pattern=r"^[0-9]{6}$", description="全国地方公共団体コード (JIS X 0402): 6 digits including the check digit")
]
Cidr = Annotated[str, Field(description="IPv4 network in CIDR notation, e.g. 10.16.0.0/24")]
SecurityModel = Literal["alpha", "beta", "beta-prime", "alpha-prime"]
Connection = Literal["directconnect", "expressroute", "vpn", "lgwan"]
Usage = Literal["dedicated", "shared"]
Protocol = Literal["tcp", "udp", "https", "http", "grpc"]


def _iso_date_text(value):
    """A date is written as YYYY-MM-DD (the YAML loader keeps it a string): not a number of
    seconds, not a date-time, not a boolean."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


# The one field type that is parsed from text: everything else is strict (below).
IsoDate = Annotated[dt.date, Strict(False), BeforeValidator(_iso_date_text)]


class Model(BaseModel):
    # strict: a value of the wrong YAML type is an error, never coerced — `port: true` is not
    # port 1, `asn: "65000"` is not a number, `name: 42` is not a string, `443.0` is not 443.
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True
    )


class Metadata(Model):
    name: str = Field(max_length=63, pattern=DNS_LABEL, description="lower-case DNS label")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


# --- Municipality ---------------------------------------------------------------------------


class Gateway(Model):
    address: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}$", description="public IPv4 of the on-premises VPN device")
    asn: int = Field(ge=1, le=4294967295, description="BGP ASN of the on-premises device")


class Site(Model):
    """An on-premises network of the municipality (庁内ネットワーク) and how it connects. The
    connection details are optional: without them the network stack expects the attachment id
    in `govcloud:attachmentIds`."""

    name: str = Field(pattern=DNS_LABEL, max_length=40)
    zone: str = Field(description="trust zone id, e.g. mynumber, lgwan, internet")
    cidrs: list[Cidr] = Field(min_length=1)
    connection: Connection
    gateway: Gateway | None = Field(default=None, description="vpn and lgwan: the customer gateway")
    direct_connect_gateway_arn: str | None = Field(default=None, pattern=r"^arn:aws:directconnect::\d{12}:dx-gateway/[0-9a-f-]+$",
                                                   description="directconnect: the Direct Connect gateway")
    express_route_circuit_peering_id: str | None = Field(default=None, description="expressroute: the circuit's private peering id")

    @model_validator(mode="after")
    def _details_match_connection(self) -> "Site":
        allowed = {"vpn": "gateway", "lgwan": "gateway", "directconnect": "direct_connect_gateway_arn",
                   "expressroute": "express_route_circuit_peering_id"}[self.connection]
        for field in ("gateway", "direct_connect_gateway_arn", "express_route_circuit_peering_id"):
            if field != allowed and getattr(self, field) is not None:
                raise ValueError(f"{to_camel(field)} does not apply to a {self.connection} connection")
        return self


class Contract(Model):
    """Which vendor the municipality authorised for which systems (and until when)."""

    vendor: str
    systems: list[str] = Field(min_length=1)
    until: IsoDate | None = Field(default=None, description="last day the contract is valid")


class MunicipalitySpec(Model):
    code: MunicipalityCode
    name: str = Field(min_length=1, description="name in kanji as in JIS X 0402, e.g. 千代田区")
    prefecture: str = Field(min_length=2, description="prefecture in kanji, e.g. 東京都")
    security_model: SecurityModel = Field(
        description="network model of the MIC security guideline: alpha (α), beta (β), beta-prime (β′), alpha-prime (α′)"
    )
    sites: list[Site] = Field(default_factory=list)
    contracts: list[Contract] = Field(default_factory=list)


class Municipality(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["Municipality"]
    metadata: Metadata
    spec: MunicipalitySpec


# --- Vendor ---------------------------------------------------------------------------------


class Contact(Model):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    role: str | None = None


class VendorSpec(Model):
    name: str = Field(min_length=1, description="registered company name")
    corporate_number: str = Field(
        pattern=r"^[0-9]{13}$", description="法人番号: 13-digit corporate number including its check digit"
    )
    contacts: list[Contact] = Field(min_length=1)


class Vendor(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["Vendor"]
    metadata: Metadata = Field(description="metadata.name is the vendor id used in requests and tenant names")
    spec: VendorSpec


# --- TenantRequest / Tenant ----------------------------------------------------------------------


class PublishedApi(Model):
    name: str = Field(pattern=DNS_LABEL, max_length=40)
    port: int = Field(ge=1, le=65535)
    protocol: Protocol = "https"
    description: str | None = None


class ConsumedApi(Model):
    tenant: str = Field(
        description="the providing tenant without its environment suffix (e.g. 131016-juki); "
        "each environment consumes the provider's tenant of the same environment"
    )
    api: str


class Apis(Model):
    publishes: list[PublishedApi] = Field(default_factory=list)
    consumes: list[ConsumedApi] = Field(default_factory=list)


class RequestNetwork(Model):
    prefix_length: int | None = Field(default=None, ge=8, le=28, description="size of each environment's VPC/VNet")
    cidr: Cidr | dict[str, Cidr] | None = Field(
        default=None,
        description="explicit CIDR (one environment) or a map environment → CIDR; instead of prefixLength",
    )

    @model_validator(mode="after")
    def _one_of(self) -> "RequestNetwork":
        if self.prefix_length is not None and self.cidr is not None:
            raise ValueError("give either prefixLength or cidr, not both")
        return self


class TenantRequestSpec(Model):
    vendor: str
    system: str
    usage: Usage = Field(description="dedicated = 単独利用方式, shared = 共同利用方式")
    municipalities: list[str] = Field(min_length=1, description="municipality codes served")
    cloud: str
    region: str
    environments: list[str] = Field(min_length=1)
    zone: str | None = Field(default=None, description="defaults to the system's catalogue zone")
    network: RequestNetwork = Field(default_factory=RequestNetwork)
    apis: Apis = Field(default_factory=Apis)
    description: str | None = None


class TenantRequest(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["TenantRequest"]
    metadata: Metadata
    spec: TenantRequestSpec


class TenantNetwork(Model):
    cidr: Cidr


class TenantSpec(Model):
    request: str
    vendor: str
    system: str
    usage: Usage
    municipalities: list[str] = Field(min_length=1)
    cloud: str
    region: str
    environment: str
    zone: str
    network: TenantNetwork
    apis: Apis = Field(default_factory=Apis)


class TenantStatus(Model):
    request_digest: str
    applied_at: str
    history_entry: str
    account_id: str | None = None


class Tenant(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["Tenant"]
    metadata: Metadata
    spec: TenantSpec
    status: TenantStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def base_name(self) -> str:
        """Name without the environment suffix: what ``apis.consumes[].tenant`` refers to."""
        return self.name.removesuffix(f"-{self.spec.environment}")


# --- AddressPlan (tenants/ipam.yaml) -----------------------------------------------------------


class PrefixRange(Model):
    min: int = Field(ge=8, le=28)
    max: int = Field(ge=8, le=28)
    default: int = Field(ge=8, le=28)

    @model_validator(mode="after")
    def _ordered(self) -> "PrefixRange":
        if not self.min <= self.default <= self.max:
            raise ValueError("prefix lengths must satisfy min <= default <= max")
        return self


class Pool(Model):
    name: str = Field(pattern=DNS_LABEL)
    cloud: str
    region: str
    zone: str
    cidr: Cidr
    prefix_length: PrefixRange


class Allocation(Model):
    tenant: str
    pool: str
    cidr: Cidr


class AddressPlanSpec(Model):
    pools: list[Pool] = Field(min_length=1)


class AddressPlanStatus(Model):
    allocations: list[Allocation] = Field(default_factory=list)
    history_head: str | None = Field(default=None, description="hash of the newest history entry")


class AddressPlan(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["AddressPlan"]
    metadata: Metadata
    spec: AddressPlanSpec
    status: AddressPlanStatus = Field(default_factory=AddressPlanStatus)


class TimeLimitedApproval(Model):
    """Something a named person allowed until a date (network exceptions, policy waivers):
    one expiry rule for all of them."""

    approver: str = Field(min_length=1)
    expires: IsoDate = Field(description="last day it applies")

    def expired(self, today: dt.date) -> bool:
        return self.expires < today


# --- Principals -------------------------------------------------------------------------------

PrincipalRole = Literal["vendor", "municipality", "platform", "security"]
SshPublicKey = Annotated[str, Field(pattern=r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?$",
                                    description="OpenSSH public key line, as in ~/.ssh/id_ed25519.pub")]


class Principal(Model):
    """A person who may act on the workspace, and how they prove it: an SSH key signs approvals
    from the command line; an OIDC subject signs in to the service."""

    id: str = Field(pattern=DNS_LABEL, max_length=63, description="stable id, used in history entries")
    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    role: PrincipalRole = Field(description="vendor (one vendor), municipality (its codes), platform, security (signs waivers and network exceptions only)")
    vendor: str | None = Field(default=None, pattern=DNS_LABEL, description="role vendor: the vendor's metadata.name")
    municipalities: list[MunicipalityCode] = Field(default_factory=list, description="role municipality: the codes this person approves for")
    oidc_subjects: list[str] = Field(default_factory=list, description="`sub` claims of the configured OIDC issuer")
    ssh_keys: list[SshPublicKey] = Field(default_factory=list, description="public keys that sign approvals (ssh-keygen -Y sign)")

    @model_validator(mode="after")
    def _scope_fits_role(self):
        if self.role == "vendor" and not self.vendor:
            raise ValueError("a vendor principal names its vendor (spec.principals[].vendor)")
        if self.role != "vendor" and self.vendor:
            raise ValueError(f"only a vendor principal has a vendor; this one is {self.role}")
        if self.role == "municipality" and not self.municipalities:
            raise ValueError("a municipality principal lists the municipality codes it approves for")
        if self.role != "municipality" and self.municipalities:
            raise ValueError(f"only a municipality principal has municipalities; this one is {self.role}")
        return self


class ServiceKey(Model):
    """The onboarding service's own signing key (public half): it signs approvals made in the
    portal on behalf of the signed-in principal."""

    id: str = Field(pattern=DNS_LABEL, max_length=63)
    public_key: SshPublicKey


class PrincipalsSpec(Model):
    principals: list[Principal] = Field(min_length=1)
    service_keys: list[ServiceKey] = Field(default_factory=list)


class Principals(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["Principals"]
    metadata: Metadata
    spec: PrincipalsSpec


DOCUMENT_KINDS: dict[str, type[Model]] = {
    "Municipality": Municipality,
    "Vendor": Vendor,
    "TenantRequest": TenantRequest,
    "Tenant": Tenant,
    "AddressPlan": AddressPlan,
    "Principals": Principals,
}

"""The reference catalogues shipped with govcloud (systems, zones, environments, clouds, regions,
JIS X 0402 codes), validated against their models and loaded once per process."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from govcloud import yamlio
from govcloud.tenants.models import Model

CATALOGUE_DIR = Path(__file__).parent / "catalogues"


class SystemEntry(Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")
    ja: str
    en: str
    kind: Literal["standard", "related"]
    default_zone: str


class SystemCatalogue(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["SystemCatalogue"]
    systems: list[SystemEntry]


class ZoneEntry(Model):
    id: str
    ja: str
    en: str
    closed: bool


class EnvironmentEntry(Model):
    id: str
    ja: str
    en: str


class ZoneCatalogue(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["ZoneCatalogue"]
    zones: list[ZoneEntry]
    environments: list[EnvironmentEntry]


class RegionEntry(Model):
    id: str
    ja: str
    en: str


class DerivedName(Model):
    pattern: str
    what: str
    max_length: int


class CloudEntry(Model):
    id: str
    name: str
    regions: list[RegionEntry]
    derived_names: list[DerivedName]

    @property
    def max_tenant_name_length(self) -> int:
        return min(d.max_length - len(d.pattern.replace("{tenant}", "")) for d in self.derived_names)


class CloudCatalogue(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["CloudCatalogue"]
    clouds: list[CloudEntry]


@dataclass(frozen=True)
class RegistryEntry:
    code: str
    prefecture: str
    name: str
    kind: str


@dataclass(frozen=True)
class Catalogue:
    systems: dict[str, SystemEntry]
    zones: dict[str, ZoneEntry]
    environments: dict[str, EnvironmentEntry]
    clouds: dict[str, CloudEntry]
    national_codes: dict[str, RegistryEntry]

    def regions(self, cloud: str) -> list[str]:
        entry = self.clouds.get(cloud)
        return [r.id for r in entry.regions] if entry else []

    @property
    def all_regions(self) -> list[str]:
        return [r.id for c in self.clouds.values() for r in c.regions]


def _load(name: str, model: type[Model]) -> Model:
    path = CATALOGUE_DIR / name
    from govcloud.tenants.documents import validate_data

    data, positions = yamlio.load_file(path)
    return validate_data(model, data, path, positions)


@functools.cache
def load_catalogue() -> Catalogue:
    systems = _load("systems.yaml", SystemCatalogue)
    zones = _load("zones.yaml", ZoneCatalogue)
    clouds = _load("clouds.yaml", CloudCatalogue)
    with open(CATALOGUE_DIR / "municipality-codes.csv", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        national = {r["code"]: RegistryEntry(r["code"], r["prefecture"], r["name"], r["kind"]) for r in rows}
    return Catalogue(
        systems={s.id: s for s in systems.systems},
        zones={z.id: z for z in zones.zones},
        environments={e.id: e for e in zones.environments},
        clouds={c.id: c for c in clouds.clouds},
        national_codes=national,
    )

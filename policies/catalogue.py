"""The control catalogue (policies/catalogue.yaml), validated and loaded once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field

from govcloud import yamlio
from govcloud.tenants.models import Model

CATALOGUE = Path(__file__).with_name("catalogue.yaml")


class Text(Model):
    ja: str
    en: str


class Control(Model):
    id: str = Field(pattern=r"^GC-[A-Z]+(-[A-Z0-9]+)?-\d+$")
    scope: Literal["resource", "stack"]
    cloud: Literal["aws", "azure", "any"]
    types: list[str]
    zones: list[str] | None = None
    severity: Literal["critical", "high", "medium", "low"]
    mode: Literal["mandatory", "advisory"]
    waivable: bool
    ja: str
    en: str
    remediation: Text
    references: dict[str, str] = Field(default_factory=dict)

    def title(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en

    def fix(self, lang: str) -> str:
        return self.remediation.ja if lang == "ja" else self.remediation.en


class ControlCatalogue(Model):
    api_version: Literal["govcloud/v1"]
    kind: Literal["ControlCatalogue"]
    controls: list[Control]


@functools.cache
def load_controls() -> dict[str, Control]:
    from govcloud.policies.controls import RESOURCE, STACK, load_all

    from govcloud.tenants.documents import validate_data

    data, positions = yamlio.load_file(CATALOGUE)
    catalogue = validate_data(ControlCatalogue, data, CATALOGUE, positions)
    load_all()
    controls = {c.id: c for c in catalogue.controls}
    implemented = set(RESOURCE) | set(STACK)
    missing = sorted(set(controls) - implemented)
    orphans = sorted(implemented - set(controls))
    if missing or orphans:
        raise RuntimeError(f"catalogue and implementations disagree: no function for {missing}, no entry for {orphans}")
    for c in controls.values():
        registry = RESOURCE if c.scope == "resource" else STACK
        if c.id not in registry:
            raise RuntimeError(f"{c.id} is a {c.scope} control but its function is registered as the other kind")
    return controls

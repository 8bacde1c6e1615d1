"""Public JSON Schemas of the documents users write, for editor completion and CI validation.

The models keep catalogue-driven fields (system, cloud, region, zone, environment) as strings so
the rules can give precise messages; the published schema adds the catalogue's values as enums so
editors still offer them.
"""

from __future__ import annotations

import json
from pathlib import Path

from govcloud.tenants.catalogue import Catalogue, load_catalogue
from govcloud.tenants.models import DOCUMENT_KINDS

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_BASE = "https://govcloud.example/schemas/v1/"


def kinds() -> list[str]:
    return list(DOCUMENT_KINDS)


def json_schema(kind: str, cat: Catalogue | None = None) -> dict:
    model = DOCUMENT_KINDS.get(kind) or {k.lower(): v for k, v in DOCUMENT_KINDS.items()}.get(kind.lower())
    if model is None:
        raise KeyError(kind)
    cat = cat or load_catalogue()
    schema = model.model_json_schema(by_alias=True)
    name = next(k for k, v in DOCUMENT_KINDS.items() if v is model)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{SCHEMA_BASE}{name.lower()}.schema.json", **schema}
    enums = {
        "system": sorted(cat.systems),
        "systems": sorted(cat.systems),
        "cloud": sorted(cat.clouds),
        "region": sorted(cat.all_regions),
        "zone": sorted(cat.zones),
        "environment": sorted(cat.environments),
        "environments": sorted(cat.environments),
    }
    _inject_enums(schema, enums)
    return schema


def _inject_enums(node, enums: dict[str, list[str]]) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for key, prop in props.items():
                values = enums.get(key)
                if values and isinstance(prop, dict):
                    if prop.get("type") == "string":
                        prop["enum"] = values
                    elif prop.get("type") == "array" and prop.get("items", {}).get("type") == "string":
                        prop["items"]["enum"] = values
                    elif "anyOf" in prop:
                        for option in prop["anyOf"]:
                            if option.get("type") == "string":
                                option["enum"] = values
        for value in node.values():
            _inject_enums(value, enums)
    elif isinstance(node, list):
        for value in node:
            _inject_enums(value, enums)


def render(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


def published_files() -> dict[Path, str]:
    return {SCHEMA_DIR / f"{k.lower()}.schema.json": render(k) for k in kinds()}

"""Public JSON Schemas of the documents users write, for editor completion and CI validation.

The models keep catalogue-driven fields (system, cloud, region, zone, environment) as strings so
the rules can give precise messages; the published schema adds the catalogue's values as enums so
editors still offer them. Made for editors (yaml-language-server, VS Code): every field has an
English and Japanese title and description (catalogues/fields.yaml), every enum value a
`markdownEnumDescriptions` entry, and what JSON Schema can say across fields (a region belongs to
its cloud) is said with `if`/`then`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from govcloud import yamlio
from govcloud.tenants.catalogue import CATALOGUE_DIR, Catalogue, load_catalogue
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
    docs = field_docs()
    _document(schema, name, docs["fields"])
    _describe_enums(schema, enum_descriptions(cat, docs["enums"]))
    _region_follows_cloud(schema, cat)
    return schema


@functools.cache
def field_docs() -> dict:
    data, _ = yamlio.load_file(CATALOGUE_DIR / "fields.yaml")
    return {"fields": data["fields"], "enums": data.get("enums", {})}


def doc_for(fields: dict, definition: str, prop: str) -> dict | None:
    return fields.get(f"{definition}.{prop}") or fields.get(f"*.{prop}")


def _document(schema: dict, root_name: str, fields: dict) -> None:
    """Title, description and markdownDescription, English then Japanese, on every property."""
    definitions = [(root_name, schema), *schema.get("$defs", {}).items()]
    for definition, node in definitions:
        for prop, sub in node.get("properties", {}).items():
            doc = doc_for(fields, definition, prop)
            if doc is None:
                continue  # tests/tenants/test_schema_docs.py names every undocumented field
            (en_title, en_text), (ja_title, ja_text) = doc["en"], doc["ja"]
            sub["title"] = f"{en_title} / {ja_title}"
            sub["description"] = f"{en_text}\n\n{ja_title}: {ja_text}"
            sub["markdownDescription"] = f"**{en_title}** — {en_text}\n\n**{ja_title}** — {ja_text}"


def enum_descriptions(cat: Catalogue, fixed: dict) -> dict[str, dict[str, str]]:
    """Property name -> {enum value -> markdown text}, from the catalogues and fields.yaml."""
    def both(en: str, ja: str) -> str:
        return f"{ja} / {en}"

    systems = {s.id: both(f"{s.en} ({s.kind}; default zone {s.default_zone})", s.ja) for s in cat.systems.values()}
    regions = {r.id: both(f"{r.en} ({c.id})", r.ja) for c in cat.clouds.values() for r in c.regions}
    zones = {z.id: both(z.en + (" (closed)" if z.closed else ""), z.ja) for z in cat.zones.values()}
    envs = {e.id: both(e.en, e.ja) for e in cat.environments.values()}
    clouds = {c.id: c.name for c in cat.clouds.values()}
    out = {"system": systems, "systems": systems, "region": regions, "zone": zones, "environment": envs,
           "environments": envs, "cloud": clouds}
    for prop, values in fixed.items():
        out[prop] = {value: both(text["en"], text["ja"]) for value, text in values.items()}
    return out


def _describe_enums(node, texts: dict[str, dict[str, str]], prop: str | None = None) -> None:
    if isinstance(node, dict):
        if prop in texts and isinstance(node.get("enum"), list):
            node["markdownEnumDescriptions"] = [texts[prop].get(str(v), str(v)) for v in node["enum"]]
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    _describe_enums(sub, texts, name)
            elif key in ("items", "anyOf", "oneOf", "allOf"):
                _describe_enums(value, texts, prop)
            elif key == "$defs" and isinstance(value, dict):
                for sub in value.values():
                    _describe_enums(sub, texts, None)
    elif isinstance(node, list):
        for value in node:
            _describe_enums(value, texts, prop)


def _region_follows_cloud(schema: dict, cat: Catalogue) -> None:
    """Municipal data stays in Japan, and each cloud has its own regions (catalogues/clouds.yaml):
    an object with both `cloud` and `region` may only pair them as the catalogue does."""
    for node in [schema, *schema.get("$defs", {}).values()]:
        props = node.get("properties", {})
        if "cloud" in props and "region" in props:
            node["allOf"] = [{"if": {"properties": {"cloud": {"const": cloud}}, "required": ["cloud"]},
                              "then": {"properties": {"region": {"enum": cat.regions(cloud)}}}}
                             for cloud in sorted(cat.clouds)]


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
    from govcloud import anchor   # the history anchor's setting (tenants/anchor.yaml; docs/anchor.md)

    files = {SCHEMA_DIR / f"{k.lower()}.schema.json": render(k) for k in kinds()}
    files[SCHEMA_DIR / "historyanchor.schema.json"] = anchor.render_schema()
    return files

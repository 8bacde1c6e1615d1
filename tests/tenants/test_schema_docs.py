"""Every field of every published schema is documented in English and Japanese, every enum value
is described, and the cross-field constraint (a region belongs to its cloud) holds."""

from __future__ import annotations

import jsonschema
import pytest

from govcloud.tenants import schema
from govcloud.tenants.catalogue import load_catalogue


def properties(kind: str):
    published = schema.json_schema(kind)
    for definition, node in [(kind, published), *published.get("$defs", {}).items()]:
        for prop, sub in node.get("properties", {}).items():
            yield f"{definition}.{prop}", sub


@pytest.mark.parametrize("kind", schema.kinds())
def test_every_field_has_english_and_japanese_docs(kind: str) -> None:
    undocumented = [where for where, sub in properties(kind) if "markdownDescription" not in sub]
    assert not undocumented, f"add these to tenants/catalogues/fields.yaml: {undocumented}"
    for where, sub in properties(kind):
        assert " / " in sub["title"] and any("\u3040" <= ch <= "\u9fff" for ch in sub["description"]), where


def enum_nodes(node):
    if isinstance(node, dict):
        if "enum" in node:
            yield node
        for value in node.values():
            yield from enum_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from enum_nodes(value)


@pytest.mark.parametrize("kind", schema.kinds())
def test_every_enum_value_is_described(kind: str) -> None:
    published = schema.json_schema(kind)
    for node in enum_nodes({k: v for k, v in published.items() if k != "allOf"}):
        if node.get("type") == "string" and len(node["enum"]) > 1:
            assert len(node.get("markdownEnumDescriptions", [])) == len(node["enum"]), node


def test_systems_are_described_with_their_japanese_names() -> None:
    system = schema.json_schema("TenantRequest")["$defs"]["TenantRequestSpec"]["properties"]["system"]
    texts = dict(zip(system["enum"], system["markdownEnumDescriptions"]))
    assert "住民基本台帳" in texts["juki"] and "Basic Resident Registration" in texts["juki"]
    assert len([s for s in load_catalogue().systems.values() if s.kind == "standard"]) == 20


@pytest.mark.parametrize("cloud, region, ok", [
    ("aws", "ap-northeast-1", True), ("aws", "ap-northeast-3", True), ("azure", "japanwest", True),
    ("aws", "japaneast", False), ("azure", "ap-northeast-1", False),
])
def test_region_follows_cloud(cloud: str, region: str, ok: bool) -> None:
    spec = schema.json_schema("TenantRequest")
    validator = jsonschema.Draft202012Validator(spec)
    doc = {"apiVersion": "govcloud/v1", "kind": "TenantRequest", "metadata": {"name": "x"},
           "spec": {"vendor": "v", "system": "juki", "usage": "dedicated", "municipalities": ["131016"],
                    "cloud": cloud, "region": region, "environments": ["prod"]}}
    errors = list(validator.iter_errors(doc))
    assert (not errors) == ok, [e.message for e in errors]

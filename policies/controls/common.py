"""Controls that apply to both clouds: Japan-only regions and the tenant tags."""

from __future__ import annotations

import json

from . import resource_control

JAPAN = {"ap-northeast-1", "ap-northeast-3", "japaneast", "japanwest"}
REQUIRED_TAGS = ("municipality", "system", "vendor", "zone", "environment", "tenant")


@resource_control("GC-GEN-REGION-1")
def japan_only(i, ctx):
    for key in ("region", "location"):
        value = i.get(key)
        if isinstance(value, str) and value and value not in JAPAN:
            return f"{key} {value} is outside Japan"
    return None


@resource_control("GC-GEN-TAGS-1")
def required_tags(i, ctx):
    if not ctx.get("tenant") or "tags" not in i:
        return None
    tags = i.get("tags") or {}
    if isinstance(tags, str):
        tags = json.loads(tags)
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    return f"missing tags: {', '.join(missing)}" if missing else None

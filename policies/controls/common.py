"""Controls that apply to both clouds: Japan-only regions and the tenant tags."""

from __future__ import annotations

import json

from . import resource_control

JAPAN = {"ap-northeast-1", "ap-northeast-3", "japaneast", "japanwest"}
REQUIRED_TAGS = ("municipality", "system", "vendor", "zone", "environment", "tenant")


# Where a provider keeps the region every resource it creates is placed in.
PROVIDER_REGION = {"pulumi:providers:aws": "region", "pulumi:providers:azure-native": "location"}


@resource_control("GC-GEN-REGION-1")
def japan_only(i, ctx):
    """A resource's own region/location, and a provider's (which places every resource it
    creates). A provider without one, or a value that is not a region name, cannot be shown to be
    in Japan: it fails."""
    key = PROVIDER_REGION.get(ctx.get("type"))
    if key is not None and i.get(key) is None:
        return f"cannot evaluate: the provider has no {key}"
    for key in ("region", "location"):
        value = i.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            return f"cannot evaluate: {key} is {value!r}, not a region name"
        if value not in JAPAN:
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

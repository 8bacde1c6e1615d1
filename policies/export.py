"""Export plan documents for checkov: AWS resources as Terraform-plan JSON, Azure resources as an
ARM template. Pure functions; `write_exports` is the file effect.

Property names follow each format (Terraform snake_case with nested blocks as lists, ARM's own
shape), so checkov's built-in catalogue reads them. Each resource also carries its original
Pulumi inputs (`govcloud_inputs`) and its type, URN, zone and tenant (`govcloud_meta`), so our controls, loaded into checkov as
external checks, evaluate exactly what `govcloud check` evaluates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from govcloud.fsio import atomic_write
from govcloud.policies.formats import ARM_TOP, ARM_TYPES, TF_MAPS, snake, tf_type

def _tf_value(key: str, value):
    if isinstance(value, dict):
        converted = {snake(k) if key not in TF_MAPS else k: _tf_value(snake(k), v) for k, v in value.items()}
        return converted if key in TF_MAPS else [converted]
    if isinstance(value, list):
        return [_tf_value(key, v) if isinstance(v, dict) else v for v in value]
    return value


def _address(resource: dict, tf: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", resource["urn"].rsplit("::", 1)[-1])
    return f"{tf}.{name}"


def terraform_plan(plan: dict) -> dict | None:
    meta = plan.get("govcloud", {})
    by_urn = {}
    resources, changes, config = [], [], []
    for r in plan["deployment"]["resources"]:
        tf = tf_type(r["type"]) if r.get("custom") else None
        if tf:
            by_urn[r["urn"]] = _address(r, tf)
    for r in plan["deployment"]["resources"]:
        address = by_urn.get(r["urn"])
        if address is None:
            continue
        tf, name = address.split(".", 1)
        values = {snake(k): _tf_value(snake(k), v) for k, v in (r.get("inputs") or {}).items()}
        values["govcloud_inputs"] = json.dumps(r.get("inputs") or {}, sort_keys=True)
        values["govcloud_meta"] = _meta(r, meta)
        common = {"address": address, "mode": "managed", "type": tf, "name": name,
                  "provider_name": "registry.terraform.io/hashicorp/aws"}
        resources.append({**common, "values": values})
        changes.append({**common, "change": {"actions": ["create"], "before": None, "after": values}})
        # References from Pulumi's property dependencies, so checkov's connection (graph) checks work.
        expressions = {}
        for prop, urns in (r.get("propertyDependencies") or {}).items():
            refs = [by_urn[u] for u in urns if u in by_urn]
            if refs:
                expressions[snake(prop)] = {"references": [f"{ref}.id" for ref in refs] + refs}
        config.append({"address": address, "mode": "managed", "type": tf, "name": name,
                       "provider_config_key": "aws", "expressions": expressions})
    if not resources:
        return None
    return {"format_version": "1.2", "terraform_version": "1.9.0",
            "planned_values": {"root_module": {"resources": resources}},
            "resource_changes": changes, "configuration": {"root_module": {"resources": config}}}


def arm_template(plan: dict) -> dict | None:
    meta = plan.get("govcloud", {})
    resources = []
    for r in plan["deployment"]["resources"]:
        arm = ARM_TYPES.get(r["type"])
        if not arm or not r.get("custom"):
            continue
        inputs = dict(r.get("inputs") or {})
        props = dict(inputs.pop("properties", {}) or {})
        top = {k: inputs.pop(k) for k in list(inputs) if k in ARM_TOP}
        props.update({k: v for k, v in inputs.items() if not k.endswith("Name")})
        if arm == "Microsoft.Network/networkSecurityGroups":
            props["securityRules"] = [{"name": rule.get("name"), "properties": {k: v for k, v in rule.items() if k != "name"}}
                                      for rule in props.get("securityRules", [])]
        own_name = next((v for k, v in sorted(r.get("inputs", {}).items()) if k.endswith("Name") and k not in
                         ("resourceGroupName", "virtualHubName", "networkWatcherName", "displayName") and isinstance(v, str)), None)
        resources.append({"type": arm, "apiVersion": "2023-09-01", "name": own_name or r["urn"].rsplit("::", 1)[-1], **top,
                          "properties": props, "govcloud_inputs": json.dumps(r.get("inputs") or {}, sort_keys=True),
                          "govcloud_meta": _meta(r, meta)})
    if not resources:
        return None
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": resources}


def _meta(resource: dict, plan_meta: dict) -> str:
    # One JSON string attribute: checkov silently drops every resource when an attribute is named
    # like `govcloud_type`, so the Pulumi type, zone, tenant and URN travel together.
    return json.dumps({"type": resource["type"], "urn": resource["urn"], "zone": plan_meta.get("zone") or "",
                       "tenant": plan_meta.get("tenant") or ""}, sort_keys=True)


def export_documents(plans: list[dict]) -> list[tuple[str, str, dict]]:
    """(stack, file suffix, document) for every plan with resources checkov reads."""
    documents = []
    for plan in plans:
        stack = plan.get("govcloud", {}).get("stack", "stack")
        for suffix, doc in (("tfplan.json", terraform_plan(plan)), ("arm.json", arm_template(plan))):
            if doc is not None:
                documents.append((stack, suffix, doc))
    return documents


def exported_resources(doc: dict) -> list[tuple[str, dict]]:
    """(the address checkov reports, govcloud meta) for each resource of an exported document, in order."""
    if "planned_values" in doc:
        return [(r["address"], json.loads(r["values"]["govcloud_meta"])) for r in doc["planned_values"]["root_module"]["resources"]]
    return [(f"{r['type']}.{r['name']}", json.loads(r["govcloud_meta"])) for r in doc.get("resources", [])]


def write_exports(plans: list[dict], out_dir: Path) -> list[Path]:
    written = []
    for stack, suffix, doc in export_documents(plans):
        path = out_dir / f"{stack}.{suffix}"
        atomic_write(path, json.dumps(doc, ensure_ascii=False, sort_keys=True))
        written.append(path)
    return written

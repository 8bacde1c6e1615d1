"""govcloud's resource controls as checkov external checks (`--external-checks-dir policies/checkov_checks`).

Loaded by checkov in its own environment: the control functions and mappings are imported by
path. Each check evaluates the resource's original Pulumi inputs (carried by the export as
`govcloud_inputs`) with the same function and the same applicability rules as `govcloud check`.
"""

import json
import sys
from pathlib import Path

POLICIES = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(POLICIES))

import yaml  # noqa: E402  (checkov depends on PyYAML)
from checkov.arm.base_resource_check import BaseResourceCheck as ArmResourceCheck  # noqa: E402
from checkov.common.models.enums import CheckCategories, CheckResult  # noqa: E402
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck as TfResourceCheck  # noqa: E402

import controls  # noqa: E402
from formats import ARM_TYPES, tf_type  # noqa: E402

controls.load_all()


def check_id(control_id: str) -> str:
    return control_id.replace("-", "_")


def _one(value):
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _evaluate(control: dict, conf: dict):
    raw = _one(conf.get("govcloud_inputs"))
    if not raw:
        return CheckResult.UNKNOWN
    inputs = json.loads(raw)
    meta = json.loads(_one(conf.get("govcloud_meta")) or "{}")
    pulumi_type = meta.get("type", "")
    zone = meta.get("zone") or None
    if not controls.applies(control["cloud"], control["types"], control.get("zones"), pulumi_type, zone):
        return CheckResult.PASSED
    ctx = {"type": pulumi_type, "zone": zone, "tenant": meta.get("tenant") or None}
    message = controls.RESOURCE[control["id"]](inputs, ctx)
    return CheckResult.FAILED if message else CheckResult.PASSED


def _make(control: dict, base, resources: list[str]):
    def __init__(self):
        base.__init__(self, name=control["en"], id=check_id(control["id"]),
                      categories=[CheckCategories.GENERAL_SECURITY], supported_resources=resources)

    def scan_resource_conf(self, conf):
        return _evaluate(control, conf)

    return type(f"{check_id(control['id'])}_{base.__module__.split('.')[1]}", (base,),
                {"__init__": __init__, "scan_resource_conf": scan_resource_conf})


CATALOGUE = yaml.safe_load((POLICIES / "catalogue.yaml").read_text(encoding="utf-8"))["controls"]
checks = []
for control in CATALOGUE:
    if control["scope"] != "resource":
        continue  # stack controls ("the account must have X") run in govcloud check only
    if control["cloud"] in ("aws", "any"):
        types = ["aws_*"] if "*" in control["types"] else sorted({t for t in map(tf_type, control["types"]) if t})
        if types:
            checks.append(_make(control, TfResourceCheck, types)())
    if control["cloud"] in ("azure", "any"):
        types = ["Microsoft.*"] if "*" in control["types"] else sorted({ARM_TYPES[t] for t in control["types"] if t in ARM_TYPES})
        if types:
            checks.append(_make(control, ArmResourceCheck, types)())

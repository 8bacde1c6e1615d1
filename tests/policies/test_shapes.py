"""Stack shapes: identity is renamed away, everything a check reads is kept, and checkov's findings on
a shape fan back out to exactly the findings checkov gives on each member's own file."""

import copy
import ipaddress
import json
import re
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from govcloud.policies.checkov_runner import CHECKS_DIR, group_by_shape, run_checkov, skips
from govcloud.policies.export import exported_resources, terraform_plan, write_exports
from govcloud.policies.shapes import _rename_private_addresses, canonical_form
from tests.plans import sample_plan
from tests.policies.test_checkov import checkov  # noqa: F401  (fixture)
from tests.conftest import examples

BASE = "tenant-131016-juki-prod"


def clone(plan: dict, code: str, account: str) -> dict:
    """The same tenant for another municipality in another account, at another address."""
    text = json.dumps(plan)
    old_account = re.search(r"arn:aws:iam::([0-9]{12}):", text).group(1)
    text = text.replace("131016", code).replace(old_account, account)
    text = re.sub(r"\b10\.(\d+)\.(\d+)\.(\d+)", lambda m: f"10.{(int(m.group(1)) + 37) % 256}.{m.group(2)}.{m.group(3)}", text)
    return json.loads(text)


def test_same_template_other_identity_is_one_shape():
    a = terraform_plan(sample_plan(BASE))
    b = terraform_plan(clone(sample_plan(BASE), "131024", "210987654321"))
    assert json.dumps(a) != json.dumps(b)
    assert canonical_form(a).digest == canonical_form(b).digest
    assert canonical_form(a).renamed


def test_anything_a_check_reads_makes_another_shape():
    base = canonical_form(terraform_plan(sample_plan(BASE))).digest
    for path, value in (("enable_log_file_validation", False), ("is_multi_region_trail", False)):
        plan = copy.deepcopy(sample_plan(BASE))
        doc = terraform_plan(plan)
        trail = next(r for r in doc["planned_values"]["root_module"]["resources"] if r["type"] == "aws_cloudtrail")
        trail["values"][path] = value
        assert canonical_form(doc).digest != base, path
    plan = copy.deepcopy(sample_plan(BASE))
    rule = next(r for r in plan["deployment"]["resources"] if r["type"].endswith("SecurityGroupIngressRule"))
    rule["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    assert canonical_form(terraform_plan(plan)).digest != base
    other_region = json.loads(json.dumps(sample_plan(BASE)).replace("ap-northeast-1", "ap-northeast-3"))
    assert canonical_form(terraform_plan(other_region)).digest != base


def test_a_document_holding_a_placeholder_is_checked_verbatim():
    doc = terraform_plan(sample_plan(BASE))
    doc["planned_values"]["root_module"]["resources"][0]["values"]["description"] = "gcshape0x"
    shape = canonical_form(doc)
    assert not shape.renamed and shape.text == json.dumps(doc, ensure_ascii=False, sort_keys=True)


networks = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False),
                     st.integers(int(ipaddress.ip_address("10.0.0.0")), int(ipaddress.ip_address("10.255.255.255"))),
                     st.integers(8, 32))


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(networks, min_size=1, max_size=12, unique=True))
def test_private_addresses_keep_length_containment_and_disjointness(nets):
    text = json.dumps([str(n) for n in nets] + ["0.0.0.0/0", "203.0.113.0/24"])
    renamed = json.loads(_rename_private_addresses(text))
    moved = [ipaddress.ip_network(n) for n in renamed[:-2]]
    assert renamed[-2:] == ["0.0.0.0/0", "203.0.113.0/24"]          # public addresses are never touched
    assert [m.prefixlen for m in moved] == [n.prefixlen for n in nets]
    assert len(set(moved)) == len(nets)                              # injective
    for i, a in enumerate(nets):
        for j, b in enumerate(nets):
            assert a.subnet_of(b) == moved[i].subnet_of(moved[j])
            assert a.overlaps(b) == moved[i].overlaps(moved[j])


def test_fan_out_equals_checkov_on_every_file(checkov, tmp_path):  # noqa: F811
    broken = clone(sample_plan(BASE), "131032", "222233334444")
    for r in broken["deployment"]["resources"]:
        if r["type"] == "aws:cloudtrail/trail:Trail":
            r["inputs"]["enableLogFileValidation"] = False
    plans = [sample_plan(BASE), clone(sample_plan(BASE), "131024", "210987654321"), broken,
             sample_plan("tenant-minato-data-kokuho-prod")]
    for plan in plans[1:3]:
        plan["govcloud"]["stack"] = plan["govcloud"]["stack"].replace("131016", plan["govcloud"]["tenant"][:6])
    assert len(group_by_shape(plans)) == 3                            # two members share one shape

    result = run_checkov(plans, checkov)
    assert result.documents == 4 and result.shapes == 3 and result.scanned < result.resources
    ours = {(f.control, f.resource) for f in result.findings} | result.ours

    write_exports(plans, tmp_path)
    proc = subprocess.run([checkov, "-d", str(tmp_path), "--framework", "terraform_plan", "arm", "--external-checks-dir",
                           str(CHECKS_DIR), "--skip-check", ",".join(sorted(skips())), "-o", "json", "--quiet",
                           "--skip-download", "--compact"], capture_output=True, text=True, timeout=600)
    index = {(p.name, address): meta["urn"] for p in tmp_path.glob("*.json")
             for address, meta in exported_resources(json.loads(p.read_text()))}
    reports = json.loads(proc.stdout)
    direct = {(f["check_id"].replace("_", "-") if f["check_id"].startswith("GC_") else f["check_id"],
               index[(Path(f["file_path"]).name, f["resource"])])
              for report in (reports if isinstance(reports, list) else [reports])
              for f in report["results"]["failed_checks"]}
    assert ours == direct
    assert any(c == "GC-AWS-CT-2" and "131032" in urn for c, urn in ours)
    assert not any(c == "GC-AWS-CT-2" and "131024" in urn for c, urn in ours)

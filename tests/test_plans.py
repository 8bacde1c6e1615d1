"""The plan contract (govcloud.plans), the one reader of plan documents: real plans read back as
typed documents; anything that is not a plan, or a plan that proves nothing, is refused with file,
line, field and one of the codes GC100/GC106 (not JSON, over a limit) or GC901–GC904."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcloud import plans
from govcloud.diagnostics import DiagnosticError, UsageError
from tests.plans import sample_plan
from tests.conftest import examples

STACK = "tenant-131016-juki-prod"


@pytest.fixture(scope="module")
def real() -> dict:
    return sample_plan(STACK)


def write(folder: Path, name: str, doc) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(doc if isinstance(doc, str) else plans.render_plan(doc), encoding="utf-8")
    return path


def refused(path: Path) -> list:
    with pytest.raises(DiagnosticError) as err:
        plans.read_plan(path)
    return err.value.diagnostics


def test_stack_names() -> None:
    assert plans.tenant_stack("131016-juki-prod") == STACK
    assert plans.tenant_of(STACK) == "131016-juki-prod"
    assert plans.tenant_of("network") is None and plans.tenant_of("tenant-") is None
    assert plans.is_stack_name("foundation") and not plans.is_stack_name("tenants")


def test_a_real_plan_reads_back_typed_and_unchanged(tmp_path: Path, real: dict) -> None:
    doc = plans.read_plan(write(tmp_path, "p.json", real))
    assert doc.stack == STACK and doc.source == tmp_path / "p.json"
    assert len(doc.resources) == len(real["deployment"]["resources"])
    assert doc.of_type("aws:organizations/account:Account")[0].inputs["email"]
    again = doc.as_json()
    for before, after in zip(real["deployment"]["resources"], again["deployment"]["resources"]):
        assert {k: after[k] for k in before} == before
        assert all(after[k] in ([], {}) for k in set(after) - set(before))


def test_a_plan_without_its_govcloud_section_is_refused(tmp_path: Path, real: dict) -> None:
    (d,) = refused(write(tmp_path, "p.json", {k: v for k, v in real.items() if k != "govcloud"}))
    assert "no `govcloud` section" in d.message and d.code == "GC902"


def test_a_stack_with_no_resources_is_refused(tmp_path: Path, real: dict) -> None:
    empty = {**real, "deployment": {**real["deployment"], "resources": []}}
    (d,) = refused(write(tmp_path, "p.json", empty))
    assert "has no resources" in d.message and d.field == "deployment.resources" and d.code == "GC903"
    assert d.line > 1     # the line of the field, not 1:1


def test_wrong_types_name_the_field_and_line(tmp_path: Path, real: dict) -> None:
    broken = json.loads(json.dumps(real))
    broken["deployment"]["resources"][2]["custom"] = "yes"
    path = write(tmp_path, "p.json", broken)
    diags = refused(path)
    (d,) = [d for d in diags if d.field == "deployment.resources[2].custom"]
    assert d.code == "GC901" and path.read_text().splitlines()[d.line - 1].strip().startswith('"custom": "yes"'), diags


def test_what_a_control_needs_is_named_at_its_line(tmp_path: Path, real: dict) -> None:
    broken = json.loads(json.dumps(real))
    i = next(i for i, r in enumerate(broken["deployment"]["resources"]) if r["custom"])
    del broken["deployment"]["resources"][i]["inputs"]
    broken["govcloud"]["zone"] = None
    broken["deployment"]["resources"].append(broken["deployment"]["resources"][i])
    path = write(tmp_path, "p.json", broken)
    lines = path.read_text().splitlines()
    by_field = {d.field: d for d in refused(path)}
    assert by_field["govcloud.zone"].code == "GC904" and '"zone"' in lines[by_field["govcloud.zone"].line - 1]
    assert by_field[f"deployment.resources[{i}].inputs"].code == "GC904"
    dup = by_field[f"deployment.resources[{len(broken['deployment']['resources']) - 1}].urn"]
    assert dup.code == "GC901" and "appears twice" in dup.message and '"urn"' in lines[dup.line - 1]


def _index(doc: dict, pred) -> int:
    return next(i for i, r in enumerate(doc["deployment"]["resources"]) if pred(r))


@pytest.mark.parametrize("type_", ["aws:cloudtrail/trail:Trail", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                   "pulumi:providers:aws", "pulumi:pulumi:StackReference"])
def test_a_provider_resource_marked_non_custom_is_refused(tmp_path: Path, real: dict, type_: str) -> None:
    """Only the stack and govcloud's components are `custom: false`; a cloud resource marked so
    would have passed every control unjudged."""
    broken = json.loads(json.dumps(real))
    i = _index(broken, lambda r: r["type"] == type_)
    broken["deployment"]["resources"][i]["custom"] = False
    path = write(tmp_path, "p.json", broken)
    (d,) = refused(path)
    urn = broken["deployment"]["resources"][i]["urn"]
    assert d.code == "GC901" and d.field == f"deployment.resources[{i}].custom" and urn in d.message
    assert '"custom": false' in path.read_text().splitlines()[d.line - 1]


def test_the_stack_and_components_may_be_non_custom(real: dict) -> None:
    kinds = {r["type"] for r in real["deployment"]["resources"] if not r["custom"]}
    assert kinds and all(plans.is_component(t) for t in kinds)
    assert "pulumi:pulumi:Stack" in kinds and any(t.startswith("govcloud:") for t in kinds)
    assert not plans.is_component("aws:ec2/vpc:Vpc") and not plans.is_component("pulumi:providers:aws")


def test_a_non_custom_resource_without_inputs_is_refused_too(tmp_path: Path, real: dict) -> None:
    broken = json.loads(json.dumps(real))
    i = _index(broken, lambda r: r["type"] == "aws:kms/key:Key")
    broken["deployment"]["resources"][i]["custom"] = False
    del broken["deployment"]["resources"][i]["inputs"]
    codes = {(d.code, d.field) for d in refused(write(tmp_path, "p.json", broken))}
    assert codes == {("GC901", f"deployment.resources[{i}].custom"), ("GC904", f"deployment.resources[{i}].inputs")}


@pytest.mark.parametrize("reference", ["urn:nope::x", "",
                                       "urn:pulumi:tenant-131016-juki-prod::govcloud::pulumi:pulumi:Stack::govcloud-tenant-131016-juki-prod::id"])
def test_a_provider_reference_that_is_not_a_provider_of_the_plan_is_refused(tmp_path: Path, real: dict, reference: str) -> None:
    """The provider decides a resource's region: one not in the plan leaves it unknown."""
    broken = json.loads(json.dumps(real))
    i = _index(broken, lambda r: r["type"] == "aws:cloudtrail/trail:Trail")
    broken["deployment"]["resources"][i]["provider"] = reference
    (d,) = refused(write(tmp_path, "p.json", broken))
    assert d.code == "GC904" and d.field == f"deployment.resources[{i}].provider" and "region cannot be known" in d.message


@pytest.mark.parametrize("text, expect, code", [
    ("", "invalid JSON", "GC100"),
    ("{", "invalid JSON", "GC100"),
    ('{"a": 1, "a": 2}', "duplicate key", "GC100"),
    ('{"a": NaN}', "not a JSON number", "GC100"),
    ("[1, 2]", "not a plan document", "GC901"),
    ('{"deployment": {"resources": []}}', "no `govcloud` section", "GC902"),
    ("[" * 100_000 + "]" * 100_000, "nested deeper", "GC106"),
])
def test_garbage_is_a_diagnostic(tmp_path: Path, text: str, expect: str, code: str) -> None:
    diags = refused(write(tmp_path, "p.json", text))
    assert any(expect in d.message and d.code == code for d in diags), diags   # the first problem, maybe more


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'{"a": "\xff"}')
    (d,) = refused(path)
    assert "not UTF-8" in d.message


def test_a_wrong_stack_name_or_version(tmp_path: Path, real: dict) -> None:
    bad = {**real, "version": 2, "govcloud": {**real["govcloud"], "stack": "tenants"}}
    diags = refused(write(tmp_path, "p.json", bad))
    messages = " ".join(d.message for d in diags)
    assert "plan version 2" in messages and "'tenants' is not a stack name" in messages
    assert {d.code for d in diags} == {"GC901"}
    other = {**real, "govcloud": {**real["govcloud"], "tenant": "131016-koseki-prod"}}
    (d,) = refused(write(tmp_path, "p.json", other))
    assert d.field == "govcloud.tenant" and "builds '131016-juki-prod'" in d.message


def test_folders_fail_closed(tmp_path: Path, real: dict) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        plans.read_plan_folder(tmp_path / "missing")
    write(tmp_path / "only-index", "index.json", {"version": 1, "stacks": {}})
    with pytest.raises(DiagnosticError, match="only an index") as err:
        plans.read_plan_folder(tmp_path / "only-index")
    assert err.value.diagnostics[0].code == "GC903"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiagnosticError, match="no plan documents"):
        plans.read_plan_folder(tmp_path / "empty")
    twice = tmp_path / "twice"
    write(twice, "a.json", real)
    write(twice, "b.json", real)
    with pytest.raises(DiagnosticError, match="planned twice") as err:
        plans.read_plan_folder(twice)
    (d,) = err.value.diagnostics
    assert d.field == "govcloud.stack" and '"stack"' in (twice / "b.json").read_text().splitlines()[d.line - 1]
    seen = []
    with pytest.raises(DiagnosticError):
        plans.read_plan_folder(twice, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]     # every file counted, the refused one too
    write(twice, "b.json", "not json")
    with pytest.raises(DiagnosticError) as err:  # every problem at once
        plans.read_plan_folder(twice)
    assert [Path(d.path).name for d in err.value.diagnostics] == ["b.json"]


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
                        st.sampled_from(["version", "deployment", "govcloud", "resources", "urn", "custom", "type",
                                         "inputs", "stack", "summary", "mode", "inputsHash", "x"]), kids, max_size=4),
                    max_leaves=20))
def test_fuzz_only_diagnostics(tmp_path: Path, value) -> None:
    path = write(tmp_path, "fuzz.json", json.dumps(value))
    try:
        plans.read_plan(path)
    except DiagnosticError as exc:
        assert all(d.path == str(path) and d.line >= 1 for d in exc.diagnostics)
        assert {d.code for d in exc.diagnostics} <= {"GC100", "GC106", "GC901", "GC902", "GC903", "GC904"}


def test_positions_agree_with_the_yaml_reader(real: dict) -> None:
    """json_positions (fast, iterative) finds every field where the YAML reader would."""
    from govcloud import yamlio

    text = plans.render_plan(real)
    assert yamlio.json_positions(text) == yamlio.load_text(text, "p.json")[1]
    compact = json.dumps({"a": [1, {"b": 'x"y', "c": [[], {}]}], "d": -1.5e3, "e": None})
    assert yamlio.json_positions(compact) == yamlio.load_text(compact, "p.json")[1]
    assert yamlio.json_positions("[[[") == {(): (1, 1), (0,): (1, 2), (0, 0): (1, 3)}   # not JSON: what was found

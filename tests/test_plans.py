"""The plan contract (govcloud.plans): real plans read back as typed documents; anything that is not
a plan, or a plan that proves nothing, is refused with file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcloud import plans
from govcloud.diagnostics import DiagnosticError, UsageError
from tests.plans import sample_plan

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
    assert "no `govcloud` section" in d.message


def test_a_stack_with_no_resources_is_refused(tmp_path: Path, real: dict) -> None:
    empty = {**real, "deployment": {**real["deployment"], "resources": []}}
    (d,) = refused(write(tmp_path, "p.json", empty))
    assert "has no resources" in d.message and d.field == "deployment.resources"


def test_wrong_types_name_the_field_and_line(tmp_path: Path, real: dict) -> None:
    broken = json.loads(json.dumps(real))
    broken["deployment"]["resources"][2]["custom"] = "yes"
    diags = refused(write(tmp_path, "p.json", broken))
    assert any(d.field == "deployment.resources[2].custom" and d.line > 1 for d in diags), diags


@pytest.mark.parametrize("text, expect", [
    ("", "invalid JSON"),
    ("{", "invalid JSON"),
    ("[1, 2]", "not a plan document"),
    ('{"deployment": {"resources": []}}', "no `govcloud` section"),
    ("[" * 100_000 + "]" * 100_000, "not a plan document"),
])
def test_garbage_is_a_diagnostic(tmp_path: Path, text: str, expect: str) -> None:
    (d,) = refused(write(tmp_path, "p.json", text))
    assert expect in d.message and d.code == "GC600"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'{"a": "\xff"}')
    (d,) = refused(path)
    assert "not UTF-8" in d.message


def test_a_wrong_stack_name_or_version(tmp_path: Path, real: dict) -> None:
    bad = {**real, "version": 2, "govcloud": {**real["govcloud"], "stack": "tenants"}}
    messages = " ".join(d.message for d in refused(write(tmp_path, "p.json", bad)))
    assert "plan version 2" in messages and "'tenants' is not a stack name" in messages


def test_folders_fail_closed(tmp_path: Path, real: dict) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        plans.read_plan_folder(tmp_path / "missing")
    write(tmp_path / "only-index", "index.json", {"version": 1, "stacks": {}})
    with pytest.raises(UsageError, match="only an index"):
        plans.read_plan_folder(tmp_path / "only-index")
    twice = tmp_path / "twice"
    write(twice, "a.json", real)
    write(twice, "b.json", real)
    with pytest.raises(DiagnosticError, match="planned twice"):
        plans.read_plan_folder(twice)
    write(twice, "b.json", "not json")
    with pytest.raises(DiagnosticError) as err:  # every problem at once
        plans.read_plan_folder(twice)
    assert [Path(d.path).name for d in err.value.diagnostics] == ["b.json"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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

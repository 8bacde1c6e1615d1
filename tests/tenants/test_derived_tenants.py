"""Tenant documents are derived, not trusted (issue 19 part 2): every field of an applied tenant
must be what its applied request, its allocation and the recorded events produce. Each attack is a
plain file edit with no key at all, as a hostile vendor or insider would make it; `validate` and
the next write refuse it with the file, the line and the field (GC620), nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcloud.diagnostics import DiagnosticError
from govcloud.tenants import derived, ledger
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace
from tests.conftest import approve_args, tree_snapshot

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"
JUKI = "tenants/active/131016-juki-prod.yaml"
KOKUHO = "tenants/active/minato-data-kokuho-prod.yaml"

# (tenant file, text replaced, replacement, the changed line as written, the field reported)
ATTACKS = {
    "municipality code added": (JUKI, "  - '131016'\n", "  - '131016'\n  - '132012'\n", "  - '132012'",
                                "spec.municipalities[1]"),
    "published port changed": (JUKI, "      port: 443\n", "      port: 22\n", "      port: 22",
                               "spec.apis.publishes[0].port"),
    "published protocol changed": (JUKI, "      protocol: https\n", "      protocol: tcp\n", "      protocol: tcp",
                                   "spec.apis.publishes[0].protocol"),
    "zone changed": (JUKI, "\n  zone: mynumber\n", "\n  zone: internet\n", "  zone: internet", "spec.zone"),
    "zone label changed": (JUKI, "    zone: mynumber\n", "    zone: lgwan\n", "    zone: lgwan", "metadata.labels.zone"),
    "region changed": (JUKI, "  region: ap-northeast-1\n", "  region: ap-northeast-3\n", "  region: ap-northeast-3",
                       "spec.region"),
    "annotation added": (JUKI, "  annotations: {}\n", "  annotations:\n    owner: mallory\n", "    owner: mallory",
                         "metadata.annotations.owner"),
    "applied time moved": (JUKI, "  appliedAt: '2026-04-01T09:00:00Z'\n", "  appliedAt: '2026-05-01T09:00:00Z'\n",
                           "  appliedAt: '2026-05-01T09:00:00Z'", "status.appliedAt"),
    "consumed API added": (KOKUHO, "    - tenant: 131016-juki\n      api: juki-api\n",
                           "    - tenant: 131016-juki\n      api: juki-api\n    - tenant: 141003-koseki\n"
                           "      api: koseki-api\n", "    - tenant: 141003-koseki", "spec.apis.consumes[1]"),
    "municipality removed from a shared tenant": (KOKUHO, "  - '011002'\n", "", "  - '271004'",
                                                   "spec.municipalities[1]"),
}


def edit(ws: Path, rel: str, old: str, new: str) -> None:
    path = ws / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(ws: Path, rel: str, line: str) -> int:
    return (ws / rel).read_text(encoding="utf-8").splitlines().index(line) + 1


def refused(proc, *needles):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_hand_edit_of_an_applied_tenant_is_found_in_process(ws, attack):
    """The ledger (what validate and every write run) names the file, line and field."""
    rel, old, new, changed, field = ATTACKS[attack]
    edit(ws, rel, old, new)
    w = Workspace(ws)
    _, found = ledger.problems(w, load_registry(w))
    ours = [d for d in found if d.code == "GC620"]
    assert [d.field for d in ours] == [field], found
    assert ours[0].path.endswith(rel) and ours[0].line == line_of(ws, rel, changed), ours
    assert "edited by hand" in ours[0].message


@pytest.mark.parametrize("attack", ["municipality code added", "published port changed"])
def test_the_issue_19_edits_fail_validate_and_the_next_write(ws, run, attack):
    rel, old, new, changed, field = ATTACKS[attack]
    assert run("validate").returncode == 0       # before the edit: valid
    edit(ws, rel, old, new)
    where = f"{rel}:{line_of(ws, rel, changed)}:"
    refused(run("validate"), where, "error[GC620]", f"(field {field})")
    refused(run("history", "verify"), where, "GC620")
    before = tree_snapshot(ws)
    refused(run(*approve_args(EXAMPLE, "platform")), where, "GC620")
    assert tree_snapshot(ws) == before


def test_a_removed_tenant_file_is_found(ws, run):
    (ws / JUKI).unlink()
    refused(run("validate"), "131016-juki-prod", "is missing: it was deleted by hand")
    before = tree_snapshot(ws)
    refused(run(*approve_args(EXAMPLE, "platform")), "GC602")
    assert tree_snapshot(ws) == before


@pytest.mark.parametrize("how", ["no status", "another tenant's entry", "renamed copy"])
def test_a_tenant_file_no_apply_produced_is_refused(ws, run, how):
    """A tenant added by hand: without status, pointing at an entry that created other tenants, or
    a copy of a real tenant under a name its request does not make."""
    text = (ws / JUKI).read_text(encoding="utf-8")
    forged = text.replace("131016-juki-prod", "132012-juki-prod").replace("'131016'", "'132012'")
    if how == "no status":
        forged = forged[: forged.index("status:")]
    elif how == "renamed copy":
        forged = text.replace("name: 131016-juki-prod", "name: 131016-juki-dev").replace(
            "environment: prod", "environment: dev")
    target = ws / ("tenants/active/131016-juki-dev.yaml" if how == "renamed copy" else "tenants/active/132012-juki-prod.yaml")
    target.write_text(forged, encoding="utf-8")
    proc = run("validate")
    refused(proc, target.name)
    assert "GC602" in proc.stderr or "GC620" in proc.stderr
    before = tree_snapshot(ws)
    refused(run(*approve_args(EXAMPLE, "platform")), target.name)
    assert tree_snapshot(ws) == before


def test_apply_writes_exactly_the_derivation(ws, run):
    """What apply writes is what the ledger derives: an honest apply passes, field by field."""
    run(*approve_args(EXAMPLE, "platform"), check=True)
    run(*approve_args(EXAMPLE, "132012"), check=True)
    run("request", "apply", EXAMPLE, check=True)
    w = Workspace(ws)
    reg = load_registry(w)
    _, found = ledger.problems(w, reg)
    assert not [d for d in found if d.severity == "error"], found
    assert "132012-juki-prod" in reg.tenants
    import json

    applied = [json.loads(r) for r in (ws / "tenants/history.jsonl").read_text().splitlines()][-1]
    assert applied["event"] == "request.applied"
    assert applied["data"]["zones"] == {name: "mynumber" for name in applied["data"]["tenants"]}


# --- property: any change of any field of any applied tenant is found ---------------------------------


def _leaves(data, loc=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, loc + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _leaves(v, loc + (i,))
    else:
        yield loc, data


def _changed(value, salt: int):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 + salt
    return f"{value}x{salt}" if salt % 2 else f"0{value}"


TENANTS = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "tenants" / "active").glob("*.yaml"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_field_of_any_tenant_is_reported_at_that_field(tmp_path_factory, data):
    """Oracle: the derivation of the untouched sample (`derived.as_data`) differs from the edited
    document exactly at the edited leaf, so the ledger must report exactly that field (or refuse
    the document outright when the new value is not of its type)."""
    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("prop") / "ws"
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    name = data.draw(st.sampled_from(TENANTS))
    path = root / "tenants" / "active" / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    leaves = [(loc, v) for loc, v in _leaves(doc) if loc[:1] in (("metadata",), ("spec",), ("status",))]
    loc, value = data.draw(st.sampled_from(leaves))
    salt = data.draw(st.integers(0, 9))
    target = doc
    for part in loc[:-1]:
        target = target[part]
    target[loc[-1]] = _changed(value, salt)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    w = Workspace(root)
    try:
        reg = load_registry(w)
    except DiagnosticError as exc:                  # not of the field's type or pattern: refused anyway
        assert any(d.path.endswith(name) for d in exc.diagnostics)
        return
    _, found = ledger.problems(w, reg)
    errors = [d for d in found if d.severity == "error"]
    assert errors, (name, loc)
    reported = {d.field for d in errors if d.path.endswith(name)}
    from govcloud.diagnostics import dotted

    if loc[:1] == ("metadata",) and loc[1:2] == ("name",):
        return                                      # the file name no longer matches: refused either way
    assert dotted(loc) in reported or reported & {"status.historyEntry", "spec.request", "status.requestDigest",
                                                  "spec.network.cidr", "metadata.name"}, (name, loc, errors)


def test_differences_reports_every_leaf():
    assert list(derived.differences({"a": [1, 2], "b": {"c": 1}}, {"a": [1], "b": {"c": 2}, "d": 0})) == [
        (("a", 1), 2, derived.differences.MISSING), (("b", "c"), 1, 2), (("d",), derived.differences.MISSING, 0)]
    assert list(derived.differences({"p": 443}, {"p": 443})) == []
    assert list(derived.differences({"p": True}, {"p": 1}))          # a bool is not a number


@pytest.mark.parametrize("attack", ["municipality code added", "published port changed"])
def test_the_issue_19_edits_stop_a_deploy(planned_ws, run, attack):
    """`govcloud up` holds the workspace to the ledger before it plans: nothing nobody signed is
    deployed (before, it planned and previewed the edited tenant)."""
    rel, old, new, changed, field = ATTACKS[attack]
    edit(planned_ws, rel, old, new)
    where = f"{rel}:{line_of(planned_ws, rel, changed)}:"
    refused(run("up", "tenant-131016-juki-prod", "--yes"), where, "GC620")

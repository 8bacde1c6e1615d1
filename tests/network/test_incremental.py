"""Incremental re-verification gives exactly what a full verification gives."""

import copy

from hypothesis import given, settings, strategies as st

from govcloud.network.compile import Compiled, compile_network
from govcloud.network.fabric import load_fabrics
from govcloud.network.pipeline import workspace_intent, write_compiled
from govcloud.network.verify import verify
from govcloud.workspace import Workspace
from tests.conftest import REPO, examples

COMPILED = compile_network(workspace_intent(Workspace(REPO)))
CIDRS = ["172.16.0.0/20", "172.17.0.0/20", "10.40.0.0/24", "10.16.0.0/24", "10.64.0.0/24", "0.0.0.0/0", "203.0.113.0/28"]


def summary(report):
    return (sorted((v.invariant, v.layer, v.source, v.destination, v.message) for v in report.violations),
            sorted((r.source, r.destination, r.protocol, r.port) for r in report.reachable))


@settings(max_examples=examples(40), deadline=None)
@given(tenant=st.sampled_from(sorted(COMPILED.files["tenants.json"])), cidr=st.sampled_from(CIDRS),
       port=st.sampled_from([443, 8443]), kind=st.sampled_from(["add-ingress", "add-egress", "drop-all"]))
def test_incremental_equals_full(tmp_path_factory, tenant, cidr, port, kind):
    base_dir, changed_dir = tmp_path_factory.mktemp("base"), tmp_path_factory.mktemp("changed")
    write_compiled(base_dir, COMPILED)
    files = copy.deepcopy(COMPILED.files)
    entry = files["tenants.json"][tenant]
    if kind == "add-ingress":
        rule = {"cidr": cidr, "protocol": "tcp", "port": port, "description": "edited"}
        if "securityGroups" in entry:
            entry["securityGroups"][0]["ingress"].append(rule)
        else:
            entry["nsgRules"].insert(0, {"name": "edited", "priority": 100, "access": "Allow", "direction": "Inbound",
                                         "protocol": "tcp", "sourceAddressPrefixes": [cidr], "destinationPortRange": str(port)})
    elif kind == "add-egress":
        entry["egress"].append({"cidr": cidr, "protocol": "tcp", "port": port})
    else:
        entry.pop("securityGroups", None)
        entry.pop("nsgRules", None)
    write_compiled(changed_dir, Compiled(files))
    for base, changed in zip(load_fabrics(base_dir), load_fabrics(changed_dir)):
        before = verify(base)
        incremental = verify(changed, previous=before.state)
        full = verify(changed)
        assert incremental.reverified < full.reverified or full.reverified <= 1
        assert summary(incremental) == summary(full)


# --- the session: parsed documents, reader results and per-tenant results reused ----------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from govcloud.app.network import DocumentCache, NetworkSession, cached_registry  # noqa: E402
from govcloud.diagnostics import DiagnosticError  # noqa: E402
from govcloud.network.fabric import ReadMemo, fabrics_from_documents  # noqa: E402
from govcloud.tenants.registry import load_registry  # noqa: E402


def full_summary(report):
    return (summary(report), sorted(report.unreachable_declared), sorted(report.matrix.items()), report.checked_tables)


def fresh(ws_root):
    """A full verification of the workspace as it is now: nothing reused."""
    return [full_summary(r) for r in NetworkSession(Workspace(ws_root)).verify().reports]


def edit_tenant(root, name, change):
    path = root / "tenants" / "active" / f"{name}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc["spec"])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


EDITS = {
    "publish": lambda s: s["apis"].setdefault("publishes", []).append({"name": "extra-api", "port": 9443}),
    "consume-own-zone": lambda s: s["apis"].setdefault("consumes", []).append(
        {"tenant": "131016-juki", "api": "juki-api"}) if s["zone"] == "mynumber" else None,
    "serve-another-municipality": lambda s: s["municipalities"].append("141003") if "141003" not in s["municipalities"]
    else s["municipalities"].remove("141003"),
    "new-address": lambda s: s["network"].update(cidr="10.17.250.0/24") if s["cloud"] == "aws" and s["zone"] == "mynumber"
    else None,
}


@settings(max_examples=examples(12), deadline=None)
@given(tenant=st.sampled_from(sorted(COMPILED.files["tenants.json"])), edits=st.lists(st.sampled_from(sorted(EDITS)),
                                                                                       min_size=1, max_size=3))
def test_session_equals_a_full_verification_after_each_edit(tmp_path_factory, tenant, edits):
    """The property: after any sequence of tenant edits, what the session reports (reusing what it
    can) equals a fresh full verification of the same workspace, violations and paths included."""
    root = tmp_path_factory.mktemp("ws")
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    session = NetworkSession(Workspace(root))
    first = session.verify()
    assert first.parsed > 10 and [full_summary(r) for r in first.reports] == fresh(root)
    for edit in edits:
        edit_tenant(root, tenant, EDITS[edit])
        try:
            again = session.verify()
        except DiagnosticError as exc:     # an edit the intent refuses (a cross-zone use): refused the same way
            with pytest.raises(DiagnosticError) as full:
                NetworkSession(Workspace(root)).verify()
            assert str(full.value) == str(exc)
            return
        assert again.parsed <= 2
        assert [full_summary(r) for r in again.reports] == fresh(root)


def test_a_session_reuses_what_did_not_change(tmp_path):
    shutil.copytree(REPO / "tenants", tmp_path / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    session = NetworkSession(Workspace(tmp_path))
    total = session.verify().reverified
    again = session.verify()
    assert again.parsed == 0 and again.reverified == 0 and session.memo.hits >= 5
    edit_tenant(tmp_path, "131016-juki-prod", EDITS["publish"])
    changed = session.verify()
    assert changed.parsed == 1 and 0 < changed.reverified < total


def test_document_cache_sees_a_same_size_edit_in_the_same_clock_tick(tmp_path):
    """git's racy case: a file rewritten with the same size and modification time."""
    shutil.copytree(REPO / "tenants", tmp_path / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    ws, cache = Workspace(tmp_path), DocumentCache()
    assert cached_registry(ws, cache) == load_registry(ws)
    path = tmp_path / "tenants" / "active" / "131016-juki-prod.yaml"
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    edited = text.replace("port: 443", "port: 444")
    assert len(edited.encode()) == len(text.encode()) and edited != text
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    reg = cached_registry(ws, cache)
    assert reg == load_registry(ws) and reg.tenants["131016-juki-prod"].spec.apis.publishes[0].port == 444
    # An old, settled file is trusted by its stat, and re-read when the stat moves.
    old = time.time_ns() - 10 * 10**9
    os.utime(path, ns=(old, old))
    cache.parse(path, type(load_registry(ws).tenants["131016-juki-prod"]))
    parsed = cache.parsed
    assert cached_registry(ws, cache) == load_registry(ws) and cache.parsed == parsed


def test_a_broken_document_is_reported_as_load_registry_reports_it(tmp_path):
    shutil.copytree(REPO / "tenants", tmp_path / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    ws, cache = Workspace(tmp_path), DocumentCache()
    cached_registry(ws, cache)
    path = tmp_path / "tenants" / "active" / "131016-juki-prod.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("\n  zone: mynumber", "\n  zoen: mynumber"), encoding="utf-8")
    with pytest.raises(DiagnosticError) as cached:
        cached_registry(ws, cache)
    with pytest.raises(DiagnosticError) as full:
        load_registry(ws)
    assert str(cached.value) == str(full.value) and "131016-juki-prod.yaml" in str(full.value)


@settings(max_examples=examples(30), deadline=None)
@given(tenant=st.sampled_from(sorted(COMPILED.files["tenants.json"])), cidr=st.sampled_from(CIDRS),
       port=st.sampled_from([443, 8443]), drop_flow=st.integers(min_value=0, max_value=10),
       removed=st.sampled_from([1, 3, 20]), reverse=st.booleans())
def test_memo_reads_equal_full_reads(tenant, cidr, port, drop_flow, removed, reverse):
    """A memo read of edited documents gives the fabric a full read gives: flows removed (more
    than the walk looks ahead, too), reordered, a tenant's rules changed."""
    memo = ReadMemo()
    fabrics_from_documents(copy.deepcopy(COMPILED.files), memo=memo)
    files = copy.deepcopy(COMPILED.files)
    entry = files["tenants.json"][tenant]
    entry.setdefault("egress", []).append({"cidr": cidr, "protocol": "tcp", "port": port})
    del files["declared-flows.json"][drop_flow:drop_flow + removed]
    if reverse:
        files["declared-flows.json"].reverse()
    for memo_fabric, full_fabric in zip(fabrics_from_documents(files, memo=memo), fabrics_from_documents(copy.deepcopy(files))):
        assert summary(verify(memo_fabric)) == summary(verify(full_fabric))
        assert memo_fabric.filters == full_fabric.filters and memo_fabric.declared == full_fabric.declared
        assert memo_fabric.attachments == full_fabric.attachments


def test_memo_refuses_what_a_full_read_refuses():
    from govcloud.network.errors import NetworkInputError, Unsupported

    memo = ReadMemo()
    fabrics_from_documents(copy.deepcopy(COMPILED.files), memo=memo)
    files = copy.deepcopy(COMPILED.files)
    files["declared-flows.json"][5]["protocol"] = "gre"
    with pytest.raises(Unsupported, match=r"\$\[5\]\.protocol"):
        fabrics_from_documents(files, memo=memo)
    files = copy.deepcopy(COMPILED.files)
    name = sorted(files["tenants.json"])[3]
    files["tenants.json"]["ghost"] = files["tenants.json"][name]
    with pytest.raises(NetworkInputError, match="dangling reference: rules for 'ghost'"):
        fabrics_from_documents(files, memo=memo)


def test_a_municipality_edit_rebuilds_the_flows_of_the_tenants_serving_it(tmp_path):
    """The intent memo keys a tenant's site flows on its municipalities' documents too."""
    shutil.copytree(REPO / "tenants", tmp_path / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    session = NetworkSession(Workspace(tmp_path))
    session.verify()
    path = tmp_path / "tenants" / "municipalities" / "131016.yaml"
    text = path.read_text(encoding="utf-8")
    model = next(m for m in ("alpha-prime", "beta-prime", "alpha", "beta") if f"securityModel: {m}" in text)
    other = {"alpha": "beta", "beta": "alpha", "alpha-prime": "beta", "beta-prime": "alpha"}[model]
    path.write_text(text.replace(f"securityModel: {model}", f"securityModel: {other}"), encoding="utf-8")
    again = session.verify()
    assert again.parsed == 1 and session.intent_memo.reused > 0
    assert [full_summary(r) for r in again.reports] == fresh(tmp_path)
    assert again.intent.flows == NetworkSession(Workspace(tmp_path)).verify().intent.flows

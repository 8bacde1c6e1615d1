"""The report's data and page from the sample workspace (report/service.py, proof.py, render.py,
live.py): the same facts the other commands give, and a page that loads nothing from anywhere."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.network import pipeline
from govcloud.network.verify import verify
from govcloud.policies.catalogue import load_controls
from govcloud.report.live import load_live
from govcloud.report.model import to_dict, to_json
from govcloud.report.render import page_data, render_html
from govcloud.report.service import build_report, snapshot
from govcloud.workspace import Workspace

TODAY = dt.date(2027, 3, 10)      # the Osaka intake exception expires 2027-03-31: within 30 days


def break_trail(plans: list[dict], tenant: str) -> None:
    doc = next(p for p in plans if p["govcloud"].get("tenant") == tenant)
    for r in doc["deployment"]["resources"]:
        if r["type"] == "aws:cloudtrail/trail:Trail":
            r["inputs"]["enableLogFileValidation"] = False


@pytest.fixture
def snap(sample):
    return snapshot(Workspace(sample), today=TODAY)


def test_fleet_proof_and_findings_agree_with_the_other_commands(sample, snap):
    report = build_report(snap, lang="en")
    assert len(report.fleet.tenants) == 8 and report.fleet.by_cloud == {"aws": 5, "azure": 3}
    assert report.fleet.by_usage == {"dedicated": 6, "shared": 2}
    assert {m.code for m in report.fleet.municipalities} >= {"131016", "011002"}
    _, compiled = pipeline.compile_workspace(Workspace(sample), ("aws-cloudwan", "azure-vwan"), today=TODAY)
    (fabric,) = pipeline.fabrics_from_compiled(compiled)
    direct = verify(fabric)
    assert report.proof.ok == direct.ok and len(report.proof.reachable) == len(direct.reachable)
    assert sum(n for row in report.proof.matrix.values() for n in row.values()) == len(direct.reachable)
    assert report.proof.matrix["internet"]["mynumber"] == direct.matrix[("internet", "mynumber")] == 1
    assert list(report.proof.matrix) == ["mynumber", "lgwan", "internet"]
    intake = next(r for r in report.proof.reachable if r.destination_zone == "mynumber" and r.source_zone == "internet")
    assert intake.declared == "exception:osaka-shinsei-to-kokuho-intake"
    assert any("inspection function" in hop for hop in intake.path)
    assert report.findings.stacks == 10 and report.findings.failed_mandatory == 0 and report.findings.rows == []


def test_expiring_and_expired_approvals_are_called_out(snap):
    report = build_report(snap)
    by_id = {a.id: a for a in report.approvals}
    assert by_id["osaka-shinsei-to-kokuho-intake"].status == "expiring" and by_id["osaka-shinsei-to-kokuho-intake"].days_left == 21
    assert by_id["eltax-intake-pilot"].status == "expired" and by_id["eltax-intake-pilot"].days_left < 0
    html = render_html(report)
    assert 'id="expiring"' in html and "1 expire within 30 days" in html


def test_waived_and_failed_findings_with_both_languages(sample):
    ws = Workspace(sample)
    (sample / "policies").mkdir()
    waiver = {"tenant": "141003-koseki-prod", "reason": "migration window for the key", "approver": "security team"}
    (sample / "policies/waivers.yaml").write_text(yaml.safe_dump({
        "apiVersion": "govcloud/v1", "kind": "Waivers", "metadata": {"name": "w"},
        "spec": {"waivers": [{"control": "GC-AWS-KMS-1", **waiver, "expires": "2027-03-20"},
                             {"control": "GC-AWS-CT-2", **waiver, "expires": "2027-12-31"}]}}, allow_unicode=True))
    record_waivers(ws, "platform", "141003", "security-mori")     # koseki: Yokohama's, My Number
    plans = snapshot(ws, today=TODAY).plans
    break_trail(plans, "131016-juki-prod")
    break_trail(plans, "141003-koseki-prod")
    koseki = next(p for p in plans if p["govcloud"].get("tenant") == "141003-koseki-prod")
    for r in koseki["deployment"]["resources"]:
        if r["type"] == "aws:kms/key:Key":
            r["inputs"]["enableKeyRotation"] = False
    report = build_report(snapshot(ws, plans=plans, today=TODAY), lang="ja")
    rows = {(f.control, f.tenant, f.status) for f in report.findings.rows}
    # GC-AWS-CT-2 may not be waived: its waiver is listed as ignored and the failure stands.
    assert {("GC-AWS-CT-2", "131016-juki-prod", "failed"), ("GC-AWS-CT-2", "141003-koseki-prod", "failed")} <= rows
    assert ("GC-AWS-KMS-1", "141003-koseki-prod", "waived") in rows
    assert report.findings.waived >= 1 and report.findings.failed_mandatory >= 2
    statuses = {a.id.split("#")[0]: (a.status, a.days_left) for a in report.approvals if a.kind == "waiver"}
    assert statuses == {"GC-AWS-KMS-1": ("expiring", 10), "GC-AWS-CT-2": ("ignored", 296)}
    control = load_controls()["GC-AWS-CT-2"]
    html = render_html(report)
    assert control.ja in html and control.en in html and control.remediation.en in html
    assert "GC-AWS-CT-2 @ 131016-juki-prod" in html     # "which controls fail where", on the summary


def record_waivers(ws: Workspace, *who: str) -> None:
    """Record policies/waivers.yaml signed by ``who`` (sample keys): only recorded waivers count."""
    from govcloud import sshsig
    from govcloud.app import decisions
    from govcloud.tenants.principals import KeySigner
    from tests.conftest import key

    decisions.record(ws, "Waivers", [KeySigner(sshsig.load_private_key(Path(key(w)).read_bytes())) for w in who])


def test_an_unrecorded_waivers_file_waives_nothing(sample):
    (sample / "policies").mkdir()
    (sample / "policies/waivers.yaml").write_text("apiVersion: govcloud/v1\nkind: Waivers\nmetadata: {name: w}\n"
                                                  "spec:\n  waivers:\n    - control: GC-AWS-KMS-1\n      tenant: '*'\n"
                                                  "      reason: 0123456789ab\n      approver: me\n"
                                                  "      expires: 2099-01-01\n")
    with pytest.raises(DiagnosticError) as exc:
        snapshot(Workspace(sample), today=TODAY)
    assert "GC608" in exc.value.diagnostics[0].format()


def test_a_bad_waivers_file_is_a_diagnostic(sample):
    (sample / "policies").mkdir()
    (sample / "policies/waivers.yaml").write_text("apiVersion: govcloud/v1\nkind: Waivers\nmetadata: {name: w}\n"
                                                  "spec:\n  waivers:\n    - control: GC-NOPE-1\n      reason: 0123456789ab\n"
                                                  "      approver: me\n      expires: 2030-01-01\n")
    with pytest.raises(DiagnosticError) as exc:
        snapshot(Workspace(sample), today=TODAY)
    assert "GC801" in exc.value.diagnostics[0].format()


class PageAudit(HTMLParser):
    """Every table header cell and every URL-carrying attribute of a page."""

    def __init__(self):
        super().__init__()
        self.th_without_scope = 0
        self.urls: list[str] = []
        self.csp = None
        self.tags = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags += 1
        if tag == "th" and attrs.get("scope") not in ("col", "row"):
            self.th_without_scope += 1
        for key in ("src", "href", "action", "xlink:href", "srcset", "poster", "data"):
            if key in attrs and attrs[key] is not None:
                self.urls.append(attrs[key])
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            self.csp = attrs["content"]


def test_page_is_self_contained_and_accessible(snap):
    html = render_html(build_report(snap))
    audit = PageAudit()
    audit.feed(html)
    assert audit.tags > 100 and audit.th_without_scope == 0
    assert all(u.startswith("#") for u in audit.urls), [u for u in audit.urls if not u.startswith("#")]
    assert "default-src 'none'" in audit.csp and "connect-src 'none'" in audit.csp and "unsafe-inline" not in audit.csp
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html.split('id="report-data"')[0])
    assert html.count("<script") == 2 and '<html lang="ja">' in html


def test_json_is_the_same_data(snap):
    report = build_report(snap, lang="en")
    doc = json.loads(to_json(report))
    assert doc["schemaVersion"] == 1 and doc["lang"] == "en" and doc["change"] is None and doc["live"] is None
    assert doc == to_dict(report) and len(doc["proof"]["reachable"]) == len(report.proof.reachable)
    assert doc["proof"]["invariants"][0]["title"]["ja"]


def test_page_data_rebuilds_every_path(snap):
    report = build_report(snap)
    data = page_data(report)
    strings, atts = data["strings"], data["atts"]
    for entry, original in zip(data["reach"], report.proof.reachable):
        src, dst = atts[entry[0]][0], atts[entry[1]][0]
        middle = [strings[i] for i in data["routes"][entry[5]]]
        path = [f"{src} (source)", *middle, strings[entry[6]], f"tenant {dst}"] if entry[6] >= 0 else middle
        assert (src, dst, path) == (original.source, original.destination, original.path)


def test_island_cannot_be_closed_by_a_name(snap):
    report = build_report(snap)
    report.proof.reachable[0].path[1] = "</script><script>alert(1)</script>"
    html = render_html(report)
    assert "</script><script>alert(1)" not in html


# --- live -----------------------------------------------------------------------------------------------


AUDIT = {"stacks": 1, "evaluated": 3, "failedMandatory": 1, "notes": [], "endpoint": "http://127.0.0.1:5000",
         "tenants": [{"tenant": "131016-juki-prod", "account": "111111111111", "complete": True}], "failures": [],
         "findings": [{"control": "GC-AWS-CT-2", "title": "x", "severity": "high", "mode": "mandatory", "status": "failed",
                       "stack": "tenant-131016-juki-prod", "tenant": "131016-juki-prod", "resource": "arn:aws:cloudtrail:x",
                       "resourceType": "aws:cloudtrail/trail:Trail", "message": "log file validation is off",
                       "remediation": "y", "waiver": None}]}
DRIFT = {"endpoint": "http://127.0.0.1:5000", "read": ["131016-juki-prod"], "notes": [], "failures": [],
         "changes": [{"layer": "filtering", "kind": "added", "where": "131016-juki-prod sg-1", "declared": None,
                      "live": "0.0.0.0/0 tcp/22"}],
         "verification": [{"variant": "aws-tgw+azure-vwan", "ok": False, "violations": [
             {"invariant": "internet-never-reaches-mynumber", "layer": "filtering", "source": "0.0.0.0/0",
              "destination": "131016-juki-prod", "message": "admits the internet", "path": ["a", "b"]}]}]}


def test_live_audit_and_drift_with_the_invariant_they_break(snap, tmp_path):
    (tmp_path / "audit.json").write_text(json.dumps(AUDIT))
    (tmp_path / "drift.json").write_text(json.dumps(DRIFT))
    live = load_live([tmp_path / "audit.json", tmp_path / "drift.json"], load_controls())
    assert live.audit_findings[0].title.en == load_controls()["GC-AWS-CT-2"].en
    assert live.drift[0].live == "0.0.0.0/0 tcp/22" and live.drift_violations[0].invariant == "internet-never-reaches-mynumber"
    html = render_html(build_report(snap, live=live))
    row = re.search(r'<table id="drift">.*?</table>', html, re.S).group(0)
    assert "131016-juki-prod sg-1" in row and "internet-never-reaches-mynumber" in row


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"hello": 1}', "neither the JSON of `govcloud audit"),
    (json.dumps({**AUDIT, "findings": [{"control": 1}]}), "field findings.0"),
    (json.dumps({**DRIFT, "changes": "x"}), "field changes"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_bad_live_files_are_refused_by_name(tmp_path, content, message):
    path = tmp_path / "live.json"
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    with pytest.raises(UsageError) as exc:
        load_live([path], load_controls())
    assert message in str(exc.value) and str(path) in str(exc.value)
    with pytest.raises(UsageError):
        load_live([tmp_path / "missing.json"], load_controls())


def test_the_change_service_needs_a_base(tmp_path):
    from govcloud.diagnostics import UsageError
    from govcloud.report.service import ReportRequest, change
    from govcloud.workspace import Workspace

    with pytest.raises(UsageError, match="needs a base"):
        change(Workspace(tmp_path), ReportRequest(lang="en"))


def test_the_proof_reads_what_the_plans_deploy(sample, snap):
    """Found in review: the report proved the compiled intent, so a plan routing a mynumber tenant
    to an internet gateway read "proof holds". It now proves the plans, like network verify."""
    import copy

    assert snap.proof.ok
    plans = copy.deepcopy(snap.plans)
    doc = next(p for p in plans if p["govcloud"].get("tenant") == "131016-juki-prod")
    route = next(r for r in doc["deployment"]["resources"] if r["type"] == "aws:ec2/route:Route")
    route["inputs"] = {"destinationCidrBlock": "0.0.0.0/0", "routeTableId": route["inputs"]["routeTableId"],
                       "gatewayId": "igw-0123456789abcdef0"}
    proof = snapshot(Workspace(sample), plans=plans, today=TODAY).proof
    assert not proof.ok
    assert any(v.invariant == "mynumber-never-reaches-internet" and "igw-" in v.message for v in proof.violations)
    # A folder without the network stack's plan cannot be proven: refused, not passed.
    with pytest.raises(UsageError, match="no plan of the network stack"):
        snapshot(Workspace(sample), plans=[p for p in plans if p["govcloud"]["stack"] != "network"], today=TODAY)

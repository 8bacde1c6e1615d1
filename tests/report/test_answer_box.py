"""The report's first screen: the answer box names the new paths (source, destination, port), the
violations and the failing controls that are new against the base, and is never green while the
proof newly fails. Built from hand-made models (report/change.py, report/render.py)."""

from __future__ import annotations

import re

import pytest

from govcloud.report.change import compare, gate, summary_lines
from govcloud.report.model import (Findings, FindingRow, Bilingual, FleetSummary, NetworkProof, Reachable, Report,
                                   Violation)
from govcloud.report.render import render_html, translator

BREACH = Violation("internet-never-reaches-mynumber", "routing", "site:131016:honcho-internet", "131016-juki-prod",
                   "internet-zone sources route to mynumber tenant 131016-juki-prod directly",
                   ["site:131016:honcho-internet (source)", "route table cloudwan:internet", "tenant 131016-juki-prod"])


def proof(reachable=(), violations=()) -> NetworkProof:
    return NetworkProof("aws-cloudwan+azure-vwan", not violations, [], list(violations),
                        {"mynumber": {"mynumber": 0}}, [Reachable(s, sz, d, dz, "tcp", p, "", [f"{s} (source)", f"tenant {d}"])
                                                        for s, sz, d, dz, p in reachable], [], [], [], [])


def findings(*failing) -> Findings:
    rows = [FindingRow(c, Bilingual(c, c), Bilingual("fix", "fix"), "high", "mandatory", "failed", f"tenant-{t}", t,
                       "urn", "aws:s3/bucket:Bucket", "fails", None) for c, t in failing]
    return Findings(1, 1, len(rows), 0, 0, rows, [])


def page(change) -> str:
    report = Report(1, "2026-12-07T00:00:00+00:00", "2026-12-07", "en", "ws",
                    FleetSummary([], [], {}, {}, {}, {}, {}), proof(), findings(), [], 30, change=change)
    return render_html(report)


def answer(html: str, element_id: str) -> tuple[str, str]:
    """(class, text) of the answer box element with this id."""
    m = re.search(rf'<(?:p|div) id="{element_id}"(?: class="([^"]*)")?>(.*?)</(?:p|div)>', html, re.S)
    assert m, f"no #{element_id} on the page"
    return m.group(1) or "", re.sub(r"<[^>]+>", " ", m.group(2))


LGWAN_PATH = ("site:011002:honcho-lgwan", "lgwan", "011002-zaimu-prod", "lgwan", 443)


def test_never_green_while_the_proof_newly_fails():
    # no new path at all, but the change newly breaks an invariant
    change = compare("main", [], [], {}, {}, proof([LGWAN_PATH]), proof([LGWAN_PATH], [BREACH]))
    assert change.paths_opened == [] and change.proof_newly_fails
    cls, text = answer(page(change), "answer-mynumber")
    assert "bad" in cls and "ok" not in cls.split()
    assert "newly breaks 1 invariant" in text
    cls, text = answer(page(change), "answer-new-violations")
    assert "bad" in cls and "internet-never-reaches-mynumber" in text and "131016-juki-prod" in text
    assert gate(change) and gate(change, allow_mynumber_paths=True)          # the option never relaxes a breach
    assert "ATTENTION: the change newly breaks 1 invariant(s)" in "\n".join(summary_lines(change, translator("en")))


def test_a_violation_the_base_had_already_is_not_new():
    change = compare("main", [], [], {}, {}, proof([], [BREACH]), proof([], [BREACH]))
    assert change.violations_new == [] and not change.proof_newly_fails and gate(change) == []
    cls, _ = answer(page(change), "answer-mynumber")
    assert cls == "ok"


def test_a_tenant_moved_into_mynumber_opens_its_paths_anew():
    # the same (source, destination, port), but the destination is now in the My Number zone
    moved = ("site:011002:honcho-internet", "internet", "011002-zaimu-prod", "mynumber", 443)
    before = ("site:011002:honcho-internet", "internet", "011002-zaimu-prod", "lgwan", 443)
    change = compare("main", [], [], {}, {}, proof([before]), proof([moved]))
    assert [(p.source, p.destination_zone) for p in change.paths_opened] == [("site:011002:honcho-internet", "mynumber")]
    assert len(change.opened_into_mynumber_across_zones) == 1
    html = page(change)
    cls, text = answer(html, "answer-mynumber")
    assert "bad" in cls and "1 of them from another zone" in text
    _, text = answer(html, "answer-new-paths")
    assert "site:011002:honcho-internet" in text and "011002-zaimu-prod" in text and "tcp/443" in text
    assert gate(change) and gate(change, allow_mynumber_paths=True) == []


@pytest.mark.parametrize("lang, words", [("en", "Mandatory controls failing anew"), ("ja", "新たに不適合の必須統制")])
def test_controls_failing_anew_are_named(lang, words):
    change = compare("main", [], [], {}, {}, proof(), proof(), findings(("GC-S3-1", "a")),
                     findings(("GC-S3-1", "a"), ("GC-KMS-2", "b")))
    assert change.controls_new == ["GC-KMS-2 @ b"]
    html = page(change)
    cls, text = answer(html, "answer-new-controls")
    assert "bad" in cls and "GC-KMS-2 @ b" in text and "GC-S3-1" not in text
    assert words in html
    cls, _ = answer(html, "answer-mynumber")
    assert cls == "ok"                       # controls are not the network answer: that stays green


def test_a_quiet_change_is_green():
    change = compare("main", [], [], {}, {}, proof([LGWAN_PATH]), proof([LGWAN_PATH]))
    html = page(change)
    assert answer(html, "answer-mynumber")[0] == "ok" and answer(html, "answer-new-violations")[0] == "ok"
    assert 'id="answer-new-paths"' not in html

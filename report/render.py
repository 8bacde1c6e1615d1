"""Render the report model as one self-contained HTML page.

Everything is inline: the style sheet, the script (vanilla JS), the data (a JSON island the
script reads), the drawing (SVG built by the script from that data; no fonts or pictures are
fetched). A Content-Security-Policy meta element forbids every load: only the inline style and
script whose SHA-256 hashes it names may run, and `default-src 'none'` refuses images, fonts,
frames, connections and form posts to anywhere (CSP Level 3, §2.3 and §6.7.3:
https://www.w3.org/TR/CSP3/). Every text is present in Japanese and English; the page shows
the language of ``--lang`` first and switches without reloading.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import jinja2
import yaml
from markupsafe import Markup, escape

from govcloud.report.model import Report
from govcloud.report.proof import zone_order

HERE = Path(__file__).parent


@functools.cache
def labels() -> dict[str, dict[str, str]]:
    data = yaml.safe_load((HERE / "data" / "labels.yaml").read_text(encoding="utf-8"))
    for key, value in data.items():
        if not isinstance(value, dict) or set(value) != {"ja", "en"}:
            raise RuntimeError(f"report/data/labels.yaml: {key} needs exactly ja and en")
    return data


def translator(lang: str):
    """Plain text in one language (the terminal, the page's <title>)."""
    table = labels()

    def t(key: str, **fields) -> str:
        return table[key][lang].format(**fields)

    return t


def _both(key: str, **fields) -> Markup:
    entry = labels()[key]
    return Markup('<span lang="ja">{}</span><span lang="en">{}</span>').format(
        entry["ja"].format(**fields), entry["en"].format(**fields))


def _bi(value) -> Markup:
    """A Bilingual value from the model."""
    ja, en = (value["ja"], value["en"]) if isinstance(value, dict) else (value.ja, value.en)
    if ja == en:
        return Markup("{}").format(ja)
    return Markup('<span lang="ja">{}</span><span lang="en">{}</span>').format(ja, en)


def _label_or(prefix: str, value: str) -> Markup:
    key = f"{prefix}.{value}"
    return _both(key) if key in labels() else escape(value)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(t=_both, bi=_bi, label=_label_or)
    return env


def _asset(name: str) -> str:
    return (HERE / "assets" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def page_data(report: Report) -> dict:
    """What the script needs, compacted: tens of thousands of reachable entries share their
    hops, so every string is stored once and entries refer to it by number."""
    proof = report.proof
    strings: list[str] = []
    string_ids: dict[str, int] = {}

    def sid(text: str) -> int:
        if text not in string_ids:
            string_ids[text] = len(strings)
            strings.append(text)
        return string_ids[text]

    att_ids = {a.name: i for i, a in enumerate(proof.attachments)}
    routes: list[list[int]] = []
    route_ids: dict[tuple, int] = {}
    reach = []
    for r in proof.reachable:
        path = r.path
        canonical = len(path) >= 3 and path[0] == f"{r.source} (source)" and path[-1] == f"tenant {r.destination}"
        middle = tuple(path[1:-2]) if canonical else tuple(path)
        key = tuple(sid(h) for h in middle)
        if key not in route_ids:
            route_ids[key] = len(routes)
            routes.append(list(key))
        reach.append([att_ids.get(r.source, -1),
                      att_ids.get(r.destination, -1), r.protocol, r.port, sid(r.declared) if r.declared else -1,
                      route_ids[key], sid(path[-2]) if canonical else -1])
    munis = {m.code: [m.name, m.prefecture] for m in report.fleet.municipalities}
    return {
        "lang": report.lang,
        "zones": list(proof.matrix),
        "atts": [[a.name, a.kind, a.zone, a.cloud, a.table, " ".join(a.municipalities), a.vendor]
                 for a in proof.attachments],
        "tables": [[t.name, t.side, t.zone, t.routes, t.to_inspection, t.to_intercloud] for t in proof.tables],
        "intercloud": proof.intercloud,
        "strings": strings, "routes": routes, "reach": reach,
        "munis": munis, "labels": labels(),
    }


def _json_island(data) -> str:
    # "<" escaped so no "</script>" or "<!--" can end the island early.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def _findings_views(report: Report) -> dict:
    rows = report.findings.rows
    by_control: dict[str, dict] = {}
    for f in rows:
        entry = by_control.setdefault(f.control, {"row": f, "failed": 0, "waived": 0, "tenants": Counter()})
        entry["failed" if f.status == "failed" else "waived"] += 1
        entry["tenants"][f.tenant or f.stack] += 1
    by_tenant: dict[str, Counter] = defaultdict(Counter)
    for f in rows:
        key = "waived" if f.status == "waived" else f.mode
        by_tenant[f.tenant or f.stack][key] += 1
    severity_rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    controls = sorted(by_control.values(), key=lambda e: (e["row"].mode != "mandatory",
                                                            severity_rank.get(e["row"].severity, 9), e["row"].control))
    return {"by_control": controls, "by_tenant": sorted(by_tenant.items())}


def _live_links(report: Report) -> list[tuple]:
    """Each drift change with the live-state violations that involve the same place."""
    live = report.live
    if live is None:
        return []
    out = []
    for c in live.drift:
        related = sorted({v.invariant for v in live.drift_violations if v.destination in c.where or v.source in c.where})
        out.append((c, related))
    return out


def render_html(report: Report) -> str:
    style, script = _asset("report.css"), _asset("report.js")
    csp = ("default-src 'none'; img-src data:; font-src data:; connect-src 'none'; frame-src 'none'; "
           f"object-src 'none'; base-uri 'none'; form-action 'none'; style-src {_csp_hash(style)}; "
           f"script-src {_csp_hash(script)}")
    approvals = report.approvals
    expiring = [a for a in approvals if a.status == "expiring"]
    mandatory_where = sorted({(f.control, f.tenant or f.stack) for f in report.findings.rows
                              if f.status == "failed" and f.mode == "mandatory"})
    return _environment().get_template("report.html.j2").render(
        r=report, style=Markup(style), script=Markup(script), csp=csp,
        data=Markup(_json_island(page_data(report))), expiring=expiring, approvals=approvals, mandatory_where=mandatory_where,
        findings=_findings_views(report), live_links=_live_links(report),
        title=translator(report.lang)("title"), zones=zone_order(report.proof.matrix))

"""`govcloud report` and `govcloud diff`: thin adapters over govcloud.report.service (report, change):
parse the options, call the service, render HTML, JSON or text."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from govcloud.cli import Lang, console, current_lang, err_console, report_errors, workspace
from govcloud.fsio import atomic_write


def _request(lang: str, base: Optional[str], plans: Optional[Path], jobs: int, quota: list[str],
             live: list[Path] = ()):
    from govcloud.cli.network_cmd import _quota_overrides
    from govcloud.report.service import ReportRequest

    return ReportRequest(lang=lang, base=base, plans_dir=plans, live_files=tuple(live), jobs=jobs or None,
                         quota_overrides=_quota_overrides(quota))


@report_errors
def report_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="Write here (default build/report.html, or build/report.json with --format json)."),
    base: Optional[str] = typer.Option(None, "--base", help="Git ref (HEAD~1, main) or workspace folder to compare with: adds the change section."),
    live: List[Path] = typer.Option([], "--live", help="JSON of `govcloud audit --format json` or `govcloud network drift --format json` (repeatable)."),
    lang: Optional[Lang] = typer.Option(None, "--lang", help="ja or en: the language the page opens in (it carries both; default: the global --lang)."),
    fmt: Literal["html", "json"] = typer.Option("html", "--format", help="html or json."),
    plans: Optional[Path] = typer.Option(None, "--plans", help="Use these plan documents instead of planning the workspace (cached)."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes for planning (default: one per core).", min=0),
    quota: List[str] = typer.Option([], "--quota", help="Approved quota increase, ID=N (repeatable), as for network compile."),
) -> None:
    """One self-contained HTML page (or JSON): fleet, network proof, reachability, findings, change, live."""
    from govcloud.report.model import to_json
    from govcloud.report.render import render_html
    from govcloud.report.service import report as build

    ws = workspace()
    report = build(ws, _request(current_lang(lang), base, plans, jobs, quota, live))
    text = render_html(report) if fmt == "html" else to_json(report)
    target = out or ws.report_file(fmt)
    atomic_write(target, text)
    console.print(f"wrote {ws.relative(target)} ({len(text.encode()) / 1024:.0f} KiB): "
                  f"{len(report.fleet.tenants)} tenants, proof {'holds' if report.proof.ok else 'FAILS'}, "
                  f"{report.findings.failed_mandatory} mandatory failure(s)"
                  + (f", {len(report.change.stacks)} stack(s) changed since {base}" if report.change else ""),
                  highlight=False, markup=False)


@report_errors
def diff_cmd(
    base: str = typer.Option(..., "--base", help="Git ref (HEAD~1, main) or workspace folder to compare with."),
    lang: Optional[Lang] = typer.Option(None, "--lang", help="ja or en (default: the global --lang)."),
    fmt: Literal["text", "json"] = typer.Option("text", "--format", help="text or json."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes for planning (default: one per core).", min=0),
    quota: List[str] = typer.Option([], "--quota", help="Approved quota increase, ID=N (repeatable)."),
    allow_mynumber_paths: bool = typer.Option(
        False, "--allow-mynumber-paths", help="Do not fail on new paths into the My Number zone (a reviewed intake); "
        "a newly broken invariant still fails."),
) -> None:
    """What changes since BASE: tenants, resources per stack, reachable pairs opened and closed
    (keyed with their zones), violations and failing controls new against the base. Exit 1 when
    the change opens a path into the My Number zone or newly breaks an invariant."""
    import json

    from govcloud.report.change import gate, summary_lines
    from govcloud.report.model import plain
    from govcloud.report.render import translator
    from govcloud.report.service import change as changes

    lang = current_lang(lang)
    change = changes(workspace(), _request(lang, base, None, jobs, quota))
    if fmt == "json":
        console.print(json.dumps(plain(change), ensure_ascii=False, indent=1), markup=False, highlight=False)
    else:
        console.print("\n".join(summary_lines(change, translator(lang))), markup=False, highlight=False)
    if err_console.is_terminal:
        err_console.print("full detail: govcloud report --base " + base, markup=False, highlight=False)
    reasons = gate(change, allow_mynumber_paths)
    for reason in reasons:
        err_console.print(f"diff gate: {reason}", markup=False, highlight=False, soft_wrap=True)
    if reasons:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.command("diff")(diff_cmd)

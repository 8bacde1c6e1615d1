"""`govcloud check`: the baseline controls over plan documents."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from govcloud.cli import console, err_console, report_errors, workspace
from govcloud.diagnostics import UsageError
from govcloud.fsio import atomic_write

FORMATS = ("text", "json", "sarif", "junit")


def run_check(plans_dir: Path, ws, stacks: set[str] | None = None):
    from govcloud.policies.engine import run_checks
    from govcloud.stacks.planner import iter_plans

    if not plans_dir.is_dir() or not any(plans_dir.glob("*.json")):
        raise UsageError(f"no plan documents in {plans_dir}: run govcloud plan --all first")
    plans = (doc for path, doc in iter_plans(plans_dir) if stacks is None or doc.get("govcloud", {}).get("stack") in stacks)
    return run_checks(plans, ws.root / "policies" / "waivers.yaml")


@report_errors
def check_cmd(
    plans: Optional[Path] = typer.Option(None, "--plans", help="Folder of plan documents (default build/plans)."),
    fmt: str = typer.Option("text", "--format", help="text, json, sarif or junit."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the report to this file (atomically)."),
    lang: str = typer.Option("ja", "--lang", help="ja or en: titles and remediation."),
) -> None:
    """Run the Government Cloud baseline over every plan; exit 1 when a mandatory control fails."""
    from govcloud.policies import report
    from govcloud.policies.catalogue import load_controls

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if lang not in ("ja", "en"):
        raise UsageError("--lang must be ja or en")
    ws = workspace()
    run = run_check((plans or ws.root / "build" / "plans"), ws)
    controls = load_controls()
    if fmt == "text":
        text = "\n".join(report.to_text(run, controls, lang)) + "\n"
    else:
        text = {"json": report.to_json, "sarif": report.to_sarif, "junit": report.to_junit}[fmt](run, controls, lang)
    for note in run.waiver_notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    if out:
        atomic_write(out, text)
        console.print(f"wrote {out}")
    else:
        console.print(text, markup=False, highlight=False, end="")
    if run.failures(controls):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check_cmd)

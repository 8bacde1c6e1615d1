"""`govcloud check`: the baseline controls over plan documents."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from govcloud.cli import console, err_console, report_errors, workspace
from govcloud.diagnostics import UsageError
from govcloud.fsio import atomic_write

FORMATS = ("text", "json", "sarif", "junit")


def load_plans(plans_dir: Path) -> list[dict]:
    """Bounded, typed plan documents; a folder or plan that cannot be judged is an error."""
    from govcloud.policies.plans import read_plans

    return [doc for _, doc in read_plans(plans_dir)]


def run_check(plans_dir: Path, ws, plans: list[dict] | None = None):
    from govcloud.policies.engine import run_checks

    return run_checks(plans if plans is not None else load_plans(plans_dir), ws.root / "policies" / "waivers.yaml")


@report_errors
def check_cmd(
    plans: Optional[Path] = typer.Option(None, "--plans", help="Folder of plan documents (default build/plans)."),
    fmt: str = typer.Option("text", "--format", help="text, json, sarif or junit."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the report to this file (atomically)."),
    lang: str = typer.Option("ja", "--lang", help="ja or en: titles and remediation."),
    with_checkov: Optional[bool] = typer.Option(None, "--checkov/--no-checkov",
                                                help="Also run checkov's catalogue (default: when checkov is installed)."),
    export: Optional[Path] = typer.Option(None, "--export", help="Also write the exported Terraform-plan and ARM "
                                          "documents (what checkov reads) to this folder, one file per stack."),
) -> None:
    """Run the Government Cloud baseline over every plan; exit 1 when a mandatory control fails."""
    from govcloud.policies import report
    from govcloud.policies.catalogue import load_controls

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if lang not in ("ja", "en"):
        raise UsageError("--lang must be ja or en")
    ws = workspace()
    plans_dir = plans or ws.root / "build" / "plans"
    documents = load_plans(plans_dir)
    run = run_check(plans_dir, ws, documents)
    if export:
        from govcloud.policies.export import write_exports

        export.mkdir(parents=True, exist_ok=True)
        written = write_exports(documents, export)
        err_console.print(f"exported {len(written)} document(s) to {export}", markup=False)
    controls = dict(load_controls())
    if with_checkov is not False:
        from govcloud.policies.checkov_runner import find_checkov, run_checkov

        checkov = find_checkov(ws.root)
        if checkov is None:
            if with_checkov:
                raise UsageError("checkov is not installed: run `make setup` (it creates .venv-checkov) or set $GOVCLOUD_CHECKOV")
            err_console.print("note: checkov not found (make setup installs it); ran govcloud's controls only", markup=False)
        else:
            result = run_checkov(documents, checkov)
            controls.update(result.controls)
            run.findings.extend(result.findings)
            run.findings.sort(key=lambda f: (f.stack, f.control, f.resource, f.message))
            ours = {(f.control, f.resource) for f in run.findings if f.status in ("failed", "waived")
                    and controls[f.control].scope == "resource" and not f.resource_type.startswith("pulumi:providers:")}
            if result.ours != {k for k in ours if k[0].startswith("GC-")}:
                raise UsageError(f"checkov's run of govcloud's controls disagrees with govcloud check: "
                                 f"{sorted(result.ours ^ ours)[:5]}")
            err_console.print(f"checkov: {result.documents} exported document(s) in {result.shapes} shape(s); scanned "
                              f"{result.scanned} resource(s) for {result.resources}; {len(result.findings)} finding(s) "
                              f"from its own catalogue (advisory), in {result.seconds:.1f}s", markup=False)
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

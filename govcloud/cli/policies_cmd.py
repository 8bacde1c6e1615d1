"""`govcloud check`: the baseline controls over plan documents (an adapter over govcloud.app.check)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Literal, Optional

import typer

from govcloud.cli import Lang, console, current_lang, err_console, progress_bar, report_errors, workspace
from govcloud.fsio import atomic_write

Format = Literal["text", "json", "sarif", "junit"]


@report_errors
def check_cmd(
    plans: Optional[Path] = typer.Option(None, "--plans", help="Folder of plan documents (default build/plans).", metavar="DIR"),
    fmt: Format = typer.Option("text", "--format", help="text, json, sarif or junit."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the report to this file (atomically).", metavar="FILE"),
    lang: Optional[Lang] = typer.Option(None, "--lang", help="ja or en: titles and remediation (default: the global --lang)."),
    with_checkov: Optional[bool] = typer.Option(None, "--checkov/--no-checkov",
                                                help="Also run checkov's catalogue (default: when checkov is installed)."),
    export: Optional[Path] = typer.Option(None, "--export", help="Also write the exported Terraform-plan and ARM "
                                          "documents (what checkov reads) to this folder, one file per stack.", metavar="DIR"),
    partial: bool = typer.Option(False, "--partial", help="The folder holds only some stacks on purpose: check "
                                 "the plans in it, without requiring one for every stack of the workspace."),
) -> None:
    """Run the Government Cloud baseline over every plan; exit 1 when a mandatory control fails, a plan
    cannot be judged or disagrees with its tenant's document, or a stack of the workspace has no plan."""
    from govcloud.app.check import CheckRequest, check
    from govcloud.policies import report

    lang = current_lang(lang)
    ws = workspace()
    with progress_bar(lang) as progress:
        outcome = check(ws, CheckRequest(plans_dir=plans, checkov=with_checkov, export_dir=export, partial=partial),
                        progress=progress)
    if outcome.exported:
        err_console.print(f"exported {len(outcome.exported)} document(s) to {export}", markup=False)
    if outcome.checkov:
        c = outcome.checkov
        err_console.print(f"checkov: {c.documents} exported document(s) in {c.shapes} shape(s); scanned "
                          f"{c.scanned} resource(s) for {c.resources}; {c.findings} finding(s) "
                          f"from its own catalogue (advisory), in {c.seconds:.1f}s", markup=False)
    run, controls = outcome.run, outcome.controls
    if fmt == "text":
        text = "\n".join(report.to_text(run, controls, lang)) + "\n"
    elif fmt == "sarif":
        text = report.to_sarif(run, controls, lang, outcome.sources)
    else:
        text = {"json": report.to_json, "junit": report.to_junit}[fmt](run, controls, lang)
    for note in outcome.notes:
        err_console.print(f"note: {note}", markup=False, highlight=False)
    if out:
        atomic_write(out, text)
        console.print(f"wrote {out}")
    else:
        console.print(text, markup=False, highlight=False, end="")
    if outcome.failures:
        raise typer.Exit(1)


waivers_app = typer.Typer(help="Waivers of baseline controls (policies/waivers.yaml): signed, recorded decisions.",
                          no_args_is_help=True)


@waivers_app.command("record")
@report_errors
def waivers_record(
    key: Optional[List[Path]] = typer.Option(None, "--key", help="SSH private key of a signer; repeat for each (platform, the approver of every municipality a waived tenant serves, security for a mandatory control in the My Number zone; a tenant pattern such as \"*\" needs two platform principals and security)."),
    signature: Optional[List[Path]] = typer.Option(None, "--signature", help="A signature (ssh-keygen -Y sign -n govcloud-governed over `govcloud waivers statement`) instead of --key; repeatable."),
    principal: Optional[List[str]] = typer.Option(None, "--principal", help="With each --signature, in order: the principal id that signed it."),
) -> None:
    """Record the current policies/waivers.yaml in the history, signed by the people its new or
    changed waivers need (docs/trust.md). Until then `check` and the deploy gate refuse it."""
    from govcloud.cli.tenants_cmd import _record_decision

    _record_decision("Waivers", "policies/waivers.yaml", key, signature, principal)


@waivers_app.command("statement")
@report_errors
def waivers_statement(principal: str = typer.Option(..., "--principal", help="The principal id who will sign.")) -> None:
    """Print the exact statement that records the current policies/waivers.yaml:
    govcloud waivers statement --principal ID | ssh-keygen -Y sign -f KEY -n govcloud-governed"""
    from govcloud.cli.tenants_cmd import _decision_statement

    _decision_statement("Waivers", principal)


def register(app: typer.Typer) -> None:
    app.command("check")(check_cmd)
    app.add_typer(waivers_app, name="waivers")

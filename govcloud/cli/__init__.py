"""The ``govcloud`` command. Sub-command groups live in sibling modules, one per folder of the
architecture; this module wires them together and owns error handling and exit codes:

- 0: success;
- 1: a document, check or verification failed (diagnostics on stderr), or the workflow refused;
- 2: the command line itself was wrong (typer's usage errors).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console

from govcloud import __version__
from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.workspace import Workspace, find_workspace

# Piped output (CI logs, files) is not cut to 80 columns: a diagnostic must stay on one line.
console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200, soft_wrap=True)

app = typer.Typer(
    name="govcloud",
    help="Infrastructure-as-code and a zero-trust network controller for Japan's Government Cloud (ガバメントクラウド).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

_state: dict[str, Workspace] = {}


def workspace() -> Workspace:
    """The workspace, with any transaction a killed command left behind finished or undone first."""
    ws = _state.get("ws") or find_workspace()
    try:
        ws.recover()
    except UsageError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    return ws


def _version(value: bool) -> None:
    if value:
        console.print(f"govcloud {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    root: Optional[Path] = typer.Option(None, "--root", help="Workspace folder (default: $GOVCLOUD_ROOT, or the nearest folder upwards with tenants/ and Pulumi.yaml)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    if root is not None:
        if not (root / "tenants").is_dir():
            err_console.print(f"error: {root} is not a govcloud workspace (no tenants/ folder)")
            raise typer.Exit(1)
        _state["ws"] = Workspace(root.resolve())


def report_errors(func: Callable) -> Callable:
    """Turn domain errors into printed diagnostics and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DiagnosticError as exc:
            for diag in exc.diagnostics:
                err_console.print(diag.format(), markup=False, highlight=False, soft_wrap=True)
            errors = sum(1 for d in exc.diagnostics if d.severity == "error")
            files = len({d.path for d in exc.diagnostics})
            err_console.print(f"{errors} error(s) in {files} file(s); nothing was written", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except UsageError as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _register() -> None:
    from govcloud.cli import live_cmd, network_cmd, policies_cmd, stacks_cmd, tenants_cmd

    tenants_cmd.register(app)
    stacks_cmd.register(app)
    network_cmd.register(app)
    policies_cmd.register(app)
    live_cmd.register(app)


_register()


def main() -> None:
    app(prog_name="govcloud")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

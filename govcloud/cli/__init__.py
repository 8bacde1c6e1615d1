"""The ``govcloud`` command. Sub-command groups live in sibling modules, one per folder of the
architecture; this module wires them together and owns error handling and exit codes:

- 0: success;
- 1: a document, check or verification failed (diagnostics on stderr), or the workflow refused;
- 2: the command line itself was wrong: an unknown option, a value outside its choices (options
  are typed ``Literal[...]``), or a combination of options (``bad_usage()``).

Language (``--lang ja|en``, else ``$GOVCLOUD_LANG``, else the locale, else Japanese) covers help
texts (Japanese help from help_ja.yaml), findings and reports.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path
from typing import Callable, Iterator, Literal, NoReturn, Optional

import typer
from rich.console import Console

from govcloud import __version__
from govcloud import messages
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

_state: dict = {}
LANGS = ("ja", "en")
# Option values are typed as Literal[...]: anything else is a usage error (exit 2) with the
# allowed values listed, never a silent fallback.
Lang = Literal["ja", "en"]


def workspace() -> Workspace:
    """The workspace, with any transaction a killed command left behind finished or undone first."""
    ws = _state.get("ws") or find_workspace()
    if not (ws.root / "tenants").is_dir():
        # $GOVCLOUD_ROOT naming the wrong folder, or no workspace here or above: say so, instead of
        # reporting the first missing file of an empty folder.
        where = "$GOVCLOUD_ROOT" if os.environ.get("GOVCLOUD_ROOT") and "ws" not in _state else "here"
        err_console.print(f"error: {ws.root} is not a govcloud workspace (no tenants/ folder; {where}). Run inside "
                          "a workspace, or name one with --root DIR or GOVCLOUD_ROOT", markup=False, highlight=False)
        raise typer.Exit(1)
    try:
        ws.recover()
    except UsageError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    return ws


# typer carries its own copy of click; its UsageError (exit 2, with the usage line) is BadParameter's base.
CliUsageError = typer.BadParameter.__mro__[1]


def bad_usage(message: str) -> NoReturn:
    """The command line is wrong (a combination of options, a missing one): exit 2 with the usage."""
    raise CliUsageError(message)


def resolve_lang(explicit: str | None = None) -> str:
    """--lang, else $GOVCLOUD_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG), else ja."""
    if explicit:
        return explicit
    env = os.environ.get("GOVCLOUD_LANG")
    if env:
        if env not in LANGS:
            bad_usage(f"GOVCLOUD_LANG must be ja or en, not {env!r}")
        return env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value[:2] in LANGS:
            return value[:2]
        if value:
            break
    return "ja"


def current_lang(option: str | None = None) -> str:
    """The language for this command: its own --lang, else the global one (see resolve_lang)."""
    return option or _state.get("lang") or resolve_lang()


# What a service's progress stages are called on the bar (govcloud.app.progress.Stage).
STAGE_LABELS = {
    "plan": ("スタックの計画", "planning stacks"),
    "read": ("プランの読込", "reading plans"),
    "check": ("統制の検査", "checking controls"),
    "checkov": ("checkov の実行", "running checkov"),
    "accounts": ("アカウントの検索", "finding accounts"),
    "audit": ("アカウントの読取", "reading accounts"),
    "compile": ("ネットワークのコンパイル", "compiling the network"),
    "live": ("稼働状態の読取と検証", "reading and verifying live state"),
}


@contextlib.contextmanager
def progress_bar(lang: str | None = None) -> Iterator[Callable | None]:
    """A progress callback for a long service call (govcloud.app.progress): a rich bar on stderr,
    one row per stage, erased when the call returns, when stderr is a terminal; None otherwise, so
    piped or captured output (JSON, SARIF, CI logs, tests) is exactly what it was without it."""
    if not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    lang = current_lang(lang)
    tasks: dict[str, object] = {}
    with Progress(TextColumn("{task.fields[label]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console, transient=True) as bar:

        def update(step) -> None:
            if step.stage not in tasks:
                ja, en = STAGE_LABELS.get(step.stage, (step.stage, step.stage))
                tasks[step.stage] = bar.add_task("", total=step.total, label=ja if lang == "ja" else en)
            bar.update(tasks[step.stage], completed=step.done, total=step.total, description=step.item)

        yield update


def _version(value: bool) -> None:
    if value:
        console.print(f"govcloud {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    root: Optional[Path] = typer.Option(None, "--root", help="Workspace folder (default: $GOVCLOUD_ROOT, or the nearest folder upwards with tenants/ and Pulumi.yaml)."),
    lang: Optional[Lang] = typer.Option(None, "--lang",
                                       help="Language: ja or en (default: $GOVCLOUD_LANG, the locale, else ja). Help, findings, reports."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    _state["lang"] = resolve_lang(lang)
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
            lang = current_lang()
            for diag in exc.diagnostics:
                err_console.print(diag.format(lang), markup=False, highlight=False, soft_wrap=True)
            errors = sum(1 for d in exc.diagnostics if d.severity == "error")
            files = len({d.path for d in exc.diagnostics})
            err_console.print(messages.summary(errors, files, lang), markup=False, highlight=False)
            raise typer.Exit(1) from None
        except UsageError as exc:
            text = messages.translate_lines("usage", str(exc)) if current_lang() == "ja" else str(exc)
            err_console.print(f"error: {text}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _register() -> None:
    from govcloud.cli import live_cmd, network_cmd, policies_cmd, report_cmd, serve_cmd, stacks_cmd, tenants_cmd

    tenants_cmd.register(app)
    stacks_cmd.register(app)
    network_cmd.register(app)
    policies_cmd.register(app)
    live_cmd.register(app)
    report_cmd.register(app)
    serve_cmd.register(app)


_register()


def _argv_lang(argv: list[str]) -> str | None:
    """--lang as written anywhere on the command line: help is rendered before any callback runs."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in LANGS:
            return argv[i + 1]
        if arg.startswith("--lang=") and arg.split("=", 1)[1] in LANGS:
            return arg.split("=", 1)[1]
    return None


def help_texts_ja() -> dict:
    from govcloud import yamlio

    data, _ = yamlio.load_file(Path(__file__).with_name("help_ja.yaml"))
    return data["commands"]


def commands(command, path: str = ""):
    """(path, command) for the whole tree, root first."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from commands(sub, f"{path} {name}".strip())


def param_key(param) -> str:
    longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return longs[0] if param.param_type_name == "option" and longs else param.name


def _plain_help_option(cmd, text: str | None) -> None:
    """click adds --help when help is rendered, not at definition: give it the same conventions."""
    original = cmd.get_help_option

    def get_help_option(ctx):
        option = original(ctx)
        if option is not None:
            option.metavar = ""
            if text:
                option.help = text
        return option

    cmd.get_help_option = get_help_option


def polish(command, lang: str) -> None:
    """Conventions every command follows, applied once to the whole tree: plain metavars (flags
    show none, values show a name, never <bool> or <list[str]>) and the help in the chosen language."""
    texts = help_texts_ja() if lang == "ja" else {}
    for path, cmd in commands(command):
        _plain_help_option(cmd, "このヘルプを表示して終了します。" if lang == "ja" else None)
        entry = texts.get(path, {})
        if entry.get("help"):
            cmd.help = entry["help"]
            cmd.short_help = None
        for param in cmd.params:
            if param.param_type_name == "option" and (getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False)):
                param.metavar = ""
            elif param.metavar is None:
                descriptor = getattr(param, "type_descriptor", None)
                if descriptor is not None and descriptor.is_choice:
                    param.metavar = "|".join(str(c) for c in descriptor.choices)
                else:
                    param.metavar = param.name.upper().replace("_", "-") + ("..." if param.nargs != 1 or getattr(param, "multiple", False) else "")
            ja = entry.get("params", {}).get(param_key(param))
            if ja:
                param.help = ja


def main() -> None:
    command = typer.main.get_command(app)
    try:
        lang = resolve_lang(_argv_lang(sys.argv[1:]))
    except CliUsageError as exc:
        err_console.print(f"error: {exc.message}", markup=False, highlight=False)
        sys.exit(2)
    polish(command, lang)
    command(prog_name="govcloud")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

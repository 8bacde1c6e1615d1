"""A value outside a closed set is a usage error everywhere: exit 2, a message that names the
argument or option, and no traceback (govcloud/cli/__init__.py: "2: the command line itself was
wrong"). The walk covers every command of the installed ``govcloud`` and every parameter whose
values are a closed set, so a new command with a choice is covered without a new test."""

from __future__ import annotations

import re
import subprocess

import pytest
import typer
from typer.testing import CliRunner

from govcloud import cli
from tests.conftest import govcloud_bin

BAD = "no-such-value"
# Help that lists a closed set ("text or json.", "One of: ...") must belong to a choice parameter,
# or to a value checked by a callback (a stack name has three shapes, tenant-<name> among them).
CLOSED_SET_HELP = re.compile(r"^(?:One of: .*|[\w-]+(?:, [\w-]+)* or [\w-]+\.)$")
CHECKED_BY_CALLBACK = {("plan", "stack"), ("preview", "stack"), ("up", "stack")}


def _tree():
    command = typer.main.get_command(cli.app)
    cli.polish(command, "en")
    return command


def _choices(param) -> tuple | None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice:
        return tuple(str(getattr(c, "value", c)) for c in descriptor.choices)
    choices = getattr(getattr(param, "type", None), "choices", None)  # a plain click.Choice, should one appear
    return tuple(choices) if choices else None


def _filler(param) -> list[str]:
    """A well-formed value for another required parameter, so the bad one is the one refused."""
    choices = _choices(param)
    value = choices[0] if choices else ("1" if param.name in ("seq",) else "foundation" if param.name == "stack" else "x")
    if param.param_type_name == "argument":
        return [value]
    return [next(o for o in param.opts if o.startswith("--")), value]


def _cases():
    out = []
    for path, command in cli.commands(_tree()):
        for param in command.params:                   # a group's own options too (serve, the root)
            if _choices(param) or (path, param.name) in CHECKED_BY_CALLBACK:
                out.append((path, param.name))
    return out


CASES = _cases()


def _argv(path: str, name: str) -> tuple[list[str], str]:
    command = _tree()
    for part in path.split():
        command = command.commands[part]
    args: list[str] = []
    options: list[str] = []
    label = ""
    for param in command.params:
        if param.name == name:
            if param.param_type_name == "argument":
                args.append(BAD)
                label = param.metavar or param.name.upper()
            else:
                label = next(o for o in param.opts if o.startswith("--"))
                options += [label, BAD]
        elif param.required:
            (args if param.param_type_name == "argument" else options).extend(_filler(param))
    if getattr(command, "commands", None) and not args:
        args.append(sorted(command.commands)[0])       # a group: its options come before a sub-command
    return [*path.split(), *options, *args], label


def test_the_walk_finds_the_closed_sets():
    found = set(CASES)
    for expected in [("catalogue", "what"), ("schema", "kind"), ("check", "fmt"), ("audit", "fmt"),
                     ("network compile", "target"), ("dev-cloud fault add", "error"), ("serve", "secure_cookies"),
                     ("plan", "stack"), ("up", "stack")]:
        assert expected in found, expected
    assert len(found) >= 25


def test_every_closed_set_is_a_choice():
    """Help text that lists values is a promise that nothing else is accepted: such a parameter
    must be typed as a choice (Literal) or checked by a callback, or a bad value reaches the command."""
    loose = []
    for path, command in cli.commands(_tree()):
        for param in command.params:
            if CLOSED_SET_HELP.match(param.help or "") and not _choices(param) and (path, param.name) not in CHECKED_BY_CALLBACK:
                loose.append(f"{path} {param.name}: {param.help}")
    assert not loose, loose


@pytest.mark.parametrize("path,name", CASES, ids=[f"{p or 'govcloud'}:{n}" for p, n in CASES])
def test_a_value_outside_the_set_exits_2_naming_the_parameter(path, name, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVCLOUD_ROOT", str(tmp_path))     # nothing may run: no workspace is there
    monkeypatch.setenv("COLUMNS", "400")                   # rich's error box would wrap the name
    argv, label = _argv(path, name)
    result = CliRunner().invoke(cli.app, argv, prog_name="govcloud")
    text = result.output
    assert result.exit_code == 2, (argv, result.exit_code, text)
    assert f"'{label}'" in text and BAD in text, (argv, text)
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception)
    assert "Traceback" not in text


@pytest.mark.parametrize("argv,label", [
    (["catalogue", "foo"], "CATALOGUE"),
    (["schema", "Foo"], "KIND"),
    (["check", "--format", "xml"], "--format"),
    (["plan", "--stack", "nope"], "--stack"),
    (["--lang", "fr", "catalogue"], "--lang"),
])
def test_the_installed_executable_exits_2(argv, label, tmp_path):
    proc = subprocess.run([govcloud_bin(), *argv], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "400", "GOVCLOUD_ROOT": str(tmp_path)})
    assert proc.returncode == 2, (argv, proc.returncode, proc.stderr)
    assert f"'{label}'" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout

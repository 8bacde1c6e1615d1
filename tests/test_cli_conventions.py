"""Command-line conventions, held for every command at once: exit codes (2 for a bad value or
usage), plain metavars, the language switch and Japanese help for every command and option."""

from __future__ import annotations

import pytest
import typer

from govcloud import cli


@pytest.fixture(scope="module")
def tree():
    command = typer.main.get_command(cli.app)
    cli.polish(command, "ja")
    return command


def test_every_command_option_and_argument_has_japanese_help(tree) -> None:
    texts = cli.help_texts_ja()
    missing = []
    for path, command in cli.commands(tree):
        entry = texts.get(path)
        if not entry or not entry.get("help"):
            missing.append(f"command {path or '(root)'}")
            continue
        for param in command.params:
            if param.name in ("install_completion", "show_completion"):
                continue
            if cli.param_key(param) not in entry.get("params", {}):
                missing.append(f"{path} {cli.param_key(param)}")
    assert not missing, f"add to govcloud/cli/help_ja.yaml: {missing}"
    stale = sorted(set(texts) - {path for path, _ in cli.commands(tree)})
    assert not stale, f"help_ja.yaml describes commands that do not exist: {stale}"


def test_metavars_are_plain(tree) -> None:
    for path, command in cli.commands(tree):
        for param in command.params:
            assert param.metavar is not None and "<" not in param.metavar and "[" not in param.metavar, (path, param.name)


@pytest.mark.parametrize("args", [
    ("check", "--format", "xml"), ("check", "--lang", "fr"), ("--lang", "fr", "validate"),
    ("audit", "--format", "yaml"), ("audit", "--tenant", "x", "--all"), ("network", "drift", "--format", "xml"),
    ("dev-cloud", "status", "--format", "yaml"), ("plan", "--jobs", "-1"), ("no-such-command",),
])
def test_a_bad_value_or_usage_exits_2(run, args) -> None:
    proc = run(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr


def test_help_follows_the_language(run) -> None:
    ja = run("check", "--help", env={"GOVCLOUD_LANG": "ja"}).stdout
    en = run("--lang", "en", "check", "--help", env={"GOVCLOUD_LANG": "ja"}).stdout
    assert "計画文書のフォルダ" in ja and "このヘルプを表示" in ja
    assert "Folder of plan documents" in en and "計画文書" not in en
    for text in (ja, en):
        assert "<bool>" not in text and "<path>" not in text and "<list" not in text


def test_a_bad_language_in_the_environment_is_a_usage_error(run) -> None:
    proc = run("validate", env={"GOVCLOUD_LANG": "fr"})
    assert proc.returncode == 2 and "GOVCLOUD_LANG must be ja or en" in proc.stderr


@pytest.mark.parametrize("explicit, env, expected", [
    ("en", {"GOVCLOUD_LANG": "ja"}, "en"),
    (None, {"GOVCLOUD_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
    (None, {"LANG": "C.UTF-8"}, "ja"),
    (None, {}, "ja"),
])
def test_language_resolution(monkeypatch, explicit, env, expected) -> None:
    for var in ("GOVCLOUD_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert cli.resolve_lang(explicit) == expected


def test_findings_follow_the_global_language(ws, run) -> None:
    import json

    run("plan", "--tenant", "131016-juki-prod", check=True)
    path = ws / "build" / "plans" / "tenant-131016-juki-prod.json"
    doc = json.loads(path.read_text())
    for r in doc["deployment"]["resources"]:
        if r["type"] == "aws:cloudtrail/trail:Trail":
            r["inputs"]["enableLogFileValidation"] = False
    path.write_text(json.dumps(doc))
    en = run("--lang", "en", "check", "--no-checkov", "--partial", env={"GOVCLOUD_LANG": "ja"})
    ja = run("check", "--no-checkov", "--partial", env={"GOVCLOUD_LANG": "ja", "LANG": "en_US.UTF-8"})
    assert en.returncode == ja.returncode == 1
    assert "CloudTrail log file validation is enabled" in en.stdout
    assert "ログファイル検証" in ja.stdout

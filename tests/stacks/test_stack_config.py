"""Pulumi config is read the way the program reads it, and what it would ignore or misread is a
diagnostic with file and line before anything is planned."""

from __future__ import annotations

import pytest

from govcloud.diagnostics import DiagnosticError
from govcloud.stacks.planner import read_stack_config
from govcloud.templates.base import settings_from_config
from govcloud.workspace import Workspace


def test_the_sample_config_reads(ws):
    config = read_stack_config(Workspace(ws), "foundation")
    assert settings_from_config(config).log_retention_days == 400


@pytest.mark.parametrize("new, code, needle", [
    ("govcloud:logRetentionDay: 30", "GC102", "did you mean govcloud:logRetentionDays?"),
    ("govcloud:logRetentionDays: forever", "GC101", "must be a whole number"),
    ("colour: blue", "GC102", "unknown config key govcloud:colour"),
    ("govcloud:logRetentionDays: 0", "GC101", "CloudWatch Logs' retention periods"),
    ("govcloud:logRetentionDays: ２", "GC101", "must be a whole number"),
    ("govcloud:inspectionCidr: 5", "GC101", "must be text"),
    ("govcloud:logRetentionDays: {secure: v1:abc}", "GC101", "is not a secret"),
])
def test_a_misspelt_or_mistyped_key_is_refused_with_its_line(ws, new, code, needle):
    path = ws / "Pulumi.yaml"
    text = path.read_text()
    old = "govcloud:logRetentionDays: 400"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DiagnosticError) as caught:
        read_stack_config(Workspace(ws), "foundation")
    (d,) = caught.value.diagnostics
    assert (d.code, d.path.endswith("Pulumi.yaml")) == (code, True) and needle in d.message
    assert d.line == text[: text.index(old)].count("\n") + 1


def test_other_namespaces_are_left_to_their_providers(ws):
    stack_file = ws / "Pulumi.foundation.yaml"
    stack_file.write_text("config:\n  aws:region: ap-northeast-1\n  pulumi:tags: {a: b}\n")
    assert read_stack_config(Workspace(ws), "foundation")["aws:region"] == "ap-northeast-1"


def test_stack_keys_read_by_one_program_are_known(ws):
    config = read_stack_config(Workspace(ws), "network")
    assert "govcloud:attachmentIds" in config
    (ws / "Pulumi.foundation.yaml").write_text("config:\n  govcloud:logArchiveRetentionDays: seven\n")
    with pytest.raises(DiagnosticError, match="must be a whole number"):
        read_stack_config(Workspace(ws), "foundation")


def test_validate_reports_the_config_and_a_missing_project_file(ws, run):
    path = ws / "Pulumi.yaml"
    text = path.read_text()
    path.write_text(text.replace("govcloud:logRetentionDays: 400", "govcloud:logRetentionDay: 30"))
    proc = run("validate")
    assert proc.returncode == 1 and "did you mean govcloud:logRetentionDays?" in proc.stderr
    assert proc.stderr.count("unknown config key") == 1          # once, though every stack reads it
    path.unlink()
    proc = run("validate")
    assert proc.returncode == 1 and "Pulumi.yaml is missing" in proc.stderr and "Traceback" not in proc.stderr

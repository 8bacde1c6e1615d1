"""What is in a document folder is read or refused, never skipped; what sits where a file must be
written is refused before anything is written (found in review: validate passed a tenant saved as
.yml, and apply crashed half-way on a folder named like a tenant file)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import approve_args, tree_snapshot

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"


def refused(proc, *needles, code=1):
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize("make, needle", [
    (lambda a: shutil.copy(a / "131016-juki-prod.yaml", a / "x.yml"), "rename it to x.yaml"),
    (lambda a: (a / "notes.txt").write_text("hello"), "only *.yaml documents belong"),
    (lambda a: os.symlink(a / "missing.yaml", a / "gone.yaml"), "dangling or looping symbolic link"),
    (lambda a: os.symlink(a / "loop.yaml", a / "loop.yaml"), "dangling or looping symbolic link"),
    (lambda a: os.symlink("/etc/hostname", a / "outside.yaml"), "outside the workspace"),
    (lambda a: (a / "folder.yaml").mkdir(), "not a regular file"),
    (lambda a: os.mkfifo(a / "pipe.yaml"), "not a regular file"),
], ids=["yml", "txt", "dangling", "loop", "outside", "folder", "fifo"])
def test_validate_refuses_what_it_would_otherwise_skip(ws, run, make, needle):
    make(ws / "tenants/active")
    refused(run("validate"), "GC100", needle)


def test_hidden_files_are_left_alone(ws, run):
    (ws / "tenants/active/.gitkeep").write_text("")
    run("validate", check=True)


def test_a_folder_where_apply_writes_a_tenant_is_refused_before_anything_is_written(ws, run):
    run(*approve_args(EXAMPLE, "platform"), check=True)
    run(*approve_args(EXAMPLE, "132012"), check=True)
    # The folder is named like a document: validate (which every write runs first) refuses it.
    (ws / "tenants/active/132012-juki-staging.yaml").mkdir()
    before = tree_snapshot(ws)
    refused(run("request", "apply", EXAMPLE), "not a regular file")
    assert tree_snapshot(ws) == before
    assert not (ws / ".govcloud/journal").exists()
    (ws / "tenants/active/132012-juki-staging.yaml").rmdir()
    run("request", "apply", EXAMPLE, check=True)


def test_the_history_as_a_folder_or_fifo_is_a_diagnostic(ws, run):
    (ws / "tenants/history.jsonl").unlink()
    (ws / "tenants/history.jsonl").mkdir()
    for args in (("history", "verify"), ("validate",), ("request", "status", EXAMPLE)):
        refused(run(*args), "not a regular file")
    (ws / "tenants/history.jsonl").rmdir()
    os.mkfifo(ws / "tenants/history.jsonl")
    refused(run("history", "verify"), "not a regular file")       # and does not hang


@pytest.mark.parametrize("args, make", [
    (("history", "signature", "17", "--out", "{f}"), "file"),
    (("check", "--out", "{d}"), "dir"),
], ids=["signature-out-is-a-file", "check-out-is-a-folder"])
def test_an_output_path_of_the_wrong_kind_is_refused(ws, run, tmp_path, args, make):
    target = tmp_path / "target"
    target.mkdir() if make == "dir" else target.write_text("keep me")
    proc = run(*[a.format(f=target, d=target) for a in args])
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc.stderr
    if make == "file":
        assert target.read_text() == "keep me"


def test_an_output_folder_that_is_a_dangling_link_is_refused(ws, run, tmp_path):
    os.symlink(tmp_path / "nowhere" / "deeper", tmp_path / "out")
    refused(run("history", "signature", "17", "--out", str(tmp_path / "out")), "dangling link")

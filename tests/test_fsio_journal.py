"""The write-ahead journal (govcloud/fsio.py): a transaction interrupted at any step is recovered
to all-old or all-new, never a mix, and leaves no file behind but its targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from govcloud import fsio
from tests.conftest import examples

NAMES = ["tenants/a.yaml", "tenants/b.yaml", "tenants/active/c.yaml", "tenants/history.jsonl"]


class Killed(BaseException):
    """Stands in for os._exit: nothing after the step runs, no exception handler cleans up."""


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".govcloud" not in p.parts}


def kill_at(monkeypatch, step: int) -> None:
    counter = {"n": 0}

    def point(label: str) -> None:
        counter["n"] += 1
        if counter["n"] == step:
            raise Killed(label)

    monkeypatch.setattr(fsio, "crash_point", point)


def count_steps(monkeypatch) -> list[str]:
    labels: list[str] = []
    monkeypatch.setattr(fsio, "crash_point", labels.append)
    return labels


initial_files = st.dictionaries(st.sampled_from(NAMES), st.binary(max_size=20), max_size=4)
changes = st.dictionaries(st.sampled_from(NAMES), st.one_of(st.none(), st.binary(max_size=20)), min_size=1, max_size=4)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=initial_files, writes=changes, step=st.integers(1, 20), recovery_kill=st.integers(0, 6))
def test_a_kill_at_any_step_recovers_to_all_old_or_all_new(tmp_path_factory, initial, writes, step, recovery_kill):
    root = tmp_path_factory.mktemp("ws")
    journal = root / ".govcloud" / "journal"
    for name, data in initial.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    old = tree(root)
    new = dict(old)
    for name, data in writes.items():
        if data is None:
            new.pop(name, None)
        else:
            new[name] = data
    with pytest.MonkeyPatch.context() as mp:
        kill_at(mp, step)
        try:
            fsio.commit(root, journal, {root / n: d for n, d in writes.items()})
        except Killed:
            pass
        # the recovery itself may be killed too; the one after it finishes the job
        if recovery_kill:
            kill_at(mp, recovery_kill)
            try:
                fsio.recover(root, journal)
            except Killed:
                pass
    fsio.recover(root, journal)
    after = tree(root)
    assert after in (old, new)
    assert not journal.exists()
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_without_a_kill_the_commit_lands_and_cleans_up(tmp_path, monkeypatch):
    labels = count_steps(monkeypatch)
    (tmp_path / "x").write_text("old")
    fsio.commit(tmp_path, tmp_path / ".govcloud/journal", {tmp_path / "x": None, tmp_path / "d/y": "new"})
    assert not (tmp_path / "x").exists() and (tmp_path / "d/y").read_text() == "new"
    assert not (tmp_path / ".govcloud/journal").exists()
    assert labels[0].startswith("stage") and "commit (rename manifest)" in labels and labels[-1] == "remove journal folder"


def test_the_commit_point_decides(tmp_path, monkeypatch):
    journal = tmp_path / ".govcloud/journal"
    (tmp_path / "x").write_text("old")
    labels = count_steps(monkeypatch)
    fsio.commit(tmp_path, journal, {tmp_path / "x": "new"})
    commit_step = labels.index("commit (rename manifest)") + 1
    for step, expected in ((commit_step, "old"), (commit_step + 1, "new")):
        (tmp_path / "x").write_text("old")
        kill_at(monkeypatch, step)
        with pytest.raises(Killed):
            fsio.commit(tmp_path, journal, {tmp_path / "x": "new"})
        monkeypatch.setattr(fsio, "crash_point", lambda label: None)
        assert fsio.recover(tmp_path, journal)
        assert (tmp_path / "x").read_text() == expected


def test_an_ordinary_error_while_staging_leaves_nothing(tmp_path):
    journal = tmp_path / ".govcloud/journal"
    with pytest.raises(fsio.JournalError):
        fsio.commit(tmp_path, journal, {tmp_path / "ok": "a", tmp_path.parent / "outside": "b"})
    assert not journal.exists() and not (tmp_path / "ok").exists()


def test_a_pending_journal_blocks_a_new_commit(tmp_path):
    journal = tmp_path / ".govcloud/journal"
    journal.mkdir(parents=True)
    with pytest.raises(fsio.JournalError, match="unfinished transaction"):
        fsio.commit(tmp_path, journal, {tmp_path / "x": "a"})


@pytest.mark.parametrize("manifest", [
    "{not json", json.dumps({"format": 99, "writes": []}),
    json.dumps({"format": 1, "writes": [{"target": "../../etc/passwd", "staged": "0000.data"}]}),
    json.dumps({"format": 1, "writes": [{"target": "x", "staged": "../../y"}]}),
    json.dumps({"format": 1, "writes": [{"target": 3, "staged": None}]}),
])
def test_a_damaged_or_hostile_manifest_is_refused(tmp_path, manifest):
    journal = tmp_path / ".govcloud/journal"
    journal.mkdir(parents=True)
    (journal / "COMMIT").write_text(manifest)
    with pytest.raises(fsio.JournalError):
        fsio.recover(tmp_path, journal)
    assert (journal / "COMMIT").exists()          # kept for a person to inspect, nothing applied
    assert not (tmp_path / "x").exists()

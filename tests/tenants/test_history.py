import json
from pathlib import Path

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings, strategies as st

from govcloud.diagnostics import DiagnosticError
from govcloud.tenants import history
from tests.conftest import examples

REPO = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "ab" * 32


def approval(i: int) -> dict:
    return {"request": f"r{i}", "digest": DIGEST, "role": "platform", "by": f"p{i}"}


def build(tmp_path, n=4):
    h = history.History(())
    for i in range(n):
        h, _ = h.with_event("request.approved", "t", approval(i))
    path = tmp_path / "history.jsonl"
    path.write_text(h.render())
    return path, h


def test_intact_chain_verifies(tmp_path):
    path, h = build(tmp_path)
    assert history.verify(path) == []
    assert history.verify(path, expected_head=h.head) == []
    assert history.load(path).head == h.head


def test_new_entries_are_rfc8785_canonical_and_versioned(tmp_path):
    path, h = build(tmp_path, 1)
    entry = h.entries[0]
    assert entry["v"] == 2
    line = path.read_text().splitlines()[0]
    assert line.encode() == rfc8785.dumps(entry)
    body = {k: v for k, v in entry.items() if k != "hash"}
    import hashlib
    assert entry["hash"] == hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def test_the_v1_sample_history_still_verifies():
    # The sample history as committed before it was re-seeded signed (kept in tests/tenants/legacy/).
    hist, problems = history.scan(Path(__file__).parent / "legacy/history.jsonl")
    assert problems == [] and len(hist.entries) >= 17
    assert all("v" not in e for e in hist.entries[:17])


def test_a_v1_entry_after_a_v2_entry_is_refused(tmp_path):
    path, h = build(tmp_path, 1)
    legacy = {"seq": 2, "time": "2026-04-01T09:00:00Z", "event": "request.approved", "actor": "x",
              "data": approval(9), "prev": h.head}
    legacy["hash"] = history.entry_hash(legacy)
    path.write_text(path.read_text() + history.canonical(legacy) + "\n")
    assert "old format" in " ".join(m for _, m in history.verify(path))


def test_edited_entry_is_detected(tmp_path):
    path, _ = build(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["data"]["request"] = "forged"
    lines[1] = history.encode(entry)
    path.write_text("\n".join(lines) + "\n")
    problems = history.verify(path)
    assert problems and problems[0][0] == 2 and "edited" in problems[0][1]


def test_edited_and_rehashed_entry_breaks_the_next_link(tmp_path):
    path, _ = build(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "mallory"
    entry["hash"] = history.entry_hash(entry)
    lines[1] = history.encode(entry)
    path.write_text("\n".join(lines) + "\n")
    problems = history.verify(path)
    assert [line for line, _ in problems] == [3]


def test_deleted_middle_entry_is_detected(tmp_path):
    path, _ = build(tmp_path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    messages = " ".join(m for _, m in history.verify(path))
    assert "deleted" in messages


def test_truncated_tail_is_detected_against_expected_head(tmp_path):
    path, h = build(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    assert history.verify(path) == []  # a shorter chain is internally consistent ...
    assert history.verify(path, expected_head=h.head)  # ... but not the head that was recorded
    path.unlink()
    assert "missing" in history.verify(path, expected_head=h.head)[0][1]


def test_garbage_line_is_reported(tmp_path):
    path, _ = build(tmp_path)
    path.write_text(path.read_text() + "{not json\n")
    assert history.verify(path)[0][0] == 5


def test_a_line_cut_in_half_is_a_diagnostic_not_a_crash(tmp_path):
    path, _ = build(tmp_path)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])
    problems = history.verify(path)
    assert problems and problems[0][0] == 4
    with pytest.raises(DiagnosticError) as err:
        history.load(path)
    assert "history.jsonl:4:1: error[GC601]" in str(err.value)


@pytest.mark.parametrize("mutate, expect", [
    (lambda e: e.update(seq=True), "seq"),
    (lambda e: e.update(event="request.forged"), "event"),
    (lambda e: e["data"].update(role="admin"), "data.role"),
    (lambda e: e["data"].update(extra="x"), "data.extra"),
    (lambda e: e["data"].pop("digest"), "data.digest"),
    (lambda e: e.update(prev="zz"), "prev"),
    (lambda e: e.update(time=12), "time"),
])
def test_entries_are_typed(tmp_path, mutate, expect):
    path, _ = build(tmp_path, 2)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    mutate(entry)
    entry["hash"] = history.entry_hash(entry) if isinstance(entry.get("seq"), int) else entry["hash"]
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")
    problems = history.verify(path)
    assert problems and problems[0][0] == 2 and expect in problems[0][1], problems


def test_non_canonical_spelling_duplicate_keys_and_constants_are_refused(tmp_path):
    path, _ = build(tmp_path, 1)
    entry = json.loads(path.read_text())
    path.write_text(json.dumps(entry, indent=1).replace("\n", "") + "\n")
    assert "canonical" in history.verify(path)[0][1]
    path.write_text('{"seq":1,"seq":1}\n')
    assert "duplicate key" in history.verify(path)[0][1]
    path.write_text('{"seq":NaN}\n')
    assert "not valid JSON" in history.verify(path)[0][1]
    path.write_bytes(b'{"seq":"\xff"}\n')
    assert "not UTF-8" in history.verify(path)[0][1]
    path.write_text('{"a":"' + "x" * (history.MAX_LINE_BYTES + 1) + '"}\n')
    assert "limit" in history.verify(path)[0][1]


def test_with_event_refuses_data_it_could_not_read_back():
    with pytest.raises(Exception):
        history.History(()).with_event("request.applied", "t", {"request": "x"})


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_byte_damage_is_reported_never_raised(tmp_path, data):
    """Oracle: the chain verifies iff the bytes are unchanged; damage never escapes as an exception."""
    path, h = build(tmp_path, 3)
    raw = bytearray(path.read_bytes())
    op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
    pos = data.draw(st.integers(0, len(raw) - 1))
    if op == "flip":
        raw[pos] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    elif op == "cut":
        raw = raw[:pos]
    elif op == "insert":
        raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        del raw[pos]
    path.write_bytes(bytes(raw))
    problems = history.verify(path, expected_head=h.head)
    assert problems, f"damage {op} at {pos} went unnoticed"
    assert all(isinstance(line, int) and line >= 1 for line, _ in problems)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=examples(500), deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5))
def test_the_fast_encoder_spells_v2_entries_exactly_as_rfc8785(body):
    """Oracle: the rfc8785 library. Whenever the fast path is taken it must agree byte for byte."""
    entry = {**body, "v": 2}
    try:
        expected = rfc8785.dumps(entry).decode("utf-8")
    except Exception:               # the library refuses it (e.g. an integer beyond 2^53)
        assert not history._plain(entry)
        return
    assert history.encode(entry) == expected


def test_a_deeply_nested_line_is_a_diagnostic(tmp_path):
    from govcloud.tenants import history as h

    path = tmp_path / "history.jsonl"
    path.write_text("[" * 200_000 + "]" * 200_000 + "\n")
    problems = h.verify(path)
    assert problems and "nested too deeply" in problems[0][1]

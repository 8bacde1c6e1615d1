import json

from govcloud.tenants import history


def build(tmp_path, n=4):
    h = history.History(())
    for i in range(n):
        h, _ = h.with_event("request.applied", "t", {"request": f"r{i}"})
    path = tmp_path / "history.jsonl"
    path.write_text(h.render())
    return path, h


def test_intact_chain_verifies(tmp_path):
    path, h = build(tmp_path)
    assert history.verify(path) == []
    assert history.verify(path, expected_head=h.head) == []


def test_edited_entry_is_detected(tmp_path):
    path, _ = build(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["data"]["request"] = "forged"
    lines[1] = history.canonical(entry)
    path.write_text("\n".join(lines) + "\n")
    problems = history.verify(path)
    assert problems and problems[0][0] == 2 and "edited" in problems[0][1]


def test_edited_and_rehashed_entry_breaks_the_next_link(tmp_path):
    path, _ = build(tmp_path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "mallory"
    entry["hash"] = history.entry_hash(entry)
    lines[1] = history.canonical(entry)
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


def test_garbage_line_is_reported(tmp_path):
    path, _ = build(tmp_path)
    path.write_text(path.read_text() + "{not json\n")
    assert history.verify(path)[0][0] == 5

"""Same person, different bytes: approvers are compared after NFKC, width and case folding,
invisible characters removed and white space collapsed."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govcloud.tenants.identity import person_key, same_person

LOOK_ALIKES = [
    ("Sato Hanako", "Sato Hanako "),               # trailing space
    ("Sato Hanako", "  sato   hanako"),            # spaces and case
    ("Sato Hanako", "Ｓａｔｏ　Ｈａｎａｋｏ"),          # full-width letters, ideographic space
    ("Sato Hanako", "Sato\u200bHanako".replace("\u200b", " \u200b")),  # zero-width space
    ("佐藤 花子", "佐藤　花子"),                      # ideographic space between kanji
    ("ｻﾄｳ ﾊﾅｺ", "サトウ ハナコ"),                    # half-width katakana
    ("STRASSE", "straße"),                         # full case folding
    ("ﬁnance team", "finance team"),               # ligature
    ("Sato\tHanako", "Sato\nHanako"),              # any white space
]


@pytest.mark.parametrize("a,b", LOOK_ALIKES)
def test_look_alikes_are_the_same_person(a, b):
    assert same_person(a, b)


@pytest.mark.parametrize("a,b", [("Sato Hanako", "Sato Hanaka"), ("佐藤 花子", "佐藤 花"), ("Sato", "Satō")])
def test_different_names_stay_different(a, b):
    assert not same_person(a, b)


@given(st.text(max_size=40))
def test_key_is_idempotent_and_padding_free(name):
    key = person_key(name)
    assert person_key(key) == key
    assert key == key.strip() and "  " not in key
    assert same_person(name, f"  {name}\u3000\u200b")


def test_cli_refuses_the_same_person_in_both_roles(ws, run):
    request = ws / "tenants/requests/examples/hachioji-juki.yaml"
    if not request.exists():
        pytest.skip("sample request missing")
    first = run("request", "approve", str(request), "--by", "Sato Hanako", "--role", "platform")
    assert first.returncode == 0, first.stderr
    again = run("request", "approve", str(request), "--by", "ｓａｔｏ　ｈａｎａｋｏ ", "--role", "municipality")
    assert again.returncode == 1 and "different people" in again.stderr
    blank = run("request", "approve", str(request), "--by", "\u200b\u3000", "--role", "municipality")
    assert blank.returncode == 1 and "must name the approver" in blank.stderr

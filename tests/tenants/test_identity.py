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


def test_one_person_cannot_be_declared_twice(ws, run):
    """Two principals that are one person (name equal after folding, or same e-mail) would let one
    person give two approvals: the Principals document is refused."""
    path = ws / "tenants/principals.yaml"
    text = path.read_text()
    twin = ("    - id: yamada-twin\n      displayName: \"ＹＡＭＡＤＡ\u3000太郎\"\n      email: other@platform.govcloud.example\n"
            "      role: platform\n    - id: yamada-taro\n")
    path.write_text(text.replace("    - id: yamada-taro\n", twin.replace("ＹＡＭＡＤＡ", "山田"), 1))
    proc = run("validate")
    assert proc.returncode == 1 and "GC605" in proc.stderr and "same person" in proc.stderr


def test_typed_names_are_no_approval(ws, run):
    request = "tenants/requests/examples/hachioji-juki.yaml"
    proc = run("request", "approve", request, "--by", "Sato Hanako", "--role", "platform")
    assert proc.returncode == 2 and "approvals are signed" in proc.stderr

import pytest

from govcloud import yamlio
from govcloud.diagnostics import DiagnosticError


def test_leading_zero_codes_stay_strings():
    data, _ = yamlio.load_text("codes: [011002, 131016]\nflag: no\non: yes\nn: 42\nx: 0x10\n", "t.yaml")
    assert data == {"codes": ["011002", 131016], "flag": "no", "on": "yes", "n": 42, "x": 16}


def test_positions_point_at_keys_and_items():
    text = "a:\n  b: 1\n  c:\n    - x\n    - y\n"
    _, pos = yamlio.load_text(text, "t.yaml")
    assert pos[("a", "b")] == (2, 3)
    assert pos[("a", "c", 1)] == (5, 7)


def test_duplicate_key_is_an_error_with_position():
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_text("spec:\n  region: a\n  region: b\n", "t.yaml")
    (d,) = exc.value.diagnostics
    assert (d.code, d.line, d.col, d.field) == ("GC104", 3, 3, "spec.region")


def test_syntax_error_names_line():
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_text("a: [1, 2\nb: 3\n", "t.yaml")
    (d,) = exc.value.diagnostics
    assert d.code == "GC100" and d.line >= 2

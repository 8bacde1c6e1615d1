import json

import pytest
import yaml

from govcloud import yamlio
from govcloud.diagnostics import DiagnosticError
from tests.conftest import examples


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


# --- hostile input: a diagnostic, never a crash or a hang ------------------------------------------

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.parametrize("text,code,line", [
    (BILLION_LAUGHS, "GC106", 7),
    ("a: &a [*a]\n", "GC106", 1),
    ("a: &a {b: *a}\n", "GC106", 1),
    ("[" * 100_000 + "]" * 100_000, "GC106", 1),          # libyaml's composer would segfault
    ("{a: " * 10_000 + "1" + "}" * 10_000, "GC106", 1),
    ("a: 1\nb: x\x00y\n", "GC100", 2),
    ("a: 1\n\nb: \x1b[31m\n", "GC100", 3),
    ("a: *nowhere\n", "GC100", 1),
    ("a: !!binary aGVsbG8=\n", "GC100", 1),
    ("a: !!python/object:os.system x\n", "GC100", 1),
    ("a: !!set {x}\n", "GC100", 1),
    ("a: 1\n---\nb: 2\n", "GC100", 2),
    ("a: " + "9" * 5000 + "\n", "GC100", 1),
])
def test_hostile_yaml_is_a_diagnostic(text, code, line):
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_text(text, "h.yaml")
    (d,) = exc.value.diagnostics
    assert (d.code, d.line) == (code, line), d.format()


def test_aliases_within_limits_still_work():
    data, _ = yamlio.load_text("base: &b {x: 1}\nuse: *b\n", "t.yaml")
    assert data == {"base": {"x": 1}, "use": {"x": 1}}


def test_limits_are_configurable():
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_text("a: [1, 2, 3]\n", "t.yaml", yamlio.Limits(max_nodes=3))
    assert exc.value.diagnostics[0].code == "GC106"


def test_non_utf8_names_the_line_of_the_bad_byte(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes("a: 1\nb: 住所\nc: \xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_file(path)
    (d,) = exc.value.diagnostics
    assert (d.code, d.line, d.col) == ("GC100", 3, 4) and "0xff" in d.message


def test_size_limit_is_checked_before_reading(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n")
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_file(path, yamlio.Limits(max_bytes=1000))
    assert exc.value.diagnostics[0].code == "GC106"


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_file(tmp_path)
    assert exc.value.diagnostics[0].code == "GC100"


@pytest.mark.parametrize("text,code,line", [
    ('{"a": 1,\n "a": 2}', "GC100", 2),      # at the repeated key
    ('{"a": {"b": 1,\n\n "b": 2}}', "GC100", 3),
    ('{"a": NaN}', "GC100", 1),
    ("[" * 50_000 + "]" * 50_000, "GC106", 1),
    ('{\n"a": x}', "GC100", 2),
])
def test_hostile_json_is_a_diagnostic(text, code, line):
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_json_text(text, "p.json")
    (d,) = exc.value.diagnostics
    assert (d.code, d.line) == (code, line), d.format()


def test_json_lines_report_their_own_line():
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_json_text('{"seq": 1, "x": }', "h.jsonl", line=7)
    assert exc.value.diagnostics[0].line == 7


# --- fuzz: any text gives data or a diagnostic ------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

YAML_ALPHABET = st.sampled_from(list("ab01:-[]{},&*!|>'\"#%@`?\n\t \x00\x85\u3000住") + ["&a ", "*a", "!!", "- ", ": "])


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.lists(YAML_ALPHABET, max_size=80).map("".join)))
def test_fuzz_yaml_loader_never_crashes(text):
    try:
        data, positions = yamlio.load_text(text, "f.yaml")
    except DiagnosticError as exc:
        assert exc.diagnostics and all(d.line >= 1 and d.code.startswith("GC") for d in exc.diagnostics)
        return
    assert isinstance(positions, dict)
    assert yamlio.json_depth(data) <= yamlio.DEFAULT_LIMITS.max_depth


@settings(max_examples=examples(1000), deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(list('{}[]",:0123456789.eE-+ntrufalse\\ \n')),
                                                  max_size=80).map("".join)))
def test_fuzz_json_loader_never_crashes(text):
    try:
        yamlio.load_json_text(text, "f.json")
    except DiagnosticError as exc:
        assert exc.diagnostics and exc.diagnostics[0].line >= 1


@pytest.mark.parametrize("text", [BILLION_LAUGHS, "a: &a [*a]\n", "[" * 100_000, "apiVersion: govcloud/v1\x00\n",
                                  "spec:\n" + "  " * 0 + "- " * 5000 + "x\n"])
def test_hostile_request_through_the_cli(ws, run, text):
    path = ws / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    proc = run("request", "validate", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "hostile.yaml:" in proc.stderr and ("GC106" in proc.stderr or "GC100" in proc.stderr)


# --- the depth limit does not depend on which parser (or which release of it) reads the file --------
# PyYAML 6.0.4 bundles libyaml 0.2.6, whose scanner refuses more than 1,000 flow levels while reading
# ahead, before the events yamlio counts exist: "[" * 100_000 was GC100 with it and GC106 before it.

DEEP_YAML = [
    "[" * 2000,
    "{" * 2000,
    "a: " + "[" * 2000,
    "- " + "{" * 2000,
    "--- " + "[" * 2000,
    "\ufeff" + "[" * 2000,
    "a: !!seq " + "[" * 2000,
    "a: &x " + "[" * 2000,
    '{"a":' * 2000,
    "[\n" * 2000,
    "a: |\n  [[[\nb: " + "[" * 2000,                 # a block scalar ends where its indentation does
    "# [[[\n" + "[" * 2000,
    "a: '[[[' # ]]]]\nb: " + "[" * 2000,
    "[" * 65 + "]" * 65,
]


@pytest.fixture(scope="module")
def pure_yamlio():
    """A copy of yamlio built on PyYAML's pure-Python loader (what it uses where libyaml is absent)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("yamlio_pure", yamlio.__file__)
    module = importlib.util.module_from_spec(spec)
    saved = yaml.__dict__.pop("CSafeLoader", None), yaml.__dict__.pop("CSafeDumper", None)
    sys.modules["yamlio_pure"] = module          # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["yamlio_pure"]
        for name, value in zip(("CSafeLoader", "CSafeDumper"), saved):
            if value is not None:
                setattr(yaml, name, value)
    assert module.StrictLoader.__mro__[1] is yaml.SafeLoader
    return module


@pytest.mark.parametrize("text", DEEP_YAML)
@pytest.mark.parametrize("loader", ["C", "pure"])
def test_deep_yaml_is_gc106_whoever_would_stop_first(text, loader, pure_yamlio):
    module = pure_yamlio if loader == "pure" else yamlio
    with pytest.raises(DiagnosticError) as exc:
        module.load_text(text, "h.yaml")
    (d,) = exc.value.diagnostics
    assert d.code == "GC106", d.format()


def test_yaml_nested_exactly_to_the_limit_loads_with_every_parser():
    """yamlio's limit sits below every parser's own: a document nested max_depth levels loads with
    libyaml, PyYAML's pure-Python loader and ruamel.yaml (tenants/ipam.py's round trip)."""
    from ruamel.yaml import YAML

    n = yamlio.DEFAULT_LIMITS.max_depth
    flow = "[" * n + "x" + "]" * n
    block = "".join("  " * i + "- \n" for i in range(n - 1)) + "  " * (n - 1) + "- x\n"
    mixed = "a:\n" * 0 + "".join("  " * i + "k:\n" for i in range(n // 2)) + "  " * (n // 2) + "k: " + "[" * (n - n // 2 - 1) + "x" + "]" * (n - n // 2 - 1) + "\n"
    for text in (flow, block, mixed):
        data, _ = yamlio.load_text(text, "t.yaml")
        assert yamlio.json_depth(data) == n
        assert yaml.load(text, Loader=yaml.SafeLoader) == data
        if hasattr(yaml, "CSafeLoader"):
            assert yaml.load(text, Loader=yaml.CSafeLoader) == data
        assert YAML(typ="safe", pure=True).load(text) == data
        with pytest.raises(DiagnosticError) as exc:
            yamlio.load_text(text, "t.yaml", yamlio.Limits(max_depth=n - 1))
        assert exc.value.diagnostics[0].code == "GC106"


def _nested(depth: int, kinds: list[bool], leaf: str):
    node: object = leaf
    for i in range(depth):
        node = {f"k{i}": node} if kinds[i % len(kinds)] else [node]
    return node


LEAVES = st.sampled_from(["x", "[", "]]", "{a: [", "# [[", "it's [", '"[["', "a: b", "|", "> [", "- [", "&a [", "---"])


@settings(max_examples=examples(150), deadline=None)
@given(depth=st.integers(1, 90), kinds=st.lists(st.booleans(), min_size=1, max_size=5), leaf=LEAVES,
       style=st.sampled_from([True, False, None, "json"]))
def test_yaml_depth_oracle(depth, kinds, leaf, style):
    """Whatever the style and the characters in the strings, a document loads exactly when its
    depth (json_depth, the oracle) is within the limit, and is GC106 otherwise."""
    data = _nested(depth, kinds, leaf)
    text = json.dumps(data) if style == "json" else yaml.dump(data, default_flow_style=style, width=60)
    if yamlio.json_depth(data) <= yamlio.DEFAULT_LIMITS.max_depth:
        assert yamlio.load_text(text, "t.yaml")[0] == data
        if style == "json":
            assert yamlio.load_json_text(text, "t.json") == data
    else:
        for load in (yamlio.load_text,) + ((yamlio.load_json_text,) if style == "json" else ()):
            with pytest.raises(DiagnosticError) as exc:
                load(text, "t.yaml")
            assert exc.value.diagnostics[0].code == "GC106"


@pytest.mark.parametrize("text,line,col", [
    ("[" * 2000, 1, 65),
    ('{"a":\n' * 100, 65, 1),
    ('["]]]]", ' * 100 + "1" + "]" * 100, 1, 65 * 9 - 8),   # brackets in strings count for nothing
    ("{" * 65 + "}" * 65, 1, 65),
])
def test_deep_json_names_the_bracket_past_the_limit(text, line, col):
    with pytest.raises(DiagnosticError) as exc:
        yamlio.load_json_text(text, "p.json")
    (d,) = exc.value.diagnostics
    assert (d.code, d.line, d.col) == ("GC106", line, col), d.format()


def test_json_strings_full_of_brackets_are_not_nesting():
    text = json.dumps({"a": "[" * 5000, "b": ["{" * 100, "\\\"[[[["]})
    assert yamlio.load_json_text(text, "p.json") == json.loads(text)

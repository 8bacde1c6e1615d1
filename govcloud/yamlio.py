"""YAML and JSON in, YAML out, keeping the line and column of every field for diagnostics.

The loader follows YAML 1.2 scalar rules where YAML 1.1 surprises users of this domain:
``011002`` (a municipality code) stays the string ``"011002"`` instead of becoming the octal
integer 4610, and ``no``/``on`` stay strings. Duplicate keys are an error, not a silent override.

Every file is read with limits (DESIGN.md §4 "fail closed": a hostile file gets a diagnostic,
never a crash or a hang): a byte size, a nesting depth, a number of aliases and a number of nodes
*after* alias expansion (so a billion-laughs document is refused after one linear pass over its
events instead of being expanded), no self-referencing alias, UTF-8 only (the diagnostic names the
line of the first bad byte) and no control characters such as NUL. The limits are checked on the
parser's event stream before anything is composed: libyaml's composer recurses per nesting level
and takes the process down on a deeply nested document.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

from govcloud.diagnostics import Diagnostic, DiagnosticError, dotted

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class Limits:
    """What one file may cost to read. The defaults fit the largest real input (the address plan
    and plan documents of a national fleet: 1,741 municipalities × 20 systems × 2 environments)."""

    max_bytes: int = 32 * 1024 * 1024
    max_depth: int = 64
    max_aliases: int = 100
    max_nodes: int = 2_000_000        # after alias expansion


DEFAULT_LIMITS = Limits()


# YAML 1.1 resolvers that YAML 1.2 (and editors' YAML language server) do not have: dates stay
# strings (pydantic parses them where a date is meant), bool and int are re-added below.
_YAML11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:timestamp")


class StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+|0o[0-7]+)$"),
    list("-+0123456789"),
)


def _construct_yaml12_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = loader.construct_scalar(node)
    if value.startswith("0x"):
        return int(value, 16)
    if value.startswith("0o"):
        return int(value[2:], 8)
    return int(value)


StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_yaml12_int)


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node):
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {node.tag} is not allowed: documents hold only mappings, lists, strings, numbers, "
        f"booleans and null", node.start_mark)


# Documents are plain data: no bytes, sets, ordered pairs or datetimes sneaking past the models.
for _tag in ("binary", "set", "omap", "pairs", "timestamp"):
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


# C0 controls other than tab, LF and CR, DEL, C1 controls other than NEL, and the non-characters
# YAML 1.2 §5.1 excludes from a stream.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")


def _error(path, line: int, col: int, message: str, code: str = "GC100") -> DiagnosticError:
    return DiagnosticError([Diagnostic(str(path), line, col, code, message)])


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _check_text(text: str, path, limits: Limits) -> None:
    if len(text) > limits.max_bytes:
        raise _error(path, 1, 1, f"file is larger than {limits.max_bytes} bytes", "GC106")
    bad = _FORBIDDEN.search(text)
    if bad:
        line, col = _line_col(text, bad.start())
        raise _error(path, line, col, f"control character U+{ord(bad.group()):04X} is not allowed in a document")


def _check_events(text: str, path, limits: Limits) -> None:
    """One linear pass over the parser's events: nesting depth, alias count, self-referencing
    aliases and the node count after alias expansion, before anything recursive runs."""
    loader = StrictLoader(text)
    sizes: dict[str, int] = {}          # anchor -> nodes of its value, aliases expanded
    frames: list[list] = []             # open collections: [anchor, nodes so far]
    total = aliases = 0
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            mark = event.start_mark
            where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.max_aliases:
                    raise _error(path, *where, f"more than {limits.max_aliases} aliases", "GC106")
                if any(frame[0] == event.anchor for frame in frames):
                    raise _error(path, *where, f"alias *{event.anchor} refers to a node that contains it", "GC106")
                if event.anchor not in sizes:
                    raise _error(path, *where, f"alias *{event.anchor} names no anchor before it")
                grow = sizes[event.anchor]
            elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                grow = 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, count = frames.pop()
                if anchor is not None:
                    sizes[anchor] = count
                if frames:
                    frames[-1][1] += count
                continue
            else:
                continue
            total += grow
            if total > limits.max_nodes:
                raise _error(path, *where, f"more than {limits.max_nodes} nodes (aliases expanded)", "GC106")
            if isinstance(event, yaml.CollectionStartEvent):
                frames.append([event.anchor, 1])
                if len(frames) > limits.max_depth:
                    raise _error(path, *where, f"nested deeper than {limits.max_depth} levels", "GC106")
            else:
                if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                    sizes[event.anchor] = 1
                if frames:
                    frames[-1][1] += grow
    finally:
        loader.dispose()



# --- nesting depth counted on the text itself -------------------------------------------------------
#
# The limit on nesting must not depend on which parser reads the file, nor on which release of it:
# libyaml (PyYAML's C loader) refuses more than 1,000 levels since libyaml 0.2.6 (MAX_NESTING_LEVEL =
# 1000 in src/parser.c, "Limit depth of nesting by default ... The default maximum is 1000", libyaml
# commit 51843fe; PyYAML 6.0.4's wheel bundles it), and its *scanner* checks the flow level while it
# reads ahead for a possible simple key (up to 1,024 characters, YAML 1.2 §7.4.2), i.e. before the
# parser has produced the events yamlio counts: "[[[[..." was refused as "while increasing flow level
# exceeded maximum nesting depth" (GC100) before yamlio's own limit (GC106) saw the 65th level.
# PyYAML's pure-Python scanner and parser have no limit, its composer recurses once per level (Python's
# recursion limit, 1,000 frames by default); ruamel.yaml 0.19.1 has `YAML().max_depth = 0` (no limit;
# composer.py raises MaxDepthExceededError only when it is set) and recurses likewise. So yamlio counts
# the flow nesting itself, on the text, before any parser runs, with Limits.max_depth (64) below every
# parser's own limit (tests/tenants/test_yamlio.py proves a document nested exactly max_depth levels
# still loads with both PyYAML loaders). Block nesting needs no pre-scan: libyaml's read-ahead over
# block indicators is bounded by the simple-key length, and the event pass counts block levels first.
#
# The lexer below knows just enough YAML to find flow collections: quoted scalars (which may span
# lines), comments, block scalars (skipped by indentation), and where a node may start (a '[' inside
# a plain scalar such as `x[1]` opens nothing). Wherever it could misread, it counts more, never less.

_YAML_BREAKS = "\n\r\x85\u2028\u2029"          # line breaks as PyYAML and libyaml read them (YAML 1.1)
_YAML_SIGNIFICANT = re.compile(r"[\[\]{},:#'\"|>&!?\-\n\r\x85\u2028\u2029]")
_YAML_BLANK = re.compile(r"[ \t]*")
_YAML_SINGLE = re.compile(r"'[^']*(?:''[^']*)*'")
_YAML_DOUBLE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_YAML_PROPERTY = re.compile(r"[^ \t\n\r\x85\u2028\u2029,\[\]{}]*")


def _deep_error(path, text: str, index: int, limits: Limits, *, line: int = 1) -> DiagnosticError:
    at_line, col = _line_col(text, index)
    return _error(path, line + at_line - 1, col, f"nested deeper than {limits.max_depth} levels", "GC106")


def _check_yaml_nesting(text: str, path, limits: Limits) -> None:
    """Refuse flow collections nested deeper than ``limits.max_depth`` (GC106), from the text alone."""
    if text.count("[") + text.count("{") <= limits.max_depth:
        return                                   # cannot be deeper: the common case costs two counts
    end = len(text)
    flow = 0
    node_start = True                            # a node may start here (line start, after an indicator)
    line_start = 0                               # index of the current line's first character
    base_col = 0                                 # column a block scalar's content must be indented past
    i = 1 if text.startswith("\ufeff") else 0    # a byte order mark may open the stream
    i = _after_document_marker(text, i)
    while True:
        m = _YAML_SIGNIFICANT.search(text, i)
        if m is None:
            return
        j = m.start()
        c = text[j]
        if _YAML_BLANK.match(text, i).end() < j:         # plain text between two significant characters
            if node_start and not flow:
                base_col = _YAML_BLANK.match(text, i).end() - line_start
            node_start = False
        nxt = text[j + 1] if j + 1 < end else "\n"
        i = j + 1
        if c in _YAML_BREAKS:
            if c == "\r" and nxt == "\n":
                i += 1
            line_start = i
            if not flow:
                node_start, base_col = True, _YAML_BLANK.match(text, i).end() - i
                i = _after_document_marker(text, i)
        elif c == "#" and (j == 0 or text[j - 1] in " \t" + _YAML_BREAKS):
            k = min((p for p in (text.find(b, j) for b in _YAML_BREAKS) if p >= 0), default=end)
            i = k                                # a comment, to the end of its line
        elif c in "[{":
            if flow or node_start:
                flow += 1
                if flow > limits.max_depth:
                    raise _deep_error(path, text, j, limits)
                node_start = True
            # else: inside a plain scalar (`x[1]`), a character like any other
        elif c in "]}":
            if flow:
                flow -= 1
            node_start = False
        elif c == ",":
            node_start = bool(flow)
        elif c in "-?":
            if node_start and nxt in " \t" + _YAML_BREAKS:
                if not flow:
                    base_col = j - line_start    # `- |`: the content is indented past the dash
            else:
                node_start = False
        elif c == ":":
            # A value indicator (`key: [`), or JSON-like `{"a":[` in a flow collection.
            node_start = nxt in " \t" + _YAML_BREAKS or bool(flow)
        elif c in "'\"":
            if node_start:
                q = (_YAML_SINGLE if c == "'" else _YAML_DOUBLE).match(text, j)
                if q is None:
                    return                       # unterminated: the parser reports it (no nesting past it)
                if not flow:
                    base_col = j - line_start
                i = q.end()
            node_start = False
        elif c in "&!":
            if node_start:                       # an anchor or a tag: the node itself follows
                if text.startswith("<", i):      # a verbatim tag, !<tag:yaml.org,2002:str>
                    k = text.find(">", i)
                    i = end if k < 0 else k + 1
                else:
                    i = _YAML_PROPERTY.match(text, i).end()
            else:
                node_start = False
        elif c in "|>":
            if node_start and not flow:
                i = _skip_block_scalar(text, j, base_col)
                line_start = i
                node_start, base_col = True, _YAML_BLANK.match(text, i).end() - i
            else:
                node_start = False


def _after_document_marker(text: str, i: int) -> int:
    """Past a `---` or `...` at ``i`` (a line start): a node may follow on the marker's line."""
    if text.startswith(("---", "..."), i) and (i + 3 >= len(text) or text[i + 3] in " \t" + _YAML_BREAKS):
        return i + 3
    return i


def _skip_block_scalar(text: str, j: int, base_col: int) -> int:
    """Index of the first line after the block scalar whose indicator is at ``j``: its content is
    every following line that is blank or indented more than ``base_col`` (YAML 1.2 §8.1)."""
    end = len(text)
    i = text.find("\n", j)
    while i != -1 and i + 1 < end:
        start = i + 1
        indent = _YAML_BLANK.match(text, start).end()
        if indent < end and text[indent] not in "\r\n" and indent - start <= base_col:
            return start
        i = text.find("\n", start)
    return end


def _yaml_error(exc: yaml.YAMLError, text: str, path) -> DiagnosticError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        return _error(path, line, col, f"invalid YAML: {problem}")
    position = getattr(exc, "position", None)
    line, col = _line_col(text, min(position, len(text))) if isinstance(position, int) else (1, 1)
    return _error(path, line, col, f"invalid YAML: {getattr(exc, 'reason', None) or exc}")


def load_text(text: str, path: str | Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    """Parse one YAML document; return (data, positions) where positions maps a field path
    such as ``("spec", "municipalities", 0)`` to its 1-based (line, column)."""
    _check_text(text, path, limits)
    _check_yaml_nesting(text, path, limits)
    try:
        _check_events(text, path, limits)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        positions: dict[tuple, tuple[int, int]] = {}
        duplicates: list[Diagnostic] = []
        _walk(loader, node, (), positions, duplicates, str(path))
        if duplicates:
            raise DiagnosticError(duplicates)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # A scalar the constructors cannot build (e.g. a float tag on a non-number).
        raise _error(path, 1, 1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, positions


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """A file's text: bounded in size, UTF-8 only (the diagnostic names the line of the bad byte)."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(st.st_mode):
            # A FIFO or a device would block the read, or never end.
            raise _error(path, 1, 1, "not a regular file (a FIFO, socket or device)")
        size = st.st_size
        if size > limits.max_bytes:
            raise _error(path, 1, 1, f"file is {size} bytes, more than the limit of {limits.max_bytes}", "GC106")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _error(path, 1, 1, "file not found") from None
    except IsADirectoryError:
        raise _error(path, 1, 1, "a folder, not a file") from None
    except OSError as exc:
        raise _error(path, 1, 1, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limits.max_bytes:  # grew between stat and read
        raise _error(path, 1, 1, f"file is larger than {limits.max_bytes} bytes", "GC106")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _error(path, line, col, f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte {exc.start} ({exc.reason})") from None


def load_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    return load_text(read_text(path, limits), path, limits)


# --- JSON (plan documents, compiled folders, history lines) ------------------------------------------


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class _DuplicateKey(ValueError):
    """A repeated key of a JSON object: a type of its own, so the loader tells it from json's own
    errors by type, not by the wording of a message."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"duplicate key {key!r}")
        out[key] = value
    return out


def json_depth(data: Any) -> int:
    """Nesting depth, iteratively (a recursive walk would fail on the input it is meant to refuse)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


# Python's json recurses once per level (the C scanner through Py_EnterRecursiveCall, the pure-Python
# one through scan_once): how deep it gets depends on sys.getrecursionlimit() (1,000 by default) and on
# how deep the caller's stack already is, so a RecursionError names the caller, not the document. The
# depth is therefore counted on the text first, exactly (strings removed, then brackets alone).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_JSON_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_JSON_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_JSON_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _check_json_nesting(text: str, path, limits: Limits, *, line: int = 1) -> None:
    """Refuse JSON nested deeper than ``limits.max_depth`` (GC106) before json runs."""
    if text.count("[") + text.count("{") <= limits.max_depth:
        return
    brackets = _JSON_NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if max(accumulate(map(_JSON_STEP.__getitem__, brackets)), default=0) <= limits.max_depth:
        return
    depth = 0                                    # refused: find the bracket that went too deep
    for m in _JSON_BRACKET.finditer(text):
        step = _JSON_STEP.get(m.group())
        if step:
            depth += step
            if depth > limits.max_depth:
                raise _deep_error(path, text, m.start(), limits, line=line)
    raise _error(path, line, 1, f"nested deeper than {limits.max_depth} levels", "GC106")  # pragma: no cover


def load_json_text(text: str, path: str | Path, limits: Limits = DEFAULT_LIMITS, *, line: int = 1) -> Any:
    """Parse one JSON value with the same limits as YAML; ``line`` is the line the text starts on
    (a JSON-lines file). NaN and Infinity, duplicate keys and raw control characters are refused."""
    if len(text) > limits.max_bytes:
        raise _error(path, line, 1, f"more than {limits.max_bytes} bytes", "GC106")
    _check_json_nesting(text, path, limits, line=line)
    try:
        data = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _error(path, line + exc.lineno - 1, exc.colno, f"invalid JSON: {exc.msg}") from None
    except _DuplicateKey as exc:
        # Name the second occurrence of the key, where a reader looks for the override.
        found: list = []
        json_positions(text, duplicates=found)
        if found:
            loc, (at_line, col) = found[0]
            raise DiagnosticError([Diagnostic(str(path), line + at_line - 1, col, "GC100",
                                              f"invalid JSON: duplicate key {loc[-1]!r}", dotted(loc))]) from None
        raise _error(path, line, 1, f"invalid JSON: {exc}") from None
    except ValueError as exc:
        raise _error(path, line, 1, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise _error(path, line, 1, f"nested deeper than {limits.max_depth} levels", "GC106") from None
    if json_depth(data) > limits.max_depth:
        raise _error(path, line, 1, f"nested deeper than {limits.max_depth} levels", "GC106")
    return data


def load_json_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    return load_json_text(read_text(path, limits), path, limits)


def _walk(loader, node, loc: tuple, positions: dict, duplicates: list, path: str) -> None:
    positions.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue
            child = loc + (key,)
            if key in seen:
                duplicates.append(
                    Diagnostic(path, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                               "GC104", f"duplicate key {key!r}", dotted(child))
                )
                continue
            seen.add(key)
            # A field is reported at its key: that is the line a reader looks for.
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(loader, value_node, child, positions, duplicates, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(loader, item, loc + (index,), positions, duplicates, path)


class _QuotingDumper(yaml.SafeDumper):
    """Quotes every string a YAML 1.1 or 1.2 reader could take for a number (an account id such as
    049700867027 is not a YAML 1.1 int, so PyYAML would leave it bare, and YAML 1.2 reads it as one)."""


def _represent_str(dumper, value: str):
    style = "'" if re.fullmatch(r"[-+]?(0[xob])?[0-9][0-9_.:eE+-]*", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_QuotingDumper.add_representer(str, _represent_str)


def dump(data: Any, *, header: str = "") -> str:
    body = yaml.dump(data, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")


def json_positions(text: str, *, duplicates: list | None = None) -> dict[tuple, tuple[int, int]]:
    """Line and column of every field of a JSON text, keyed like ``load_text``'s positions (a field
    at its key, a list item at its value), for diagnostics. One iterative pass (no recursion, so a
    deep document cannot take it down); on text that is not JSON it returns what it found so far.
    ``duplicates``, when given, receives ``(field, (line, column))`` for every repeated key of an
    object, at its second (or later) occurrence."""
    from bisect import bisect_right
    from json.decoder import scanstring

    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    positions: dict[tuple, tuple[int, int]] = {}

    def at(index: int) -> tuple[int, int]:
        line = bisect_right(starts, index)
        return line, index - starts[line - 1] + 1

    def space(index: int) -> int:
        return _JSON_SPACE.match(text, index).end()

    def key(index: int, frame: list) -> int:
        """Read the key at ``index`` of the object ``frame``; return where its value starts."""
        name, end = scanstring(text, index + 1)
        frame[2] = frame[0] + (name,)
        if duplicates is not None:
            if name in frame[3]:
                duplicates.append((frame[2], at(index)))
            frame[3].add(name)
        positions[frame[2]] = at(index)
        end = space(end)
        if text[end] != ":":
            raise ValueError("expected ':'")
        return space(end + 1)

    frames: list[list] = []          # open containers: [loc, kind, loc of the current child, keys seen]
    loc: tuple = ()
    i = space(0)
    try:
        while True:
            positions.setdefault(loc, at(i))
            c = text[i]
            done = True
            if c == "{" or c == "[":
                j = space(i + 1)
                if text[j] in "}]":
                    i = j + 1
                else:
                    frame = [loc, c, loc + (0,), set()]
                    frames.append(frame)
                    i = key(j, frame) if c == "{" else j
                    loc, done = frame[2], False
            elif c == '"':
                i = scanstring(text, i + 1)[1]
            else:
                m = _JSON_SCALAR.match(text, i)
                if not m or m.end() == i:
                    raise ValueError("not a JSON value")
                i = m.end()
            while done:
                i = space(i)
                if not frames:
                    return positions
                frame = frames[-1]
                if text[i] == ",":
                    i = space(i + 1)
                    if frame[1] == "{":
                        i = key(i, frame)
                    else:
                        frame[2] = frame[0] + (frame[2][-1] + 1,)
                    loc, done = frame[2], False
                else:                    # the closing bracket of this container
                    frames.pop()
                    i += 1
    except (IndexError, ValueError):
        return positions

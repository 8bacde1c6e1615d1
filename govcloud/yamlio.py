"""YAML in and out, keeping the line and column of every field for diagnostics.

The loader follows YAML 1.2 scalar rules where YAML 1.1 surprises users of this domain:
``011002`` (a municipality code) stays the string ``"011002"`` instead of becoming the octal
integer 4610, and ``no``/``on`` stay strings. Duplicate keys are an error, not a silent override.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from govcloud.diagnostics import Diagnostic, DiagnosticError, dotted

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


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


def load_text(text: str, path: str | Path) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    """Parse one YAML document; return (data, positions) where positions maps a field path
    such as ``("spec", "municipalities", 0)`` to its 1-based (line, column)."""
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
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        raise DiagnosticError([Diagnostic(str(path), line, col, "GC100", f"invalid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    return data, positions


def load_file(path: Path) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC100", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise DiagnosticError([Diagnostic(str(path), 1, 1, "GC100", f"not UTF-8 text: {exc.reason}")]) from None
    return load_text(text, path)


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

"""Read a document file into its typed model, reporting every problem with file, line and field."""

from __future__ import annotations

import difflib
import functools
import os
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

from govcloud import yamlio
from govcloud.diagnostics import Collector, Diagnostic, DiagnosticError, locate
from govcloud.tenants.models import API_VERSION, DOCUMENT_KINDS, Model
from govcloud.tenants.secrets import find_secrets, find_secrets_in_text

M = TypeVar("M", bound=Model)


def parse(path: Path, expected: type[M] | None = None, *, text: str | None = None) -> tuple[M, Collector]:
    """Parse and shape-check one file. Returns the model and a collector that keeps the field
    positions, so later semantic rules can report lines too. The collector may already hold
    errors (fields that failed and were left out): callers run their rules, then
    ``raise_if_errors``. Raises DiagnosticError when no model can be built at all."""
    if text is None:
        text = yamlio.read_text(path)
    data, positions = yamlio.load_text(text, path)
    out = Collector(path, positions)
    secret_lines = set()
    for loc, what in find_secrets(data):
        out.add("GC501", f"{what}; never put credentials in a document — use a secret store", loc)
        secret_lines.add(locate(positions, loc)[0])
    for line, what in find_secrets_in_text(text):
        if line not in secret_lines:  # a comment, or a line the field walk did not point at
            out.add_at(line, 1, "GC501", f"{what}; never put credentials in a document, comments included — "
                                         f"use a secret store")
    if not isinstance(data, dict):
        out.add("GC101", "a document must be a YAML mapping with apiVersion, kind, metadata and spec")
        out.raise_if_errors()
    kind = data.get("kind")
    if data.get("apiVersion") != API_VERSION:
        out.add("GC103", f"apiVersion must be {API_VERSION!r}, got {data.get('apiVersion')!r}", ("apiVersion",))
    model = expected or DOCUMENT_KINDS.get(kind)  # type: ignore[arg-type]
    expected_kind = _kind_name(expected) if expected else None
    if expected_kind and kind != expected_kind:
        out.add("GC103", f"expected kind {expected_kind!r}, got {kind!r}", ("kind",))
        out.raise_if_errors()
    if model is None:
        out.add("GC103", f"unknown kind {kind!r}; known kinds: {', '.join(DOCUMENT_KINDS)}", ("kind",))
        out.raise_if_errors()
    try:
        doc = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            _report_pydantic(out, err, data, model)
        # Keep going without the broken fields, so the semantic rules still report what else is
        # wrong in the file: a vendor fixes everything in one round instead of one per run. The
        # broken fields become empty (None, [], {}) in a model built without validation, and the
        # collector drops what the rules would say about them (already reported above).
        if not isinstance(data.get("spec"), dict) or not isinstance(data.get("metadata"), dict):
            raise DiagnosticError(out.items) from None
        broken: set[tuple] = set()
        doc = _partial(model, data, (), broken)
        out.suppress(broken | {_clean_loc(err["loc"]) for err in exc.errors()})
    return doc, out  # type: ignore[return-value]


def _partial(model: type[Model], data: dict, loc: tuple, broken: set[tuple]) -> Model:
    """``model`` built from the fields of ``data`` that are valid on their own; every other
    field is empty and its location is added to ``broken``."""
    values = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        where = loc + (key,)
        if key not in data:
            if field.is_required():
                broken.add(where)
                values[name] = _empty(field.annotation)
            continue
        raw = data[key]
        sub = _model_of(field.annotation)
        if sub is not None and isinstance(raw, dict) and field.annotation is sub:
            values[name] = _partial(sub, raw, where, broken)
            continue
        if sub is not None and isinstance(raw, list) and field.annotation == list[sub]:
            # A list of models keeps every item (indices stay those of the file); a broken item is
            # built partially (the list's own errors, such as its length, were reported above).
            try:
                values[name] = _field_adapter(model, name).validate_python(raw)
            except ValidationError:
                items = []
                for i, item in enumerate(raw):
                    if not isinstance(item, dict):
                        broken.add(where + (i,))
                        item = {}
                    items.append(_partial(sub, item, where + (i,), broken))
                values[name] = items
            continue
        try:
            values[name] = _field_adapter(model, name).validate_python(raw)
        except ValidationError:
            broken.add(where)
            values[name] = _empty(field.annotation)
    return model.model_construct(**values)


def _empty(annotation):
    import typing

    origin = typing.get_origin(annotation)
    if origin is list:
        return []
    if origin is dict:
        return {}
    sub = _model_of(annotation)
    if sub is not None and annotation is sub:
        return _partial(sub, {}, (), set())
    return None


@functools.cache
def _field_adapter(model: type[Model], name: str) -> TypeAdapter:
    field = model.model_fields[name]
    annotation = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    if isinstance(field.annotation, type) and issubclass(field.annotation, Model):
        return TypeAdapter(annotation)  # a model brings its own (strict) config
    return TypeAdapter(annotation, config=ConfigDict(strict=True))




def _kind_name(model: type[Model]) -> str:
    """The kind a model accepts, from its ``kind: Literal[...]`` field."""
    import typing

    return typing.get_args(model.model_fields["kind"].annotation)[0]


def _report_pydantic(out: Collector, err: dict, data: dict, model: type[Model]) -> None:
    # Drop pydantic's union/function branch markers from the path (e.g. 'str', 'dict[str,str]').
    loc = _clean_loc(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        name = loc[-1]
        allowed = _allowed_fields(model, loc[:-1])
        hint = difflib.get_close_matches(str(name), allowed, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        out.add("GC102", f"unknown field {name!r}{suggestion}", loc)
    elif kind == "missing":
        out.add("GC101", f"missing required field {loc[-1]!r}", loc)
    else:
        message = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = f" (got {value!r})" if isinstance(value, (str, int, float, bool)) else ""
        out.add("GC101", f"{message}{shown}", loc)


def _clean_loc(loc: tuple) -> tuple:
    return tuple(p for p in loc if isinstance(p, int) or not _is_branch_marker(p))


def _is_branch_marker(part: str) -> bool:
    return part in {"str", "int", "dict[str,str]", "function-after", "constrained-str"} or "[" in part


def _allowed_fields(model: type[Model] | None, parent: tuple) -> list[str]:
    """Field names the model accepts at ``parent``, by walking the models along the path."""
    for part in parent:
        if model is None or isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        model = _model_of(field.annotation) if field else None
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_of(annotation) -> type[Model] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, Model):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found:
            return found
    return None


def validate_data(model: type[M], data, path: Path | str, positions: dict | None = None) -> M:
    """``model`` from already-loaded data (a catalogue, a data file), every error a diagnostic."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        out = Collector(path, positions or {})
        for err in exc.errors():
            _report_pydantic(out, err, data if isinstance(data, dict) else {}, model)
        raise DiagnosticError(out.items) from None


def document_files(folder: Path, root: Path | None = None) -> tuple[list[Path], list[Diagnostic]]:
    """The ``*.yaml`` documents of a document folder (tenants/active, municipalities, vendors,
    requests/applied), and a GC100 problem for everything else found there: a document a reader
    skipped would be a document nobody checked. Hidden files (``.gitkeep``) are left alone."""
    files: list[Path] = []
    problems: list[Diagnostic] = []

    def refuse(path: Path, message: str) -> None:
        problems.append(Diagnostic(str(path), 1, 1, "GC100", message))

    def outside(path: Path) -> Path | None:
        # os.path.realpath does not raise on a loop (Path.resolve does, in Python 3.11).
        target = Path(os.path.realpath(path))
        return target if root is not None and not target.is_relative_to(os.path.realpath(root)) else None

    if folder.is_symlink() or folder.exists():
        if not folder.is_dir():
            refuse(folder, "a document folder is expected here, not a file")
            return [], problems
        if outside(folder) is not None:
            refuse(folder, f"a document folder linked to {outside(folder)}, outside the workspace")
            return [], problems
    else:
        return [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_symlink():
            if not os.path.exists(path):
                refuse(path, "a dangling or looping symbolic link in a document folder: remove it")
                continue
            target = outside(path)
            if target is not None:
                refuse(path, f"a symbolic link to {target}, outside the workspace: documents live in the workspace")
                continue
        if path.suffix == ".yaml":
            if path.is_file():
                files.append(path)
            else:
                refuse(path, "named like a document but not a regular file (a folder, FIFO or device)")
        elif path.suffix == ".yml":
            refuse(path, f"documents are named *.yaml: rename it to {path.stem}.yaml (it was not read)")
        else:
            refuse(path, "not a document: only *.yaml documents belong in this folder (it was not read)")
    return files, problems

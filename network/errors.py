"""The verifier's refusals. A proof that skips what it does not understand is not a proof, so
every reader either models a field or raises one of these.

- ``Unsupported``: a valid cloud feature the verifier does not model (exit 2);
- ``NetworkInputError``: malformed input or a dangling reference (exit 1).
Both name the file and the JSON path of the field."""

from __future__ import annotations


class NetworkInputError(Exception):
    def __init__(self, source: str, path: str, message: str):
        self.source, self.path, self.message = source, path, message
        super().__init__(f"{source}: {message} (at {path})" if path else f"{source}: {message}")


class Unsupported(Exception):
    def __init__(self, source: str, field: str, path: str, why: str = ""):
        self.source, self.field, self.path = source, field, path
        detail = f" ({why})" if why else ""
        super().__init__(f"{source}: unsupported: {field} at {path}: the proof cannot be made{detail}")


def only(obj, allowed: set[str] | frozenset[str], source: str, path: str) -> dict:
    """``obj`` must be an object whose every key is modelled."""
    if not isinstance(obj, dict):
        raise NetworkInputError(source, path, f"expected an object, got {type(obj).__name__}")
    for key in obj:
        if key not in allowed:
            raise Unsupported(source, key, f"{path}.{key}")
    return obj


def need(obj: dict, key: str, kind, source: str, path: str):
    """A required field of the given type (bool is never an int here)."""
    if key not in obj:
        raise NetworkInputError(source, f"{path}.{key}", f"missing field {key}")
    value = obj[key]
    if type(value) is kind and kind is not bool or type(value) is bool and kind is bool:
        return value   # the common case: exactly the type asked for (never a boolean taken for an int)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise NetworkInputError(source, f"{path}.{key}", f"{key} must be {_names(kinds)}, got a boolean")
    if not isinstance(value, kinds):
        raise NetworkInputError(source, f"{path}.{key}", f"{key} must be {_names(kinds)}, got {type(value).__name__}")
    return value


def _names(kinds) -> str:
    return " or ".join({str: "a string", int: "an integer", list: "a list", dict: "an object", bool: "a boolean",
                        float: "a number"}.get(k, k.__name__) for k in kinds)

"""Diagnostics in Japanese, at the edge: messages are made in English everywhere (one spelling in
logs, CI and JSON) and translated here for `--lang ja` and the portal's Japanese pages, from the
catalogue govcloud/messages/ja.yaml (data, loaded once)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).parent / "ja.yaml"


@functools.cache
def _catalogue() -> tuple[dict[str, str], dict[str, list[tuple[re.Pattern, str]]]]:
    # Packaged, trusted data (and this module sits below yamlio and diagnostics, which use it).
    data = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    patterns: dict[str, list[tuple[re.Pattern, str]]] = {}
    for code, pattern, template in data["messages"]:
        patterns.setdefault(code, []).append((re.compile(pattern, re.S), template))
    return dict(data["titles"]), patterns


def title(code: str) -> str | None:
    return _catalogue()[0].get(code)


def translate(code: str, message: str) -> str:
    """The Japanese message: a whole-message translation when a pattern of ``code`` matches,
    else the code's Japanese title followed by the English message, else the message."""
    titles, patterns = _catalogue()
    for pattern, template in patterns.get(code, ()):
        match = pattern.fullmatch(message)
        if match:
            return template.format(**match.groupdict())
    name = titles.get(code)
    return f"{name} — {message}" if name else message


def translate_lines(code: str, message: str) -> str:
    """Like :func:`translate`, line by line, for messages that add lines (what to run next, why
    an entry does not count): lines no pattern matches stay as written; the code's title leads
    when no line could be translated."""
    _, patterns = _catalogue()
    out, translated = [], False
    for line in message.split("\n"):
        for pattern, template in patterns.get(code, ()):
            match = pattern.fullmatch(line)
            if match:
                out.append(template.format(**match.groupdict()))
                translated = True
                break
        else:
            out.append(line)
    return "\n".join(out) if translated else translate(code, message)


def summary(errors: int, files: int, lang: str) -> str:
    if lang == "ja":
        return f"{files} ファイルに {errors} 件のエラー。何も書き込んでいません"
    return f"{errors} error(s) in {files} file(s); nothing was written"

"""Diagnostics in Japanese (govcloud/messages): every code has a Japanese title, every pattern is
well-formed, the common request errors are translated whole, and English stays as it was."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from govcloud import messages
from govcloud.diagnostics import Diagnostic
from tests.conftest import REPO

SOURCES = [p for folder in ("govcloud", "tenants", "network", "policies", "stacks", "live", "report", "templates")
           for p in (REPO / folder).rglob("*.py")]


def codes_in_use() -> set[str]:
    found = set()
    for path in SOURCES:
        found |= set(re.findall(r'"(GC[0-9]{3})"', path.read_text(encoding="utf-8")))
    return found


def test_every_code_in_use_has_a_japanese_title():
    missing = sorted(code for code in codes_in_use() if messages.title(code) is None)
    assert not missing, f"add to govcloud/messages/ja.yaml titles: {missing}"


def test_every_pattern_compiles_and_fills_its_template():
    _, patterns = messages._catalogue()
    for code, items in patterns.items():
        assert messages.title(code), code
        for pattern, template in items:
            fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert fields <= set(pattern.groupindex), (code, pattern.pattern, template)


BAD = """apiVersion: govcloud/v1
kind: TenantRequest
metadata:
  name: bad-one
spec:
  vendor: asuka-systemz
  system: jukki
  usage: dedicatd
  municipalities: ["131017"]
  cloud: aws
  region: us-east-1
  environments: [prod, prod]
  network: {prefixLength: "24"}
  colour: blue
"""


def test_request_errors_read_in_japanese_and_english(ws, run):
    path = ws / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    ja = run("request", "validate", str(path), env={"GOVCLOUD_LANG": "ja"})
    en = run("--lang", "en", "request", "validate", str(path), env={"GOVCLOUD_LANG": "ja"})
    assert ja.returncode == en.returncode == 1
    ja_lines = [line for line in ja.stderr.splitlines() if "error[GC" in line]
    en_lines = [line for line in en.stderr.splitlines() if "error[GC" in line]
    # Same diagnostics, same places, same code prefix (editors and CI annotate by it).
    assert [line.split(": ")[:2] for line in ja_lines] == [line.split(": ")[:2] for line in en_lines]
    for line in ja_lines:
        message = line.split("]: ", 1)[1]
        assert not re.search(r"\b(unknown|Input should|wrong check digit|outside Japan|listed twice)\b", message), line
    assert "リージョン 'us-east-1' は日本国外です" in ja.stderr and "（項目 spec.region）" in ja.stderr
    assert "値は 'dedicated' または 'shared' です（指定値 'dedicatd'）" in ja.stderr
    assert "件のエラー。何も書き込んでいません" in ja.stderr
    assert "region 'us-east-1' is outside Japan" in en.stderr and "nothing was written" in en.stderr


def test_an_untranslated_message_keeps_its_english_after_the_title():
    d = Diagnostic("f.yaml", 3, 1, "GC305", "pool 10.0.0.0/16 is exhausted", "spec.pools[0]")
    assert d.format("ja") == "f.yaml:3:1: error[GC305]: アドレスプールの枯渇 — pool 10.0.0.0/16 is exhausted（項目 spec.pools[0]）"
    assert d.format() == "f.yaml:3:1: error[GC305]: pool 10.0.0.0/16 is exhausted (field spec.pools[0])"


@pytest.mark.parametrize("code", ["GC999", ""])
def test_an_unknown_code_passes_the_message_through(code):
    assert messages.translate(code, "as is") == "as is"


def test_refused_operations_speak_japanese_too(run):
    """A refused operation (exit 1) is translated line by line; an untranslated one gets the
    Japanese title before the English text; English stays English."""
    ja = run("--lang", "ja", "tenant", "remove", "nope", "--yes")
    assert ja.returncode == 1 and "テナント nope はありません" in ja.stderr
    ja = run("--lang", "ja", "request", "apply", "tenants/requests/examples/hachioji-juki.yaml")
    assert ja.returncode == 1 and "次の承認がありません: platform, municipality 132012" in ja.stderr
    assert "承認者はそれぞれ次を実行します" in ja.stderr
    en = run("--lang", "en", "tenant", "remove", "nope", "--yes")
    assert "no tenant named nope" in en.stderr
    assert messages.translate_lines("usage", "something new") == "操作を受け付けられません — something new"

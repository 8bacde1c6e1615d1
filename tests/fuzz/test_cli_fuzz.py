"""Fuzz every document kind, plans and compiled folders through the real CLI.

Each case mutates one file of a private copy of the sample workspace (a value of the wrong type,
a deleted or unknown field, a hostile YAML or JSON snippet, a truncation, stray bytes) and runs the
command that reads it. Whatever the input: exit code 0, 1 or 2, never a traceback, and a command
that fails leaves the workspace exactly as it found it.

Two volumes: the in-process run (typer's test runner over the same `govcloud` app, same code
path as the console script) is fast and runs in every suite; the subprocess run goes through the
installed `govcloud` executable and is marked slow. ``GOVCLOUD_FUZZ_CASES_SCALE`` scales both
(defaults: 25 cases per command in process, 8 through the executable).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, govcloud_bin, tree_snapshot

SCALE = float(os.environ.get("GOVCLOUD_FUZZ_CASES_SCALE", "1"))
IN_PROCESS_CASES = int(25 * SCALE)
SUBPROCESS_CASES = int(8 * SCALE)

WAIVERS = """apiVersion: govcloud/v1
kind: Waivers
metadata: {name: waivers}
spec:
  waivers:
    - control: GC-AWS-CT-2
      tenant: 131016-*
      reason: 移行期間中のため一時的に許容する
      approver: 情報政策課長
      expires: 2099-03-31
"""

# (file to mutate, command); {file} and {dir} are filled in per case.
TARGETS = {
    "municipality": ("tenants/municipalities/131016.yaml", ["validate"]),
    "vendor": ("tenants/vendors/asuka-systems.yaml", ["validate"]),
    "tenant": ("tenants/active/131016-juki-prod.yaml", ["validate"]),
    "ipam": ("tenants/ipam.yaml", ["validate"]),
    "exceptions": ("tenants/network-exceptions.yaml", ["validate"]),
    "waivers": ("policies/waivers.yaml", ["validate"]),
    "history": ("tenants/history.jsonl", ["validate"]),
    "request": ("request.yaml", ["request", "validate", "{file}"]),
    "plan": ("plans/tenant-131016-juki-prod.json", ["check", "--no-checkov", "--partial", "--plans", "{dir}"]),
    "compiled": ("compiled/attachments.json", ["network", "verify", "--compiled", "{dir}"]),
}
COMPILED_FILES = ["attachments.json", "declared-flows.json", "tenants.json", "manifest.json", "firewall.json",
                  "intercloud.json", "aws-cloudwan/core-network-policy.json", "aws-tgw/transit-gateway.json",
                  "azure-vwan/virtual-wan.json"]

HOSTILE = [
    "\x00", "a: &a [*a]\n", "[" * 5000, "{" * 3000, "\xff", "a: !!python/object:os.system x\n", "*x\n",
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    '{"a": NaN}', '{"a": 1, "a": 2}', "---\n---\n", "", "null", "[]", "42", '"text"', "\ufeff", "a:\tb\n",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=20),
    st.sampled_from(["", "131016", "131017", "10.0.0.0/8", "10.16.0.0/33", "999.1.1.1", "aws", "azure", "prod",
                     "2027-03-31", "2027-02-30", "juki", "us-east-1", "mynumber", "-1", "0x10", "AKIAIOSFODNN7EXAMPLE"]),
)
VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                      max_leaves=6)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, prefix + (i,))


def apply_edit(data, path, op, value):
    if not path:
        return value if op == "set" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "set":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif op == "add" and isinstance(parent[last], dict):
        parent[last]["unknownField"] = value
    return data


@st.composite
def mutated(draw, text: str, kind: str) -> bytes:
    """A mutation of ``text`` (YAML, JSON or JSON lines) as the bytes to write."""
    how = draw(st.sampled_from(["structure", "structure", "structure", "hostile", "truncate", "bytes"]))
    if how == "hostile":
        return draw(st.sampled_from(HOSTILE)).encode("utf-8", "surrogatepass")
    if how == "truncate":
        return text.encode("utf-8")[: draw(st.integers(0, len(text.encode("utf-8"))))]
    if how == "bytes":
        raw = bytearray(text.encode("utf-8"))
        for _ in range(draw(st.integers(1, 4))):
            raw.insert(draw(st.integers(0, len(raw))), draw(st.integers(0, 255)))
        return bytes(raw)
    lines = kind == "history"
    if lines:
        rows = text.splitlines()
        index = draw(st.integers(0, len(rows) - 1))
        data = json.loads(rows[index])
    else:
        data = json.loads(text) if kind in ("plan", "compiled") else yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(data))))
        op = draw(st.sampled_from(["set", "delete", "add"]))
        data = apply_edit(data, path, op, draw(VALUES))
    if lines:
        rows[index] = json.dumps(data, ensure_ascii=False)
        return ("\n".join(rows) + "\n").encode("utf-8")
    if kind in ("plan", "compiled"):
        return json.dumps(data, ensure_ascii=False).encode("utf-8")
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The sample workspace with waivers, a request, one plan and a compiled folder."""
    from tests.plans import sample_plan

    root = tmp_path_factory.mktemp("fuzz") / "ws"
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings_file in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings_file, root / settings_file.name)
    (root / "policies").mkdir()
    (root / "policies/waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    shutil.copy(REPO / "tenants/requests/examples/hachioji-juki.yaml", root / "request.yaml")
    (root / "plans").mkdir()
    (root / "plans/tenant-131016-juki-prod.json").write_text(json.dumps(sample_plan("tenant-131016-juki-prod")))
    env = {**os.environ, "GOVCLOUD_ROOT": str(root)}
    # Waivers count only as recorded and signed (docs/trust.md): a pattern needs two platform
    # principals and security.
    subprocess.run([govcloud_bin(), "waivers", "record", *(a for who in ("yamada-taro", "kobayashi-aiko", "security-mori")
                                                           for a in ("--key", str(REPO / "samples/keys" / who)))],
                   env=env, cwd=root, check=True, capture_output=True)
    subprocess.run([govcloud_bin(), "network", "compile", "--out", str(root / "compiled")], env=env, cwd=root,
                   check=True, capture_output=True)
    return root


def fresh_copy(template: Path, base: Path) -> Path:
    ws = base / "case"
    if ws.exists():
        shutil.rmtree(ws)
    shutil.copytree(template, ws)
    return ws


def prepare(template: Path, base: Path, kind: str, data) -> tuple[Path, list[str], dict]:
    ws = fresh_copy(template, base)
    rel, command = TARGETS[kind]
    if kind == "compiled":
        rel = "compiled/" + data.draw(st.sampled_from(COMPILED_FILES))
    target = ws / rel
    target.write_bytes(data.draw(mutated(target.read_text(encoding="utf-8"), kind)))
    args = [a.format(file=str(target), dir=str(target.parent)) for a in command]
    return ws, args, tree_snapshot(ws)


KINDS = sorted(TARGETS)


def judge(ws: Path, before: dict, code: int, output: str) -> None:
    assert code in (0, 1, 2), f"exit {code}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    if code != 0:
        assert tree_snapshot(ws) == before, "a failing command changed the workspace"


def run_in_process(args: list[str], ws: Path) -> tuple[int, str]:
    from typer.testing import CliRunner

    from govcloud.cli import app

    result = CliRunner().invoke(app, ["--root", str(ws), *args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        return 99, "Traceback (in process)\n" + "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.output


@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_cli_in_process(kind, template, tmp_path):
    @settings(max_examples=IN_PROCESS_CASES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
    @given(st.data())
    def case(data):
        ws, args, before = prepare(template, tmp_path, kind, data)
        code, output = run_in_process(args, ws)
        judge(ws, before, code, output)

    case()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_cli_subprocess(kind, template, tmp_path):
    @settings(max_examples=SUBPROCESS_CASES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
    @given(st.data())
    def case(data):
        ws, args, before = prepare(template, tmp_path, kind, data)
        env = {**os.environ, "GOVCLOUD_ROOT": str(ws), "GOVCLOUD_ACTOR": "fuzz"}
        proc = subprocess.run([govcloud_bin(), *args], capture_output=True, env=env, cwd=ws, timeout=120)
        output = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
        judge(ws, before, proc.returncode, output)

    case()

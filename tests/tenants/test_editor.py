"""The published JSON Schemas as an editor uses them: the real yaml-language-server (npm, installed
by `make test` into tests/editor/node_modules) over the Language Server Protocol on stdio, opening
documents whose modeline points at tenants/schemas/ exactly as the samples do."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import pytest

from tests.conftest import REPO

SERVER = REPO / "tests" / "editor" / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(not (NODE and SERVER.exists()),
                                reason="yaml-language-server not installed: `make test` installs it (npm ci in tests/editor)")

EXAMPLES = REPO / "tenants" / "requests" / "examples"
MODELINE = "# yaml-language-server: $schema=../../schemas/tenantrequest.schema.json\n"


class LanguageServer:
    """A minimal LSP client: Content-Length framed JSON-RPC, answers the server's own requests."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([NODE, str(SERVER), "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.messages: Queue = Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(out.read(length)))

    def _send(self, payload: dict) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.proc.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, accept, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.messages.get(timeout=max(0.05, deadline - time.monotonic()))
            except Empty:
                break
            if "id" in msg and "method" in msg:  # the server asks us something: configuration etc.
                result = [SETTINGS["yaml"]] * len(msg["params"].get("items", [])) if msg["method"] == "workspace/configuration" else None
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
                continue
            if accept(msg):
                return msg
        raise AssertionError("the language server did not answer in time")

    def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        ident = self.next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return self.wait_for(lambda m: m.get("id") == ident and "method" not in m)

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


SETTINGS = {"yaml": {"validate": True, "hover": True, "completion": True, "format": {"enable": False},
                     "schemaStore": {"enable": False}}}


@pytest.fixture(scope="module")
def server():
    ls = LanguageServer()
    ls.request("initialize", {"processId": None, "rootUri": REPO.as_uri(), "capabilities": {
        "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                         "completion": {"completionItem": {"documentationFormat": ["markdown", "plaintext"]}},
                         "publishDiagnostics": {}},
        "workspace": {"configuration": True}}})
    ls.notify("initialized", {})
    ls.notify("workspace/didChangeConfiguration", {"settings": SETTINGS})
    yield ls
    ls.close()


def open_document(ls: LanguageServer, name: str, text: str) -> str:
    uri = (EXAMPLES / name).as_uri()  # next to the samples, so the modeline's relative path resolves
    ls.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
    return uri


def diagnostics(ls: LanguageServer, uri: str) -> list[dict]:
    msg = ls.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                      and m["params"]["uri"] == uri and m["params"]["diagnostics"])
    return msg["params"]["diagnostics"]


BAD = MODELINE + """apiVersion: govcloud/v1
kind: TenantRequest
metadata:
  name: bad-request
spec:
  vendor: asuka-systems
  system: juki
  usage: lonely
  municipalities: ["132012"]
  cloud: aws
  region: japaneast
  environments: [prod]
  colour: blue
"""


def test_diagnostics_on_a_bad_request(server: LanguageServer) -> None:
    uri = open_document(server, "editor-bad.yaml", BAD)
    found = diagnostics(server, uri)
    lines = {d["range"]["start"]["line"]: d["message"] for d in found}
    text_lines = BAD.splitlines()
    by_field = {text_lines[line].strip().split(":")[0]: message for line, message in lines.items()}
    assert "usage" in by_field and "dedicated" in by_field["usage"], found          # enum of the usage models
    assert "region" in by_field and "ap-northeast-1" in by_field["region"], found   # region must belong to aws
    assert "colour" in by_field, found                                               # unknown field


def test_completion_offers_the_catalogue_with_japanese_names(server: LanguageServer) -> None:
    text = MODELINE + "apiVersion: govcloud/v1\nkind: TenantRequest\nmetadata:\n  name: x\nspec:\n  system: \n"
    uri = open_document(server, "editor-complete.yaml", text)
    line = text.splitlines().index("  system: ")
    result = server.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                         "position": {"line": line, "character": len("  system: ")}})["result"]
    items = result["items"] if isinstance(result, dict) else result
    labels = {item["label"]: item for item in items}
    assert {"juki", "koseki", "seikatsu-hogo"} <= set(labels), sorted(labels)
    doc = labels["juki"].get("documentation")
    doc_text = doc.get("value", "") if isinstance(doc, dict) else str(doc or "")
    assert "住民基本台帳" in doc_text and "Basic Resident Registration" in doc_text, labels["juki"]


def test_hover_explains_the_field_in_both_languages(server: LanguageServer) -> None:
    text = BAD.replace("  usage: lonely\n", "  usage: shared\n")
    uri = open_document(server, "editor-hover.yaml", text)
    line = text.splitlines().index('  municipalities: ["132012"]')
    result = server.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                    "position": {"line": line, "character": 4}})["result"]
    contents = result["contents"]
    value = contents.get("value") if isinstance(contents, dict) else json.dumps(contents, ensure_ascii=False)
    assert "Municipalities" in value and "対象団体" in value, value

"""`govcloud serve` as a real process (uvicorn on 127.0.0.1): start-up refusals, tokens through
the CLI, and two service processes on one workspace approving and applying at the same time."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import REPO, govcloud_bin
from tests.service.conftest import KEYS, NOW


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(service_ws, tmp_path, database_url):
    """serve(*args) -> base URL of a `govcloud serve` process on this workspace; stopped after."""
    procs = []

    def _serve(*args: str, env: dict | None = None) -> str:
        port = free_port()
        log = open(tmp_path / f"serve-{port}.log", "w")
        proc = subprocess.Popen([govcloud_bin(), "serve", "--port", str(port), *args], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "GOVCLOUD_ROOT": str(service_ws), "GOVCLOUD_NOW": NOW,
                                     "GOVCLOUD_DATABASE_URL": database_url, **(env or {})})
        procs.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / f"serve-{port}.log").read_text())
            try:
                if httpx.get(f"{base}/signin", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the service did not start")

    yield _serve
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def token(run, principal: str, key: str = "yamada-taro", database_url: str | None = None) -> str:
    proc = run("serve", "token", "create", "--principal", principal, "--name", "test", "--key", str(KEYS / key),
               env={"GOVCLOUD_DATABASE_URL": database_url} if database_url else None, check=True)
    return proc.stdout.strip()


def test_serve_refuses_a_key_the_principals_do_not_declare(run, service_ws, tmp_path) -> None:
    made = run("serve", "key", "create", "--out", str(tmp_path / "new_key"), "--id", "prod", check=True)
    assert made.stdout.startswith("  serviceKeys:\n    - id: prod\n      publicKey: ssh-ed25519 ")
    assert (tmp_path / "new_key").stat().st_mode & 0o077 == 0
    for args in (["--service-key", str(tmp_path / "new_key")], ["--service-key", str(tmp_path / "missing")],
                 ["--service-key-id", "other"]):
        proc = run("serve", "--port", "1", *args)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "not declared" in run("serve", "--port", "1", "--service-key", str(tmp_path / "new_key")).stderr
    proc = run("serve", "--oidc-issuer", "https://idp.example.jp")
    assert proc.returncode == 2 and "--oidc-client-id" in proc.stderr
    proc = run("serve", "--oidc-issuer", "http://idp.example.jp", "--oidc-client-id", "x", env={"GOVCLOUD_OIDC_CLIENT_SECRET": "s"})
    assert proc.returncode == 2 and "https://" in proc.stderr and "s\n" not in proc.stderr


def test_tokens_are_issued_by_platform_keys_only(run) -> None:
    proc = run("serve", "token", "create", "--principal", "asuka-sato", "--name", "x", "--key", str(KEYS / "asuka-sato"))
    assert proc.returncode == 1 and "only platform principals" in proc.stderr and proc.stdout == ""
    proc = run("serve", "token", "create", "--principal", "nobody", "--name", "x", "--key", str(KEYS / "yamada-taro"))
    assert proc.returncode == 1 and "no principal 'nobody'" in proc.stderr
    secret = token(run, "asuka-sato")
    assert secret.startswith("gcp_")
    listed = run("serve", "token", "list", "--format", "json", check=True).stdout
    assert secret not in listed and secret[:8] in listed
    assert run("serve", "token", "revoke", "1", "--key", str(KEYS / "kobayashi-aiko"), check=True).returncode == 0
    assert '"revokedAt": null' not in run("serve", "token", "list", "--format", "json", check=True).stdout


def test_two_service_processes_on_one_workspace(serve, run, service_ws, database_url) -> None:
    """On SQLite (WAL) and on PostgreSQL: the two processes share the database as well."""
    a, b = serve(), serve()
    t = {who: token(run, who, database_url=database_url) for who in ("asuka-sato", "hachioji-takahashi", "chiyoda-suzuki", "yamada-taro")}

    def post(base, path, who, **kw):
        return httpx.post(f"{base}/api/v1{path}", headers={"Authorization": f"Bearer {t[who]}"}, timeout=60, **kw)

    sids, digests = [], {}
    for name in ("hachioji-juki", "chiyoda-kosodate"):
        text = (REPO / "tenants" / "requests" / "examples" / f"{name}.yaml").read_bytes()
        r = httpx.post(f"{a}/api/v1/submissions", content=text, timeout=60,
                       headers={"Authorization": f"Bearer {t['asuka-sato']}", "Content-Type": "application/yaml"})
        assert r.status_code == 201, r.text
        sids.append(r.json()["id"])
        digests[r.json()["id"]] = r.json()["revision"]["digest"]
    hachioji, chiyoda = sids
    jobs = [(a, hachioji, "hachioji-takahashi"), (b, hachioji, "yamada-taro"),
            (b, chiyoda, "chiyoda-suzuki"), (a, chiyoda, "yamada-taro")]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: post(j[0], f"/submissions/{j[1]}/approvals", j[2], json={"digest": digests[j[1]]}), jobs))
    assert [r.status_code for r in results] == [201] * 4, [r.text for r in results]
    assert len({r.json()["historySeq"] for r in results}) == 4
    with ThreadPoolExecutor(2) as pool:
        applied = list(pool.map(lambda j: post(j[0], f"/submissions/{j[1]}/apply", "yamada-taro"),
                                [(a, hachioji), (b, chiyoda)]))
    assert [r.status_code for r in applied] == [200, 200], [r.text for r in applied]
    cidrs = [x["cidr"] for r in applied for x in r.json()["tenants"]]
    assert len(cidrs) == len(set(cidrs)) == 3
    run("history", "verify", root=service_ws, check=True)
    run("validate", root=service_ws, check=True)
    for base in (a, b):
        for sid in sids:
            r = httpx.get(f"{base}/api/v1/submissions/{sid}", headers={"Authorization": f"Bearer {t['asuka-sato']}"})
            assert r.json()["status"] == "applied"

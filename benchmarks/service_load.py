"""Throughput and latency of the onboarding service under concurrent clients.

    .venv/bin/python benchmarks/service_load.py --clients 20 --seconds 20

Starts `govcloud serve` (one uvicorn process, SQLite) on a scratch copy of the sample workspace
with the sample service key, issues a vendor token through `govcloud serve token create`, then
for each of two calls runs CLIENTS concurrent clients (asyncio + httpx, keep-alive) for SECONDS:

- validate: `POST /api/v1/requests/validate` with the Hachioji example (nothing stored);
- submit:   `POST /api/v1/submissions` with the same request (a submission and its validated
  revision committed to the database each time).

Prints requests per second, p50/p95/p99 latency and errors as JSON. The load generator runs on
the same machine as the service, so the figures include its competition for the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
GOVCLOUD = str(Path(sys.executable).parent / "govcloud")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_workspace(root: Path) -> None:
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, root / settings.name)
    (root / ".govcloud").mkdir()
    shutil.copy(REPO / "samples" / "keys" / "onboarding-service", root / ".govcloud" / "service_ed25519")
    (root / ".govcloud" / "service_ed25519").chmod(0o600)


async def load(base: str, path: str, body: bytes, token: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = await http.post(path, content=body, headers=headers)
                latencies.append(time.perf_counter() - t)
                if r.status_code not in (200, 201):
                    errors += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "errors": errors, "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="govcloud-load-") as tmp:
        root = Path(tmp)
        scratch_workspace(root)
        env = {**os.environ, "GOVCLOUD_ROOT": str(root)}
        token = subprocess.run([GOVCLOUD, "serve", "token", "create", "--principal", "asuka-sato", "--name", "load",
                                "--key", str(REPO / "samples" / "keys" / "yamada-taro")], env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        port = free_port()
        # The per-principal rate limit (20/s by default) would turn most of one token's load into
        # 429s: raise it, the figures are about the service's own capacity.
        server = subprocess.Popen([GOVCLOUD, "serve", "--port", str(port), "--api-rate", "100000"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{base}/signin", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            body = (REPO / "tenants" / "requests" / "examples" / "hachioji-juki.yaml").read_bytes()
            results = {"clients": args.clients, "seconds": args.seconds, "cpus": os.cpu_count(),
                       "load_average": round(os.getloadavg()[0], 1)}
            for name, path in (("validate", "/api/v1/requests/validate"), ("submit", "/api/v1/submissions")):
                results[name] = asyncio.run(load(base, path, body, token, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(json.dumps(results, indent=2))
    return 1 if any(results[k]["errors"] for k in ("validate", "submit")) else 0


if __name__ == "__main__":
    sys.exit(main())

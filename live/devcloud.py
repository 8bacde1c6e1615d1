"""`govcloud dev-cloud`: a local AWS (moto) on 127.0.0.1 for every live command.

The server runs detached on a free port; its address, process id and local keys are recorded in
`.govcloud/dev-cloud.json` (written atomically) so the other commands find it. The keys are local
placeholders: moto accepts any, and they are never valid anywhere else.

Account ids are stable across restarts: the server derives each new account's id from its e-mail
address (``govcloud.live.devserver.stable_account_id``) instead of moto's random draw, so a
restarted and re-seeded dev cloud gives every tenant the id the workspace recorded before.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from govcloud.diagnostics import UsageError
from govcloud.fsio import atomic_write

STATE = Path(".govcloud") / "dev-cloud.json"
LOG = Path(".govcloud") / "dev-cloud.log"
DEV_KEYS = {"accessKey": "AKIAGOVCLOUDDEVLOCAL", "secretKey": "govcloud-dev-cloud-local-only"}


def state_file(root: Path) -> Path:
    return root / STATE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/govcloud-dev/faults", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def running_dev_cloud(root: Path) -> dict | None:
    """The recorded dev cloud if its process is alive and answering, else None."""
    path = state_file(root)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if not _alive(int(state.get("pid", 0))) or not healthy(state["url"]):
        return None
    return state


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int | None = None, timeout: float = 30.0) -> dict:
    """Start the server process and wait until it answers; returns the (not yet saved) state."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    (root / LOG).parent.mkdir(parents=True, exist_ok=True)
    with (root / LOG).open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "govcloud.live.devserver", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "MOTO_PORT": str(port)})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UsageError(f"the dev cloud exited at start-up ({proc.returncode}); see {root / LOG}")
        if healthy(url):
            return {"url": url, "port": port, "pid": proc.pid, **DEV_KEYS,
                    "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        time.sleep(0.2)
    proc.terminate()
    raise UsageError(f"the dev cloud did not answer on {url} within {timeout:.0f}s; see {root / LOG}")


def save_state(root: Path, state: dict) -> None:
    atomic_write(state_file(root), json.dumps(state, indent=1, sort_keys=True) + "\n")


def stop(root: Path, timeout: float = 10.0) -> dict | None:
    path = state_file(root)
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    pid = int(state.get("pid", 0))
    if pid and _alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return state


def faults(url: str, method: str = "GET", fault: dict | None = None) -> list[dict]:
    data = json.dumps(fault).encode() if fault is not None else None
    request = urllib.request.Request(f"{url}/govcloud-dev/faults", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise UsageError(f"the dev cloud refused the fault: {exc.read().decode()}") from None

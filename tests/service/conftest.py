"""Fixtures of the service tests: a private copy of the sample workspace with the sample service
key, apps on it (FastAPI's TestClient) and a token per sample principal.

DB-backed tests run against SQLite and, when the PostgreSQL fixture (tests/support/postgres.py)
is available, against a real PostgreSQL server too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

try:  # tests/support lands with the infrastructure fixtures; without it only SQLite runs
    import tests.support.postgres  # noqa: F401
    HAVE_POSTGRES = True
except ImportError:  # pragma: no cover
    HAVE_POSTGRES = False

BACKENDS = ["sqlite", "postgresql"] if HAVE_POSTGRES else ["sqlite"]
KEYS = REPO / "samples" / "keys"
NOW = "2026-05-01T09:00:00Z"
PRINCIPALS = {
    "yamada-taro": "platform", "kobayashi-aiko": "platform", "hachioji-takahashi": "municipality",
    "chiyoda-suzuki": "municipality", "yokohama-watanabe": "municipality", "asuka-sato": "vendor",
    "hikari-suzuki": "vendor", "security-mori": "security",
}


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def service_ws(ws: Path) -> Path:
    """The sample workspace with the sample service key where `govcloud serve` looks for it."""
    (ws / ".govcloud").mkdir(exist_ok=True)
    key = ws / ".govcloud" / "service_ed25519"
    shutil.copy(KEYS / "onboarding-service", key)
    key.chmod(0o600)
    return ws


def make_config(root: Path, database_url: str, **overrides):
    from govcloud.service.config import RateLimit, ServiceConfig
    from govcloud.workspace import Workspace

    ws = Workspace(root)
    settings = dict(workspace=ws, database_url=database_url, service_key=ServiceConfig.default_service_key(ws),
                    secure_cookies=False, signin_rate=RateLimit(1000, 1000), api_rate=RateLimit(1000, 1000))
    settings.update(overrides)
    return ServiceConfig(**settings)


@pytest.fixture
def make_client(service_ws, database_url, monkeypatch):
    """make_client(**config overrides) -> a TestClient on a new app instance (same workspace and
    database each time: a second instance is a restart or a second process)."""
    from fastapi.testclient import TestClient

    from govcloud.service.app import create_app

    monkeypatch.setenv("GOVCLOUD_NOW", NOW)
    clients = []

    def _make(**overrides):
        client = TestClient(create_app(make_config(service_ws, database_url, **overrides)),
                            base_url="http://127.0.0.1:8080", raise_server_exceptions=False)
        clients.append(client)
        return client

    yield _make
    for c in clients:
        c.close()
        engine = c.app.state.service.engine
        if engine is not None:
            engine.dispose()


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def tokens(client) -> dict[str, str]:
    """A valid token per sample principal (issued directly in the database)."""
    from govcloud.service import auth

    Session = client.app.state.service.Session
    return {pid: auth.create_token(Session, principal=pid, name="test", created_by="yamada-taro", days=30)[0]
            for pid in PRINCIPALS}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sample_request(name: str = "hachioji-juki") -> str:
    return (REPO / "tenants" / "requests" / "examples" / f"{name}.yaml").read_text(encoding="utf-8")


def sign_statement(statement: bytes, principal: str) -> str:
    """What `ssh-keygen -Y sign -f samples/keys/PRINCIPAL -n govcloud-approval` writes."""
    from govcloud import sshsig

    key = sshsig.load_private_key((KEYS / principal).read_bytes())
    return sshsig.sign(statement, key, "govcloud-approval")


def submit(client, token: str, text: str | None = None) -> int:
    r = client.post("/api/v1/submissions", content=text if text is not None else sample_request(),
                    headers={**bearer(token), "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def seen(client, token: str, sid: int) -> dict:
    """What an approver reviewed: the digest of the submission's current revision, as the API
    shows it (approvals, rejections and applies name it; the service signs only that)."""
    r = client.get(f"/api/v1/submissions/{sid}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return {"digest": r.json()["revision"]["digest"]}

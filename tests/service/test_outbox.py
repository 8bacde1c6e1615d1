"""The notification outbox is delivered to a webhook, in order, at least once, with the
recipients resolved to e-mail addresses; a failing webhook stops delivery without losing order."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.service.conftest import bearer, seen, submit


class Webhook:
    """A real HTTP server on 127.0.0.1 that records what it receives (status: what it answers)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 204
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.status < 300:
                    hook.received.append({"body": json.loads(body), "key": self.headers.get("Idempotency-Key")})
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def test_the_outbox_reaches_the_webhook_in_order(client, tokens, run, service_ws, database_url, webhook) -> None:
    sid = submit(client, tokens["asuka-sato"])
    assert client.post(f"/api/v1/submissions/{sid}/approvals", json=seen(client, tokens["hachioji-takahashi"], sid),
                       headers=bearer(tokens["hachioji-takahashi"])).status_code == 201
    args = ("serve", "--database-url", database_url, "outbox")
    listed = json.loads(run(*args, "list", "--format", "json", root=service_ws, check=True).stdout)
    assert [m["event"] for m in listed] == ["submission.submitted", "submission.approved"]
    # Recipients resolved through the recorded principals: the platform and Hachioji's approver.
    assert "johokanri@city.hachioji.example" in listed[0]["to"]
    webhook.status = 503
    down = run(*args, "deliver", "--webhook", webhook.url, root=service_ws)
    assert down.returncode == 1 and "answered 503" in down.stderr and "Traceback" not in down.stderr
    assert len(json.loads(run(*args, "list", "--format", "json", root=service_ws, check=True).stdout)) == 2
    webhook.status = 204
    run(*args, "deliver", "--webhook", webhook.url, root=service_ws, check=True)
    assert [r["body"]["event"] for r in webhook.received] == ["submission.submitted", "submission.approved"]
    assert [r["key"] for r in webhook.received] == [f"govcloud-outbox-{r['body']['id']}" for r in webhook.received]
    assert json.loads(run(*args, "list", "--format", "json", root=service_ws, check=True).stdout) == []
    bad = run(*args, "deliver", "--webhook", "http://example.jp/hook", root=service_ws)
    assert bad.returncode == 2

"""Preflight: what applying a request would deploy, planned, checked and proven in a scratch copy."""

from __future__ import annotations

import json

from tests.conftest import tree_snapshot

EXAMPLE = "tenants/requests/examples/minato-kaigo.yaml"


def test_preflight_plans_checks_and_proves_without_writing(planned_ws, ws, run):
    before = tree_snapshot(ws)
    proc = run("request", "preflight", EXAMPLE, "--format", "json", check=True)
    result = json.loads(proc.stdout)
    assert result["ok"] and result["findings"] == [] and result["violations"] == []
    assert result["stacks"] == ["tenant-minato-data-kaigo-prod", "tenant-minato-data-kaigo-staging"]
    assert result["resources"] > 0
    # The declared API flow and the served municipalities' sites become reachable, nothing else.
    assert "minato-data-kaigo-prod → 131016-juki-prod tcp/443" in result["newReachable"]
    assert all("minato-data-kaigo" in flow for flow in result["newReachable"])
    assert tree_snapshot(ws) == before


def test_preflight_fails_closed_when_the_proof_cannot_be_made(planned_ws, ws, run):
    settings = ws / "Pulumi.network.yaml"
    settings.write_text(settings.read_text() + "  govcloud:attachmentIds: '[1, 2]'\n")
    proc = run("request", "preflight", EXAMPLE)
    assert proc.returncode == 1 and "the network proof could not be made" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_preflight_of_an_invalid_request_gives_its_diagnostics(ws, run):
    path = ws / "bad.yaml"
    path.write_text((ws / EXAMPLE).read_text().replace("region: japaneast", "region: us-east-1"))
    proc = run("request", "preflight", str(path))
    assert proc.returncode == 1 and "GC206" in proc.stderr and "bad.yaml:" in proc.stderr

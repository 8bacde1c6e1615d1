from __future__ import annotations

from tests.service.conftest import bearer, sample_request


def test_vendor_submits_and_platform_sees_it(client, tokens) -> None:
    r = client.get("/api/v1/me", headers=bearer(tokens["asuka-sato"]))
    assert r.status_code == 200 and r.json()["role"] == "vendor"
    r = client.post("/api/v1/submissions", content=sample_request(), headers={**bearer(tokens["asuka-sato"]),
                                                                                "Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["status"] == "submitted"
    r = client.get(f"/api/v1/submissions/{sid}/summary", headers=bearer(tokens["yamada-taro"]))
    assert r.status_code == 200, r.text
    assert r.json()["approvals"]["missing"] == ["platform", "municipality 132012"]

"""Hand-edited compiled configuration must be caught by `network verify --compiled`, with the
violated invariant and the path."""

import json
from pathlib import Path

import pytest



@pytest.fixture
def compiled(ws: Path, run, tmp_path) -> Path:
    out = tmp_path / "compiled"
    run("network", "compile", "--out", str(out), check=True)
    assert run("network", "verify", "--compiled", str(out)).returncode == 0
    return out


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def test_share_into_mynumber_is_a_routing_violation(compiled, run):
    edit(compiled / "aws-cloudwan/core-network-policy.json",
         lambda p: p["segment-actions"].append({"action": "share", "mode": "attachment-route", "segment": "internet",
                                                "share-with": ["mynumber"]}))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1
    assert "violation internet-never-reaches-mynumber (routing layer)" in proc.stdout
    assert "violation intake-crosses-inspection (routing layer)" in proc.stdout
    assert "route table cloudwan:internet" in proc.stdout  # the path, hop by hop


def test_rule_from_another_municipality(compiled, run):
    # 八王子市's mynumber site let into 千代田区's juki tenant
    edit(compiled / "tenants.json", lambda t: t["131016-juki-prod"]["securityGroups"][0]["ingress"].append(
        {"cidr": "172.17.0.0/20", "protocol": "tcp", "port": 443, "description": "hand-made"}))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1
    assert "violation municipality-separation (effective layer): site of 132012 reaches 131016-juki-prod" in proc.stdout
    assert "violation least-privilege" in proc.stdout
    assert "site:132012:shiyakusho-mynumber" in proc.stdout and "hand-made" in proc.stdout


def test_route_to_the_internet_from_mynumber(compiled, run):
    edit(compiled / "tenants.json", lambda t: t["131016-juki-prod"]["routes"].append(
        {"destination": "0.0.0.0/0", "target": "internet-gateway", "subnets": "private"}))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1
    assert "violation mynumber-never-reaches-internet (routing layer)" in proc.stdout
    assert "VPC route 0.0.0.0/0 → internet-gateway" in proc.stdout


def test_security_group_admitting_the_internet_zone_fails_even_without_a_route(compiled, run):
    edit(compiled / "tenants.json", lambda t: t["131016-juki-prod"]["securityGroups"][0]["ingress"].append(
        {"cidr": "10.40.0.0/24", "protocol": "tcp", "port": 443, "description": "from denshi-shinsei"}))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1
    assert "violation internet-never-reaches-mynumber (filtering layer)" in proc.stdout
    assert "271004-denshi-shinsei-prod" in proc.stdout


def test_open_egress_from_mynumber(compiled, run):
    edit(compiled / "tenants.json", lambda t: t["minato-data-kokuho-prod"]["egress"].append(
        {"cidr": "0.0.0.0/0", "protocol": "tcp", "port": 443}))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1 and "mynumber-never-reaches-internet (filtering layer)" in proc.stdout


def test_transit_gateway_static_route_around_inspection(compiled, run):
    def bypass(doc):
        doc["routeTables"]["rt-internet"]["routes"].append({"destination": "10.16.0.0/24", "target": "131016-juki-prod"})
    edit(compiled / "aws-tgw/transit-gateway.json", bypass)
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1
    assert "aws-tgw+azure-vwan" in proc.stdout and "intake-crosses-inspection (routing layer)" in proc.stdout


def test_internet_site_propagated_into_the_mynumber_table(compiled, run):
    edit(compiled / "aws-tgw/transit-gateway.json",
         lambda doc: doc["routeTables"]["rt-mynumber"]["propagations"].append("site:131016:honcho-internet"))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1
    assert "violation mynumber-never-reaches-internet (routing layer): mynumber tenants in tgw:rt-mynumber route to " \
           "internet-zone site:131016:honcho-internet" in proc.stdout


def test_firewall_rule_without_exception(compiled, run):
    edit(compiled / "firewall.json", lambda f: f["rules"].append(
        {"id": "hand-made", "action": "pass", "protocol": "tcp", "port": 443,
         "sources": ["10.40.0.0/24"], "destinations": ["10.16.0.0/24"]}))
    proc = run("network", "verify", "--compiled", str(compiled))
    assert proc.returncode == 1 and "inspection rule hand-made passes" in proc.stdout


def test_broken_compiled_folder_is_a_clear_error(run, tmp_path):
    proc = run("network", "verify", "--compiled", str(tmp_path))
    assert proc.returncode == 1 and "no compiled configuration" in proc.stderr
    (tmp_path / "attachments.json").write_text("[{")
    proc = run("network", "verify", "--compiled", str(tmp_path))
    assert proc.returncode == 1 and "attachments.json:1:" in proc.stderr

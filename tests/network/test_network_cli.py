import json
import shutil

import yaml

from tests.conftest import tree_snapshot


def test_sample_verifies_and_explains(planned_ws, run):
    # `network verify` proves what the plans deploy: Cloud WAN and Virtual WAN (the stacks deploy no
    # Transit Gateway, so that variant is verified with --compiled only).
    proc = run("network", "verify", check=True)
    assert proc.stdout.count("ok  ") == 8 and "expired exception eltax-intake-pilot" in proc.stdout
    assert proc.stdout.startswith("aws-cloudwan+azure-vwan")
    assert "reachable (source → tenant) pairs by zone" in proc.stdout
    proc = run("network", "explain", "--from", "271004-denshi-shinsei-prod", "--to", "minato-data-kokuho-prod", "--port", "443", check=True)
    assert "inspection function inspection-aws" in proc.stdout and "inter-cloud link" in proc.stdout
    assert "declared: exception:osaka-shinsei-to-kokuho-intake" in proc.stdout
    proc = run("network", "explain", "--from", "132012/shiyakusho-mynumber", "--to", "131016-juki-prod", check=True)
    assert "no route" in proc.stdout or "dropped" in proc.stdout
    assert run("network", "explain", "--from", "nobody", "--to", "131016-juki-prod").returncode == 1


def test_json_report(planned_ws, run, tmp_path):
    (first,) = json.loads(run("network", "verify", "--format", "json", check=True).stdout)
    assert first["ok"] and first["variant"] == "aws-cloudwan+azure-vwan"
    assert first["unreachableDeclared"] == []
    run("network", "compile", "--out", str(tmp_path / "c"), check=True)
    (first, second) = json.loads(run("network", "verify", "--compiled", str(tmp_path / "c"), "--format", "json",
                                     check=True).stdout)
    assert first["variant"] == "aws-cloudwan+azure-vwan" and second["variant"] == "aws-tgw+azure-vwan"


def test_compile_is_deterministic_and_writes_atomically(run, ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run("network", "compile", "--out", str(a), check=True)
    run("network", "compile", "--out", str(b), check=True)
    assert tree_snapshot(a) == tree_snapshot(b)
    run("network", "compile", "--target", "aws-tgw", "--out", str(a), check=True)
    assert not (a / "aws-cloudwan").exists() or not list((a / "aws-cloudwan").glob("*.json"))
    assert (a / "aws-tgw/transit-gateway.json").exists() and (a / "azure-vwan/virtual-wan.json").exists()


def _set_apis(ws, tenant, **apis):
    path = ws / f"tenants/active/{tenant}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["apis"].update(apis)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))


def test_diff_lists_the_paths_a_new_flow_opens(planned_ws, run, ws, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(ws, base)
    # kokuho (serving 131016 among others) publishes an API that 千代田区's juki consumes
    _set_apis(ws, "minato-data-kokuho-prod", publishes=[{"name": "kokuho-api", "port": 8443, "protocol": "https"}])
    _set_apis(ws, "131016-juki-prod", consumes=[{"tenant": "minato-data-kokuho", "api": "kokuho-api"}])
    proc = run("network", "diff", "--base", str(base), check=True)
    assert "+ opened 131016-juki-prod → minato-data-kokuho-prod tcp/8443" in proc.stdout
    assert "inter-cloud link" in proc.stdout  # AWS juki to Azure kokuho, hop by hop
    assert run("network", "verify").returncode == 0


def test_declared_flow_between_municipalities_is_still_a_violation(planned_ws, run, ws):
    # both sides declare it, yet 横浜市's koseki must not reach 千代田区's juki
    _set_apis(ws, "141003-koseki-prod", consumes=[{"tenant": "131016-juki", "api": "juki-api"}])
    proc = run("network", "verify")
    assert proc.returncode == 1
    assert "municipality-separation (effective layer): 141003-koseki-prod (serving 141003) reaches 131016-juki-prod" in proc.stdout


def test_diff_against_a_git_ref(planned_ws, run, ws):
    import subprocess
    subprocess.run(["git", "init", "-q"], cwd=ws, check=True)
    subprocess.run(["git", "add", "-A"], cwd=ws, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example", "commit", "-qm", "base"], cwd=ws, check=True)
    (ws / "tenants/active/011002-zaimu-prod.yaml").unlink()
    proc = run("network", "diff", "--base", "HEAD", check=True)
    assert "0 path(s) opened, 1 closed" in proc.stdout
    assert "- closed site:011002:honcho-lgwan → 011002-zaimu-prod tcp/443" in proc.stdout
    assert run("network", "diff", "--base", "no-such-ref").returncode == 1


def test_cross_zone_consumption_without_exception_is_refused(run, ws):
    _set_apis(ws, "271004-denshi-shinsei-prod", consumes=[{"tenant": "131016-juki", "api": "juki-api"}])
    proc = run("network", "compile")
    assert proc.returncode == 1 and "error[GC701]" in proc.stderr and "271004-denshi-shinsei-prod.yaml" in proc.stderr


def test_quotas_fail_clearly_or_shard(run, ws, tmp_path):
    proc = run("network", "compile", "--quota", "cloudwan-attachments-per-core-network=5", "--out", str(tmp_path / "x"))
    assert proc.returncode == 1
    assert "exceeds cloudwan-attachments-per-core-network = 5" in proc.stderr and "cloudwan-quotas" in proc.stderr
    out = tmp_path / "sharded"
    run("network", "compile", "--quota", "sg-inbound-rules-per-security-group=1", "--out", str(out), check=True)
    groups = json.loads((out / "tenants.json").read_text())["minato-data-kokuho-prod"]
    assert groups["nsgRules"]  # Azure: NSGs are not sharded
    aws = json.loads((out / "tenants.json").read_text())["131016-juki-prod"]["securityGroups"]
    assert len(aws) >= 2 and all(len(g["ingress"]) <= 1 for g in aws)
    assert run("network", "verify", "--compiled", str(out)).returncode == 0
    proc = run("network", "compile", "--quota", "sg-inbound-rules-per-security-group=1", "--quota",
               "sg-security-groups-per-interface=1", "--out", str(tmp_path / "y"))
    assert proc.returncode == 1 and "sg-security-groups-per-interface" in proc.stderr
    assert run("network", "compile", "--quota", "bogus=1").returncode == 2      # a usage error


def test_bad_exceptions_file(run, ws):
    path = ws / "tenants/network-exceptions.yaml"
    path.write_text(path.read_text().replace("to: {tenant: minato-data-kokuho-prod}", "to: {tenant: nobody-prod}")
                    .replace("justification: ぴったり", "justifcation: ぴったり"))
    before = tree_snapshot(ws)
    proc = run("network", "compile")
    assert proc.returncode == 1 and "network-exceptions.yaml:" in proc.stderr and "justifcation" in proc.stderr
    assert tree_snapshot(ws) == before

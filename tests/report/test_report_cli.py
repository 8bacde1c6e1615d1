"""`govcloud report` and `govcloud diff` through the real entry point."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import key
from tests.report.conftest import govcloud


def test_report_writes_html_and_json(sample):
    proc = govcloud(sample, "report", "--lang", "en")
    assert "wrote build/report.html" in proc.stdout and "8 tenants, proof holds" in proc.stdout
    html = (sample / "build/report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    govcloud(sample, "report", "--format", "json", "--out", "r.json")
    doc = json.loads((sample / "r.json").read_text())
    assert doc["proof"]["ok"] and len(doc["fleet"]["tenants"]) == 8


def test_diff_and_report_against_a_folder(changed):
    head, base = changed
    # two new tenants in My Number: the diff gate stops the change (exit 1) unless it is allowed
    proc = govcloud(head, "diff", "--base", str(base), "--lang", "en", check=False)
    assert proc.returncode == 1 and "diff gate: new path into the My Number zone" in proc.stderr
    assert govcloud(head, "diff", "--base", str(base), "--lang", "en", "--allow-mynumber-paths").returncode == 0
    out = proc.stdout
    assert "tenants: 2 added, 0 changed, 0 removed" in out and "+ 132012-juki-prod" in out
    assert "tenant-132012-juki-prod: 90 to create, 0 to update, 0 to delete (new stack)" in out
    assert "ATTENTION: 2 new path(s) reach the My Number zone; 0 of them from another zone" in out
    assert "site:132012:shiyakusho-mynumber (mynumber) → 132012-juki-prod (mynumber) tcp/443" in out
    doc = json.loads(govcloud(head, "diff", "--base", str(base), "--format", "json", check=False).stdout)
    assert doc["violationsNew"] == [] and doc["controlsNew"] == []
    assert doc["tenantsAdded"] == ["132012-juki-prod", "132012-juki-staging"] and len(doc["pathsOpened"]) == 2
    ja = govcloud(head, "diff", "--base", str(base), "--lang", "ja", check=False).stdout
    assert "テナント: 追加 2、変更 0、削除 0" in ja


def test_diff_against_a_git_ref(sample):
    def git(*args):
        subprocess.run(["git", "-C", str(sample), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "add", "-A", "tenants", "Pulumi.yaml", "Pulumi.network.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "base")
    path = sample / "tenants/network-exceptions.yaml"
    path.write_text(path.read_text().replace("port: 443\n      via: inspection\n      justification: ぴったり",
                                             "port: 8443\n      via: inspection\n      justification: ぴったり"))
    # Only a recorded change counts: the people the exception needs sign it (docs/trust.md).
    govcloud(sample, "exceptions", "record", *(a for who in ("platform", "131016", "011002", "271004", "security-mori")
                                               for a in ("--key", key(who))))
    out = govcloud(sample, "diff", "--base", "HEAD", "--lang", "en", check=False).stdout
    assert "reachability: 1 pair(s) added, 1 removed" in out
    assert "! 271004-denshi-shinsei-prod (internet) → minato-data-kokuho-prod (mynumber) tcp/8443" in out
    assert "- 271004-denshi-shinsei-prod (internet) → minato-data-kokuho-prod (mynumber) tcp/443" in out
    # The inspection firewall rule and the NSG rule change: the network and tenant stacks update.
    assert "network: 0 to create, 1 to update" in out or "tenant-minato-data-kokuho-prod" in out


def test_bad_inputs_are_diagnostics_not_tracebacks(sample, tmp_path):
    bad_plans = tmp_path / "bad-plans"        # a plan the contract refuses: its diagnostic, from the parent process
    bad_plans.mkdir()
    (bad_plans / "tenant-x.json").write_text('{"deployment": {"resources": []}}')
    cases = [
        (("report", "--plans", str(bad_plans)), "tenant-x.json:1:1: error[GC902]"),
        (("diff", "--base", "no-such-ref"), "neither a folder nor a commit"),
        (("report", "--base", str(sample / "tenants")), "not a govcloud workspace"),
        (("report", "--live", str(sample / "missing.json")), "cannot read"),
        (("report", "--live", str(sample / "Pulumi.yaml")), "not valid JSON"),
        (("report", "--format", "pdf"), "'--format'"),     # the option named, not typer's wording
        (("report", "--lang", "fr"), "'--lang'"),
        (("report", "--plans", str(sample / "nowhere")), "is not a folder of plan documents"),
        (("report", "--quota", "bogus=1"), "--quota wants ID=N"),
    ]
    for args, message in cases:
        proc = govcloud(sample, *args, check=False, env={"COLUMNS": "200"})
        assert proc.returncode in (1, 2), (args, proc.returncode)
        if message.startswith("'--"):   # a value outside the option's choices is a usage error
            assert proc.returncode == 2 and args[-1] in proc.stderr
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout
    assert not (sample / "build/report.html").exists()      # nothing half-written
    proc = govcloud(sample, "diff", check=False)
    assert proc.returncode == 2 and "--base" in proc.stderr

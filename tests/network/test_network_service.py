"""The network service (govcloud/app/network.py): explain and diff read the plans as verify does
(a compiled folder on request), the deploy gate plans once, offline plans need the outputs a
stack reference read."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from govcloud.app import network as service
from govcloud.diagnostics import UsageError
from govcloud.network.errors import NetworkInputError
from govcloud.workspace import Workspace


def _set_apis(ws: Path, tenant: str, **apis) -> None:
    path = ws / f"tenants/active/{tenant}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["apis"].update(apis)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))


def test_explain_reads_the_plans_and_a_compiled_folder_on_request(ws: Path, tmp_path: Path):
    workspace = Workspace(ws)
    request = service.ExplainRequest("271004-denshi-shinsei-prod", "minato-data-kokuho-prod", 443)
    planned = service.explain_path(lambda: workspace, request)
    (variant, lines), = planned.sections
    assert variant == "aws-cloudwan+azure-vwan"   # the stacks deploy no Transit Gateway: the plans have one variant
    assert any("inter-cloud link" in line for line in lines)
    service.compile_to_folder(workspace, service.CompileRequest(out_dir=tmp_path / "c"))
    compiled = service.explain_path(None, service.ExplainRequest(
        "271004-denshi-shinsei-prod", "minato-data-kokuho-prod", 443, service.ProofInput(compiled_dir=tmp_path / "c")))
    assert [v for v, _ in compiled.sections] == ["aws-cloudwan+azure-vwan", "aws-tgw+azure-vwan"]
    with pytest.raises(UsageError, match="no attachment 'nobody'"):
        service.explain_path(lambda: workspace, service.ExplainRequest("nobody", "131016-juki-prod"))


def test_explain_follows_a_plan_not_the_intent(ws: Path, plans_share):
    """A path the plans open (a template bug) shows in explain although the intent has none."""
    workspace = Workspace(ws)
    request = service.ExplainRequest("131016/honcho-lgwan", "131016-juki-prod")
    before = service.explain_path(lambda: workspace, request).sections[0][1]
    plans_share("lgwan", "mynumber")
    after = service.explain_path(lambda: workspace, request).sections[0][1]
    assert any("no route" in line for line in before)
    assert not any("no route" in line for line in after)


def test_diff_compares_the_plans_of_both_sides(ws: Path, tmp_path: Path):
    base = tmp_path / "base"
    shutil.copytree(ws, base)
    _set_apis(ws, "minato-data-kokuho-prod", publishes=[{"name": "kokuho-api", "port": 8443, "protocol": "https"}])
    _set_apis(ws, "131016-juki-prod", consumes=[{"tenant": "minato-data-kokuho", "api": "kokuho-api"}])
    planned = service.diff(Workspace(ws), service.DiffRequest(str(base)))
    compiled = service.diff(Workspace(ws), service.DiffRequest(str(base), "compiled"))
    # paths are keyed with the zones of both ends (source, zone, destination, zone, protocol, port)
    key = ("131016-juki-prod", "mynumber", "minato-data-kokuho-prod", "mynumber", "tcp", 8443)
    assert key in planned.opened and key in compiled.opened
    assert planned.opened == compiled.opened and planned.closed == compiled.closed
    # kokuho publishes 8443 now, so its sites reach it there and no longer on the default 443
    assert ("site:011002:honcho-mynumber", "mynumber", "minato-data-kokuho-prod", "mynumber", "tcp", 443) in planned.closed
    # a declared flow inside the zone: new paths into My Number (the gate stops unless allowed), no new violation
    assert key in planned.opened_into_mynumber and planned.new_violations == []
    assert planned.gate() and planned.gate(allow_mynumber_paths=True) == []
    # the path is the plans': the hub route table of the deployed Virtual WAN, the inter-cloud link
    assert any("inter-cloud link" in hop for hop in planned.after[key].path)


def test_offline_plans_need_the_reference_outputs(ws: Path):
    from govcloud.network.plans import documents_from_plans

    _, plans, inventory, configured = service.plan_inputs(Workspace(ws))
    with pytest.raises(NetworkInputError, match="offline plan"):
        documents_from_plans(copy.deepcopy(plans), inventory, configured)


def test_the_deploy_gate_plans_once(ws: Path, monkeypatch):
    """Controls and network proof judge the same planning (issue 12: the gate planned twice)."""
    from govcloud.app import deploy
    from govcloud.stacks import automation, planner

    calls = []
    real = planner.run_plans

    def counting(ws_, stacks, out_dir, **kwargs):
        calls.append([s for s, _ in stacks])
        return real(ws_, stacks, out_dir, **kwargs)

    class Result:
        summary = type("S", (), {"resource_changes": {"create": 1}})()

    monkeypatch.setattr(planner, "run_plans", counting)
    monkeypatch.setattr(automation, "up", lambda *a, **k: Result())
    judged = []
    outcome = deploy.deploy(Workspace(ws), deploy.DeployRequest("up", "tenant-131016-juki-prod", confirmed=True),
                            on_gate=judged.append)
    assert len(calls) == 1 and "network" in calls[0] and "tenant-131016-juki-prod" in calls[0]
    assert judged and judged[0].passed and outcome.summary == "{'create': 1}"
    calls.clear()
    deploy.deploy(Workspace(ws), deploy.DeployRequest("up", "foundation", confirmed=True))
    assert calls == [["foundation"]]     # the proof does not read the foundation stack


def test_the_deploy_gate_still_refuses_a_failing_control(ws: Path, monkeypatch):
    from govcloud.app import deploy
    from govcloud.stacks import automation

    monkeypatch.setattr(automation, "up", lambda *a, **k: pytest.fail("deployed despite the gate"))
    monkeypatch.setattr(deploy, "judge", lambda ws_, stack, plan: deploy.GateOutcome(stack, [
        type("F", (), {"control": "GC-X", "message": "failed on purpose"})()]))
    with pytest.raises(deploy.GateRefused, match="GC-X"):
        deploy.deploy(Workspace(ws), deploy.DeployRequest("up", "tenant-131016-juki-prod", confirmed=True))


def test_cli_explain_and_diff_options(run, ws, tmp_path):
    run("network", "compile", "--out", str(tmp_path / "c"), check=True)
    proc = run("network", "explain", "--from", "132012/shiyakusho-mynumber", "--to", "131016-juki-prod",
               "--compiled", str(tmp_path / "c"), check=True)
    assert proc.stdout.count("aws-") == 2          # both AWS variants of the compiled folder
    proc = run("network", "diff", "--base", str(ws), "--source", "compiled", "--format", "json", check=True)
    assert json.loads(proc.stdout) == {"opened": [], "closed": [], "openedIntoMynumber": [], "newViolations": [],
                                       "fixedViolations": [], "gate": []}
    assert run("network", "diff", "--base", str(ws), "--source", "intent").returncode == 2
    assert run("network", "verify", "--format", "xml").returncode == 2

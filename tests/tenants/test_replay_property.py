"""Property: over any sequence of approve / withdraw / Principals record / apply (and a replay of a
recorded approval at the end), what counts is exactly what an honest model of the rules says
counts (docs/trust.md), both as the workflow sees it and as a fresh replay of the file sees it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govcloud import sshsig
from govcloud.diagnostics import DiagnosticError, UsageError
from govcloud.tenants import approvals, history, ledger, workflow
from govcloud.tenants.principals import KeySigner
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace
from tests.conftest import REPO, key
from tests.tenants.test_approvals import forge

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"
PEOPLE = {"yamada-taro": "platform", "kobayashi-aiko": "platform", "hachioji-takahashi": "municipality 132012"}

ops = st.lists(st.one_of(st.tuples(st.sampled_from(["approve", "withdraw"]), st.sampled_from(sorted(PEOPLE))),
                         st.just(("record", "")), st.just(("apply", ""))), min_size=1, max_size=9)


def signer(who: str) -> KeySigner:
    return KeySigner(sshsig.load_private_key(Path(key(who)).read_bytes()))


def counted(ws: Workspace, req, digest: str) -> tuple[set[str], set[str]]:
    """(principals counted by the workflow, principals counted by a fresh replay of the file)."""
    hist = history.load(ws.history_file)
    live = {a.principal for a in workflow.tally(req, digest, hist).counted}
    fresh = approvals.replay(history.load(ws.history_file))
    replayed = {a.principal for a in approvals.count(req.metadata.name, digest, list(req.spec.municipalities), fresh,
                                                     fresh.current).counted}
    return live, replayed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_what_counts_is_what_an_honest_replay_says(sequence):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        for settings_file in REPO.glob("Pulumi*.yaml"):
            shutil.copy(settings_file, root / settings_file.name)
        ws = Workspace(root)
        path = root / EXAMPLE
        checked = workflow.validate_request(path, load_registry(ws))
        req, digest = checked.request, checked.digest
        active: dict[str, str] = {}          # the model: principal -> slot, for approvals that count
        applied = False
        email = 0
        for op, who in sequence:
            if op == "approve":
                ok = not applied and who not in active and PEOPLE[who] not in active.values()
                action = lambda: workflow.approve(ws, path, signer(who))          # noqa: E731
            elif op == "withdraw":
                ok = not applied and who in active
                action = lambda: workflow.withdraw_approval(ws, path, signer(who))  # noqa: E731
            elif op == "apply":
                ok = not applied and {"platform", "municipality 132012"} <= set(active.values())
                action = lambda: workflow.apply(ws, path, actor="prop")              # noqa: E731
            else:                             # a Principals change that grants nothing: one platform signer
                email += 1
                p = ws.principals_file
                p.write_text(p.read_text().replace("gc-ops@asuka-systems.example" if email % 2 else
                                                   "gc-ops2@asuka-systems.example",
                                                   "gc-ops2@asuka-systems.example" if email % 2 else
                                                   "gc-ops@asuka-systems.example"))
                ok = True
                action = lambda: workflow.record_principals(ws, signer("yamada-taro"))  # noqa: E731
            try:
                action()
                done = True
            except (UsageError, DiagnosticError):
                done = False
            assert done == ok, (op, who, active, applied)
            if done and op == "approve":
                active[who] = PEOPLE[who]
            elif done and op == "withdraw":
                active.pop(who)
            elif done and op == "apply":
                applied = True
            live, fresh = counted(ws, req, digest)
            assert live == fresh == set(active), (sequence, live, fresh, active)
            assert not [d for d in ledger.problems(ws, load_registry(ws))[1] if d.severity == "error"]
        # The attack: every approval recorded so far, copied to the end, counts for nothing more.
        hist = history.load(ws.history_file)
        for entry in [e for e in hist.entries if e["event"] == "request.approved"
                      and e["data"]["request"] == req.metadata.name]:
            forge(root, "request.approved", entry["data"])
            live, fresh = counted(ws, req, digest)
            assert live == fresh == set(active)
            found = ledger.problems(ws, load_registry(ws))[1]
            assert any(d.code == "GC604" and "a signature counts once" in d.message for d in found)

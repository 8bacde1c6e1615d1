"""Tampering with the ledger by hand, as a hostile user with write access would: every attack from
issue 11 is refused by the next write and reported by `validate` / `history verify`, with file and
line, never a traceback, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from govcloud.tenants import history
from tests.conftest import approve_args, key, tree_snapshot

EXAMPLE = "tenants/requests/examples/hachioji-juki.yaml"
OTHER = "tenants/requests/examples/chiyoda-kosodate.yaml"


def approve_both(run, path, muni):
    run(*approve_args(path, "platform"), check=True)
    run(*approve_args(path, muni), check=True)


def lines(ws: Path) -> list[str]:
    return (ws / "tenants/history.jsonl").read_text().splitlines()


def write_lines(ws: Path, rows: list[str]) -> None:
    (ws / "tenants/history.jsonl").write_text("".join(r + "\n" for r in rows))


def digest_of(run, path) -> str:
    return json.loads(run("request", "validate", path, "--format", "json", check=True).stdout)[0]["digest"]


def refused(proc, *needles):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def forged_approvals(ws, run, rehash: bool) -> list[str]:
    """OTHER's two approvals, re-addressed to EXAMPLE and appended to the chain."""
    approve_both(run, OTHER, "131016")
    rows = lines(ws)
    target = digest_of(run, EXAMPLE)
    head = json.loads(rows[-1])["hash"]
    for row in rows[-2:]:
        entry = json.loads(row)
        entry["data"].update(request="hachioji-juki", digest=target)
        if entry["data"]["role"] == "municipality":
            entry["data"]["municipality"] = "132012"
        entry["seq"] = len(rows) + 1
        if rehash:
            entry["prev"] = head
            entry["hash"] = head = history.entry_hash(entry)
        rows.append(history.encode(entry))
    write_lines(ws, rows)
    return rows


@pytest.mark.parametrize("rehash, why", [(False, "was edited"), (True, "records history head")])
def test_approvals_copied_from_another_request_do_not_create_tenants(ws, run, rehash, why):
    forged_approvals(ws, run, rehash)
    before = tree_snapshot(ws)
    refused(run("request", "apply", EXAMPLE), why)
    assert tree_snapshot(ws) == before
    assert not (ws / "tenants/active/132012-juki-prod.yaml").exists()
    refused(run("history", "verify"), why)
    refused(run("validate"), why)


def test_deleting_the_newest_entries_is_detected_and_never_written_over(ws, run):
    approve_both(run, OTHER, "131016")
    write_lines(ws, lines(ws)[:-2])
    before = tree_snapshot(ws)
    refused(run("history", "verify"), "history.jsonl:", "entries were removed from the end")
    refused(run("validate"), "GC602")
    refused(run(*approve_args(EXAMPLE, "platform")), "GC602")
    assert tree_snapshot(ws) == before


def test_deleting_the_whole_history_is_detected(ws, run):
    (ws / "tenants/history.jsonl").unlink()
    refused(run("history", "verify"), "the history file is missing or empty")
    refused(run(*approve_args(EXAMPLE, "platform")), "GC602")
    assert not (ws / "tenants/history.jsonl").exists()
    # ... and with the address plan's anchor removed too, the tenants' own anchors still tell
    plan = ws / "tenants/ipam.yaml"
    plan.write_text("\n".join(l for l in plan.read_text().splitlines() if "historyHead" not in l) + "\n")
    refused(run("validate"), "131016-juki-prod.yaml", "the history was shortened or replaced")


def test_a_duplicated_entry_breaks_the_chain(ws, run):
    rows = lines(ws)
    write_lines(ws, rows + [rows[0]])
    refused(run("history", "verify"), "history.jsonl:20:", "sequence number 1 where 20 was expected")


@pytest.mark.parametrize("command", [
    ("history", "verify"), ("history", "show"), ("validate",),
    approve_args(EXAMPLE, "platform"),
    ("request", "apply", EXAMPLE), ("tenant", "remove", "271004-denshi-shinsei-prod", "--yes", "--key", key("platform")),
    ("accounts", "vend", "131016-juki-prod"),      # refused before any cloud call
])
def test_a_line_cut_in_half_is_a_diagnostic_for_every_command(ws, run, command):
    text = (ws / "tenants/history.jsonl").read_text()
    (ws / "tenants/history.jsonl").write_text(text[: len(text) - 120])
    before = tree_snapshot(ws)
    refused(run(*command), "history.jsonl:19:1: error[GC601]")
    assert tree_snapshot(ws) == before


def test_a_hand_deleted_allocation_is_never_handed_out_again(ws, run):
    plan_path = ws / "tenants/ipam.yaml"
    text = plan_path.read_text()
    held = "  - tenant: 141003-koseki-staging\n    pool: aws-apne1-mynumber\n    cidr: 10.16.4.0/23\n"
    assert held in text
    plan_path.write_text(text.replace(held, ""))
    refused(run("validate"), "141003-koseki-staging.yaml", "no allocation", "GC307")
    refused(run("request", "validate", EXAMPLE), "GC302", "overlaps tenant 141003-koseki-staging")
    approve_before = tree_snapshot(ws)
    refused(run(*approve_args(EXAMPLE, "platform")), "GC307")
    assert tree_snapshot(ws) == approve_before


def test_a_tenant_cidr_edited_into_another_tenants_range_is_refused(ws, run):
    doc = ws / "tenants/active/131016-juki-staging.yaml"
    doc.write_text(doc.read_text().replace("cidr: 10.16.1.0/24", "cidr: 10.16.0.0/24"))
    proc = run("validate")
    refused(proc, "GC302", "overlaps tenant 131016-juki-prod", "GC307", "GC602")
    assert "131016-juki-staging.yaml:" in proc.stderr and "spec.network.cidr" in proc.stderr


def test_a_tenant_document_deleted_with_its_allocation_is_detected(ws, run):
    (ws / "tenants/active/271004-denshi-shinsei-prod.yaml").unlink()
    plan_path = ws / "tenants/ipam.yaml"
    plan_path.write_text(plan_path.read_text().replace(
        "  - tenant: 271004-denshi-shinsei-prod\n    pool: aws-apne3-internet\n    cidr: 10.40.0.0/24\n", ""))
    refused(run("validate"), "271004-denshi-shinsei-prod.yaml is missing: it was deleted by hand")


def test_an_edited_applied_record_is_detected(ws, run):
    record = ws / "tenants/requests/applied/chiyoda-juki.yaml"
    record.write_text(record.read_text().replace("prefixLength: 24", "prefixLength: 23"))
    refused(run("validate"), "chiyoda-juki.yaml", "GC603", "the record was edited")


def test_a_new_request_cannot_reuse_an_applied_requests_name(ws, run):
    reused = ws / "tenants/requests/examples/reused.yaml"
    reused.write_text((ws / EXAMPLE).read_text().replace("name: hachioji-juki", "name: chiyoda-juki"))
    assert "name: chiyoda-juki" in reused.read_text()
    record_before = (ws / "tenants/requests/applied/chiyoda-juki.yaml").read_bytes()
    refused(run(*approve_args(str(reused), "platform")), "already applied")
    assert (ws / "tenants/requests/applied/chiyoda-juki.yaml").read_bytes() == record_before


def test_apply_writes_ipam_yaml_keeping_its_comments(ws, run):
    plan_path = ws / "tenants/ipam.yaml"
    plan_path.write_text(plan_path.read_text().replace(
        "  - name: aws-apne1-lgwan\n", "  # LGWAN pool agreed with J-LIS, ticket 4711\n  - name: aws-apne1-lgwan\n"))
    approve_both(run, EXAMPLE, "132012")
    run("request", "apply", EXAMPLE, check=True)
    text = plan_path.read_text()
    assert "# LGWAN pool agreed with J-LIS, ticket 4711" in text
    assert text.startswith("# yaml-language-server: $schema=schemas/addressplan.schema.json\n")
    allocations = {a["tenant"]: a["cidr"] for a in yaml.safe_load(text)["status"]["allocations"]}
    assert allocations["132012-juki-prod"] == "10.16.6.0/24"
    assert run("validate").returncode == 0 and run("history", "verify").returncode == 0

"""`govcloud accounts vend`: one AWS account per tenant, through Organizations, safely re-runnable.

1. Find the tenant's account by its email or its `tenant` tag; reuse it if found.
2. Otherwise CreateAccount (email, name, tags and role from the tenant's plan), poll its status,
   and move it into the quarantine OU, whose SCP lets only the platform act; delete its default
   VPCs in the Japan regions (public subnets have no place in a closed zone).
3. While the account is in quarantine, judge its baseline with the live audit: when every
   mandatory control passes, move it into its tenant OU (tenants-<prod|staging>/<zone>);
   otherwise it stays in quarantine and the command says which controls are missing.
4. Record the account id in the tenant document's status.accountId through the Tenant model, and
   as a `tenant.account-recorded` history event, in one transaction under the workspace lock
   (`govcloud.tenants.workflow.record_account`). Plans then use the real account id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import getpass
import os

from govcloud.diagnostics import UsageError
from govcloud.live import organization as orgs
from govcloud.live.audit import audit_tenants
from govcloud.live.clients import Account
from govcloud.live.replay import delete_default_vpcs
from govcloud.tenants import ledger, workflow
from govcloud.tenants.registry import load_registry
from govcloud.workspace import Workspace

JAPAN_REGIONS = ("ap-northeast-1", "ap-northeast-3")


@dataclass
class Vended:
    tenant: str
    account_id: str
    created: bool
    location: str                       # OU path the account is in now
    steps: list[str] = field(default_factory=list)
    baseline_failures: list[str] = field(default_factory=list)
    recorded: bool = False


def vend(mgmt: Account, tenant: dict) -> Vended:
    tree = orgs.ou_tree(mgmt)
    target = orgs.tenant_ou_path(tenant["environment"], tenant["zone"])
    for path in ("quarantine", target):
        if path not in tree:
            raise UsageError(f"the organisation has no OU {path!r}: deploy the foundation stack first "
                             "(govcloud up --stack foundation, or govcloud dev-cloud start)")
    found = orgs.find_account(mgmt, tenant["name"], tenant["email"])
    steps = []
    if found:
        account_id, created = found["Id"], False
        steps.append(f"found account {account_id} ({found['Email']})")
    else:
        account_id = orgs.create_account(mgmt, tenant["accountName"], tenant["email"], tenant["tags"], tenant["role"])
        created = True
        steps.append(f"created account {account_id} ({tenant['email']})")
        if orgs.move(mgmt, account_id, tree["quarantine"]):
            steps.append("moved into quarantine")
        removed = delete_default_vpcs(mgmt.assume(account_id, tenant["role"]), JAPAN_REGIONS)
        if removed:
            steps.append(f"deleted {removed} default VPC(s)")
    parent = orgs.parent_of(mgmt, account_id)
    location = next((p for p, i in tree.items() if i == parent), parent)
    result = Vended(tenant["name"], account_id, created, location, steps)
    if location == "quarantine":
        audit = audit_tenants(mgmt, [{**tenant, "accountId": account_id}], None)
        failed = [f"{f.control}: {f.message}" for f in audit.run.failures(audit.controls)]
        failed += [f"could not audit: {failure}" for t in audit.tenants for _, failure in t.failures]
        if failed:
            result.baseline_failures = failed
            steps.append("stays in quarantine until the baseline is applied (govcloud up --stack tenant-"
                         f"{tenant['name']}), then run accounts vend again")
        else:
            orgs.move(mgmt, account_id, tree[target])
            result.location = target
            steps.append(f"baseline verified; moved into {target}")
    return result


def require_recordable(ws: Workspace) -> None:
    """Refuse before creating anything in the cloud when the account could not be recorded after:
    the ledger (history chain, anchors, address plan) must be intact."""
    with ws.locked():
        ledger.require_intact(ws, load_registry(ws))


def record_account_id(ws: Workspace, tenant: str, account_id: str, actor: str | None = None) -> bool:
    """Record the account in tenants/active/<tenant>.yaml and the history; False when already recorded."""
    actor = actor or os.environ.get("GOVCLOUD_ACTOR") or getpass.getuser()
    return workflow.record_account(ws, tenant, account_id, actor=actor)

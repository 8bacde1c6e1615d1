"""Seed the dev cloud with the sample fleet as if it had been deployed: the organisation and the
foundation stack's OUs, the log archive bucket, one vended account per AWS tenant with its planned
baseline and network replayed into it, and a network account with the compiled Transit Gateway.

Accounts are vended with the same code as `govcloud accounts vend` (created, quarantined, baseline
applied, verified by the live audit, released into the tenant OU), so the seeded cloud starts from a
true, compliant baseline and a later `accounts vend` finds each tenant's account instead of making
another. The workspace is not written: recording account ids is `accounts vend`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from govcloud.live import organization as orgs
from govcloud.live.accounts import vend
from govcloud.live.clients import Account, CallFailure, call, paginate
from govcloud.live.replay import replay_tenant
from govcloud.live.tgw import deploy_tgw

NETWORK_ACCOUNT_NAME = "govcloud-network"


@dataclass
class Seeded:
    management_account: str
    network_account: str | None = None
    accounts: dict[str, str] = field(default_factory=dict)     # tenant -> account id
    ous: int = 0
    transit_gateway: str | None = None


def foundation_ou_paths(plan: dict) -> list[str]:
    ous = {r["id"]: r["inputs"] for r in plan["deployment"]["resources"]
           if r["type"] == "aws:organizations/organizationalUnit:OrganizationalUnit"}

    def path(ou_id: str) -> str:
        ou = ous[ou_id]
        parent = ou.get("parentId")
        return f"{path(parent)}/{ou['name']}" if parent in ous else ou["name"]

    return sorted({path(i) for i in ous}, key=lambda p: (p.count("/"), p))


def replay_scps(mgmt: Account, plan: dict, tree: dict[str, str]) -> int:
    """The foundation's service control policies and their attachments, as deployed: the audit
    reads the SCPs governing each tenant account (GC-AWS-ORG-1). A target that is not one of the
    plan's OUs is the organisation's root (the only other target the foundation uses)."""
    resources = plan["deployment"]["resources"]
    ous = {r["id"]: r["inputs"] for r in resources if r["type"] == "aws:organizations/organizationalUnit:OrganizationalUnit"}

    def path(ou_id: str) -> str:
        parent = ous[ou_id].get("parentId")
        return f"{path(parent)}/{ous[ou_id]['name']}" if parent in ous else ous[ou_id]["name"]

    ou_paths = {i: path(i) for i in ous}
    org = mgmt.client("organizations")
    root = tree[""]
    try:
        call(org, "EnablePolicyType", RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    except CallFailure as failure:
        if "PolicyTypeAlreadyEnabled" not in failure.message:
            raise
    existing = {p["Name"]: p["Id"] for p in paginate(org, "ListPolicies", "Policies", Filter="SERVICE_CONTROL_POLICY")}
    live_ids: dict[str, str] = {}
    for r in resources:
        if r["type"] == "aws:organizations/policy:Policy":
            i = r["inputs"]
            live_ids[r["id"]] = existing.get(i["name"]) or call(
                org, "CreatePolicy", Name=i["name"], Description=i.get("description", ""), Type=i.get("type", "SERVICE_CONTROL_POLICY"),
                Content=i["content"])["Policy"]["PolicySummary"]["Id"]
    attached = 0
    for r in resources:
        if r["type"] == "aws:organizations/policyAttachment:PolicyAttachment":
            target = r["inputs"]["targetId"]
            live_target = tree[ou_paths[target]] if target in ou_paths else root
            try:
                call(org, "AttachPolicy", PolicyId=live_ids[r["inputs"]["policyId"]], TargetId=live_target)
                attached += 1
            except CallFailure as failure:
                if "DuplicatePolicyAttachment" not in failure.message:
                    raise
    return attached


def seed(mgmt: Account, plans: dict[str, dict], tenants: list[dict], compiled_tgw: dict | None,
         email_domain: str) -> Seeded:
    me = call(mgmt.client("sts"), "GetCallerIdentity")["Account"]
    seeded = Seeded(me)
    orgs.ensure_organization(mgmt)
    tree = orgs.ou_tree(mgmt)
    for path in foundation_ou_paths(plans["foundation"]):
        orgs.ensure_ou_path(mgmt, tree, path)
    seeded.ous = len(tree) - 1
    replay_scps(mgmt, plans["foundation"], tree)
    s3 = mgmt.client("s3")
    existing = {b["Name"] for b in call(s3, "ListBuckets").get("Buckets", [])}
    for r in plans["foundation"]["deployment"]["resources"]:
        if r["type"] == "aws:s3/bucket:Bucket" and r["inputs"]["bucket"] not in existing:
            call(s3, "CreateBucket", Bucket=r["inputs"]["bucket"], ObjectLockEnabledForBucket=bool(r["inputs"].get("objectLockEnabled")),
                 CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})

    for tenant in tenants:
        first = vend(mgmt, tenant)
        if first.location == "quarantine":
            replay_tenant(mgmt.assume(first.account_id, tenant["role"]), tenant["plan"], first.account_id, me, tenant["region"])
            vend(mgmt, tenant)
        seeded.accounts[tenant["name"]] = first.account_id

    network = orgs.find_account(mgmt, "network", f"aws+network@{email_domain}")
    network_id = network["Id"] if network else orgs.create_account(
        mgmt, NETWORK_ACCOUNT_NAME, f"aws+network@{email_domain}", {"managed-by": "govcloud", "tenant": "network"},
        "OrganizationAccountAccessRole")
    orgs.move(mgmt, network_id, tree["infrastructure"])
    seeded.network_account = network_id
    if compiled_tgw is not None:
        net = mgmt.assume(network_id, "OrganizationAccountAccessRole")
        vpcs = {}
        for tenant in tenants:
            acct = mgmt.assume(seeded.accounts[tenant["name"]], tenant["role"])
            found = paginate(acct.client("ec2", tenant["region"]), "DescribeVpcs", "Vpcs",
                             Filters=[{"Name": "tag:tenant", "Values": [tenant["name"]]}])
            if found:
                vpcs[tenant["name"]] = found[0]["VpcId"]
        seeded.transit_gateway = deploy_tgw(net, "ap-northeast-1", compiled_tgw, vpcs)
    return seeded

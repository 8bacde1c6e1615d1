"""AWS Organizations as govcloud lays it out: the foundation stack's OU tree, tenant accounts found
by their email or tags, and where each tenant's account belongs."""

from __future__ import annotations

import time

from govcloud.live.clients import Account, CallFailure, call, paginate


def env_group(environment: str) -> str:
    # The foundation stack's rule (templates/base.py), without importing Pulumi.
    return "prod" if environment == "prod" else "staging"


def tenant_ou_path(environment: str, zone: str) -> str:
    return f"tenants-{env_group(environment)}/{zone}"


def ou_tree(mgmt: Account) -> dict[str, str]:
    """OU path ("quarantine", "tenants-prod/mynumber") -> OU id; "" is the root."""
    org = mgmt.client("organizations")
    root = paginate(org, "ListRoots", "Roots")[0]["Id"]
    tree, frontier = {"": root}, [("", root)]
    while frontier:
        path, parent = frontier.pop()
        for ou in paginate(org, "ListOrganizationalUnitsForParent", "OrganizationalUnits", ParentId=parent):
            child = f"{path}/{ou['Name']}" if path else ou["Name"]
            tree[child] = ou["Id"]
            frontier.append((child, ou["Id"]))
    return tree


def ensure_organization(mgmt: Account) -> None:
    org = mgmt.client("organizations")
    try:
        call(org, "DescribeOrganization")
    except CallFailure as failure:
        if "AWSOrganizationsNotInUse" not in failure.message:
            raise
        call(org, "CreateOrganization", FeatureSet="ALL")


def ensure_ou_path(mgmt: Account, tree: dict[str, str], path: str) -> str:
    org = mgmt.client("organizations")
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        sub = "/".join(parts[:depth])
        if sub not in tree:
            parent = tree["/".join(parts[: depth - 1])]
            tree[sub] = call(org, "CreateOrganizationalUnit", ParentId=parent, Name=parts[depth - 1])["OrganizationalUnit"]["Id"]
    return tree[path]


def account_emails(mgmt: Account) -> dict[str, dict]:
    """Every active account of the organisation by lower-cased email: one listing for a whole fleet."""
    accounts = paginate(mgmt.client("organizations"), "ListAccounts", "Accounts")
    return {a["Email"].lower(): a for a in accounts if a.get("Status") != "SUSPENDED"}


def find_account(mgmt: Account, tenant: str, email: str) -> dict | None:
    """The tenant's account: by email, else by its `tenant` tag. Closed accounts don't count."""
    org = mgmt.client("organizations")
    accounts = [a for a in paginate(org, "ListAccounts", "Accounts") if a.get("Status") != "SUSPENDED"]
    for account in accounts:
        if account["Email"].lower() == email.lower():
            return account
    for account in accounts:
        tags = {t["Key"]: t["Value"] for t in paginate(org, "ListTagsForResource", "Tags", ResourceId=account["Id"])}
        if tags.get("tenant") == tenant and tags.get("managed-by") == "govcloud":
            return account
    return None


def parent_of(mgmt: Account, account_id: str) -> str:
    return paginate(mgmt.client("organizations"), "ListParents", "Parents", ChildId=account_id)[0]["Id"]


def move(mgmt: Account, account_id: str, destination: str) -> bool:
    """Move an account to an OU; False when it is already there."""
    source = parent_of(mgmt, account_id)
    if source == destination:
        return False
    call(mgmt.client("organizations"), "MoveAccount", AccountId=account_id, SourceParentId=source,
         DestinationParentId=destination)
    return True


def create_account(mgmt: Account, name: str, email: str, tags: dict[str, str], role: str,
                   poll_seconds: float = 2.0, timeout: float = 900.0) -> str:
    """CreateAccount, then poll its status until it succeeds; returns the new account id."""
    org = mgmt.client("organizations")
    status = call(org, "CreateAccount", Email=email, AccountName=name, RoleName=role, IamUserAccessToBilling="DENY",
                  Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])["CreateAccountStatus"]
    deadline = time.monotonic() + timeout
    while status["State"] == "IN_PROGRESS":
        if time.monotonic() > deadline:
            raise CallFailure("organizations:DescribeCreateAccountStatus", "timeout",
                              f"account creation {status['Id']} still in progress after {timeout:.0f}s")
        time.sleep(poll_seconds)
        status = call(org, "DescribeCreateAccountStatus", CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    if status["State"] != "SUCCEEDED":
        raise CallFailure("organizations:CreateAccount", "error",
                          f"account creation failed: {status.get('FailureReason', 'unknown reason')}")
    return status["AccountId"]

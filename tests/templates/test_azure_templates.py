"""The Azure templates on the sample shared kokuho tenant (mynumber) and the LGWAN zaimu tenant."""

import pytest

from govcloud.templates.base import REQUIRED_TAGS
from tests.plans import one, resources, sample_plan


@pytest.fixture(scope="module")
def plan():
    return sample_plan("tenant-minato-data-kokuho-prod")


def test_subscription_in_its_management_group(plan):
    alias = one(plan, "azure-native:subscription:Alias")
    assert alias["properties"]["workload"] == "Production"
    assert alias["properties"]["additionalProperties"]["managementGroupId"].endswith("govcloud-tenants-prod-mynumber")


def test_logging_and_defender(plan):
    workspace = one(plan, "azure-native:operationalinsights:Workspace")
    assert workspace["retentionInDays"] >= 365 and workspace["publicNetworkAccessForIngestion"] == "Disabled"
    diag = one(plan, "azure-native:monitor:SubscriptionDiagnosticSetting")
    assert {"Administrative", "Security", "Policy"} <= {l["category"] for l in diag["logs"] if l["enabled"]}
    plans = {r["inputs"]["pricingName"]: r["inputs"]["pricingTier"] for r in resources(plan, "azure-native:security:Pricing")}
    assert plans and set(plans.values()) == {"Standard"} and "KeyVaults" in plans


def test_key_vault(plan):
    props = one(plan, "azure-native:keyvault:Vault")["properties"]
    assert props["enableRbacAuthorization"] and props["enablePurgeProtection"] and props["enableSoftDelete"]
    assert props["publicNetworkAccess"] == "Disabled" and props["networkAcls"]["defaultAction"] == "Deny"
    assert len(one(plan, "azure-native:keyvault:Vault")["vaultName"]) <= 24


def test_policy_assignments(plan):
    assignments = {r["inputs"]["policyAssignmentName"]: r["inputs"] for r in resources(plan, "azure-native:authorization:PolicyAssignment")}
    assert assignments["govcloud-allowed-locations"]["parameters"]["listOfAllowedLocations"]["value"] == ["japaneast", "japanwest"]
    assert "govcloud-deny-public-ip" in assignments and "govcloud-nic-no-public-ip" in assignments


def test_network_default_deny_flow_logs_and_hub(plan):
    rules = one(plan, "azure-native:network:NetworkSecurityGroup")["securityRules"]
    deny = [r for r in rules if r["access"] == "Deny" and r["direction"] == "Inbound"]
    assert deny and deny[0]["sourceAddressPrefix"] == "*" and deny[0]["priority"] == 4096
    vnet = one(plan, "azure-native:network:VirtualNetwork")
    assert all(s["networkSecurityGroup"]["id"].endswith("nsg-minato-data-kokuho-prod") for s in vnet["subnets"])
    assert one(plan, "azure-native:network:FlowLog")["enabled"] is True
    conn = resources(plan, "azure-native:network:HubVirtualNetworkConnection")[0]
    assert "pulumi:providers:azure-native::connectivity::" in conn["provider"]  # lives in the hub's subscription
    routing = conn["inputs"]["routingConfiguration"]
    assert routing["associatedRouteTable"]["id"].endswith("rt-mynumber")
    # exactly the compiled propagation (the tables' own labels), never the zone label: that one put
    # mynumber VNets into rt-mynumber (issue 12)
    assert routing["propagatedRouteTables"]["labels"] == ["inspection", "mynumber-branches"]


def test_role_assignments(plan):
    grants = resources(plan, "azure-native:authorization:RoleAssignment")
    assert len(grants) == 4 and all(g["inputs"]["principalType"] == "Group" for g in grants)


def test_tags(plan):
    tagged = [r for r in resources(plan) if r["custom"] and "tags" in r["inputs"]]
    assert tagged and all(set(REQUIRED_TAGS) <= set(r["inputs"]["tags"]) for r in tagged)
    assert tagged[0]["inputs"]["tags"]["municipality"] == "131016+011002+271004"


def test_lgwan_zone_is_closed_too():
    plan = sample_plan("tenant-011002-zaimu-prod")
    names = {r["inputs"]["policyAssignmentName"] for r in resources(plan, "azure-native:authorization:PolicyAssignment")}
    assert "govcloud-deny-public-ip" in names
    assert one(plan, "azure-native:subscription:Alias")["properties"]["additionalProperties"]["managementGroupId"].endswith("prod-lgwan")

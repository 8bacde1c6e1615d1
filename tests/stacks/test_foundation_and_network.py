import json

from govcloud.stacks.mocks import reference_outputs
from tests.plans import one, resources, sample_plan


def test_foundation_organisation():
    plan = sample_plan("foundation")
    ous = {r["inputs"]["name"] for r in resources(plan, "aws:organizations/organizationalUnit:OrganizationalUnit")}
    assert {"security", "infrastructure", "tenants-prod", "tenants-staging", "quarantine", "mynumber", "lgwan"} <= ous
    scps = {r["inputs"]["name"]: json.loads(r["inputs"]["content"]) for r in resources(plan, "aws:organizations/policy:Policy")}
    region = scps["govcloud-deny-outside-japan"]["Statement"][0]
    assert region["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == ["ap-northeast-1", "ap-northeast-3"]
    protect = scps["govcloud-protect-security-services"]["Statement"][0]["Action"]
    assert {"cloudtrail:StopLogging", "config:StopConfigurationRecorder", "guardduty:DeleteDetector",
            "securityhub:DisableSecurityHub"} <= set(protect)
    assert scps["govcloud-deny-leave-organization"]["Statement"][0]["Action"] == "organizations:LeaveOrganization"
    assert "aws:PrincipalArn" in json.dumps(scps["govcloud-deny-root-user"])
    assert "ec2:CreateInternetGateway" in json.dumps(scps["govcloud-deny-internet-in-closed-zones"])
    attachments = [r for r in resources(plan, "aws:organizations/policyAttachment:PolicyAttachment")
                   if "deny-internet-in-closed-zones" in r["urn"]]
    assert len(attachments) == 4  # mynumber and lgwan OUs under tenants-prod and tenants-staging


def test_log_archive_bucket():
    plan = sample_plan("foundation")
    assert one(plan, "aws:s3/bucket:Bucket")["objectLockEnabled"] is True
    assert one(plan, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    rule = one(plan, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")["rule"]["defaultRetention"]
    assert rule["mode"] == "COMPLIANCE" and rule["days"] >= 365
    sse = one(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"


def test_azure_management_groups():
    plan = sample_plan("foundation")
    groups = {r["inputs"]["groupId"] for r in resources(plan, "azure-native:management:ManagementGroup")}
    assert {"govcloud", "govcloud-landing-zones", "govcloud-tenants-prod-mynumber", "govcloud-quarantine"} <= groups


def test_stack_reference_contract():
    """Tenant stacks read what foundation and network export: the mocked references must offer
    exactly the keys the real stacks export, or a plan would pass offline and fail for real."""
    for stack in ("foundation", "network"):
        exported = sample_plan(stack)["deployment"]["resources"][0]["outputs"]
        assert set(exported) == set(reference_outputs(stack)), stack
    exported = sample_plan("tenant-131016-juki-prod")["deployment"]["resources"][0]["outputs"]
    assert set(exported) == set(reference_outputs("tenant-131016-juki-prod"))  # the network stack reads attachmentId
    hubs = sample_plan("network")["deployment"]["resources"][0]["outputs"]["azureHubs"]
    assert set(hubs["japaneast"]) == set(reference_outputs("network")["azureHubs"]["japaneast"])


def test_network_stack_deploys_the_compiled_policy():
    plan = sample_plan("network")
    policy = json.loads(one(plan, "aws:networkmanager/coreNetworkPolicyAttachment:CoreNetworkPolicyAttachment")["policyDocument"])
    assert policy["version"] == "2021.12"
    segments = {s["name"]: s for s in policy["segments"]}
    assert set(segments) >= {"mynumber", "lgwan", "internet", "shared-services"}
    assert segments["mynumber"]["isolate-attachments"] and segments["mynumber"]["require-attachment-acceptance"]
    assert any(a["action"] == "send-via" and a["via"]["network-function-groups"] == ["inspection"] for a in policy["segment-actions"])
    destinations = [d for a in policy["segment-actions"] for d in a.get("destinations", [])]
    assert destinations and not any(d.startswith("attachment:") for d in destinations)  # resolved to real ids
    assert len(resources(plan, "azure-native:network:VirtualHub")) == 2


def test_network_stack_inspection_and_sites_follow_the_compiled_configuration():
    from govcloud.stacks.program import network_inputs
    from tests.plans import WS

    compiled = network_inputs(WS)
    plan = sample_plan("network")
    group = one(plan, "aws:networkfirewall/ruleGroup:RuleGroup")["ruleGroup"]
    passes = {(r["header"]["source"], r["header"]["destination"], r["header"]["destinationPort"])
              for r in group["rulesSource"]["statefulRules"] if r["action"] == "PASS"}
    expected = {(s, d, str(r["port"])) for r in compiled["firewall"]["rules"] for s in r["sources"] for d in r["destinations"]}
    assert passes == expected and passes  # exactly the declared exceptions
    policy = one(plan, "aws:networkfirewall/firewallPolicy:FirewallPolicy")["firewallPolicy"]
    assert policy["statefulDefaultActions"][0] == "aws:drop_strict"
    assert one(plan, "aws:networkmanager/vpcAttachment:VpcAttachment")["tags"]["network-function"] == "inspection"
    vpn = resources(plan, "aws:networkmanager/siteToSiteVpnAttachment:SiteToSiteVpnAttachment")
    dx = resources(plan, "aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment")
    aws_sites = [s for s in compiled["sites"] if s["connection"] != "expressroute"]
    assert len(vpn) + len(dx) == len(aws_sites)
    assert all(a["inputs"]["tags"]["segment"] in ("mynumber", "lgwan", "internet") for a in vpn + dx)
    assert len(resources(plan, "azure-native:network:AzureFirewall")) == 2
    tables = {r["inputs"]["routeTableName"] for r in resources(plan, "azure-native:network:HubRouteTable")}
    assert tables == set(compiled["vwan"]["hubRouteTables"])


def test_azure_tenant_connection_routes_as_compiled():
    from govcloud.stacks.program import network_inputs
    from tests.plans import WS

    expected = network_inputs(WS)["vwan"]["connections"]["minato-data-kokuho-prod"]
    conn = resources(sample_plan("tenant-minato-data-kokuho-prod"), "azure-native:network:HubVirtualNetworkConnection")[0]
    routing = conn["inputs"]["routingConfiguration"]
    assert routing["associatedRouteTable"]["id"].endswith("/" + expected["associatedRouteTable"])
    assert sorted(t["id"].rsplit("/", 1)[1] for t in routing["propagatedRouteTables"]["ids"]) == sorted(expected["propagatedRouteTables"])

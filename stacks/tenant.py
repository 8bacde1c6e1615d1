"""The `tenant-<name>` stack: the individual area (個別領域) of one tenant — its AWS account or
Azure subscription — with the shared baseline, network and access templates applied."""

from __future__ import annotations

import pulumi

from govcloud.stacks.settings import platform_settings, shared_outputs
from govcloud.templates.base import FlowRule, TemplateArgs, aws_account
from govcloud.tenants.catalogue import load_catalogue
from govcloud.tenants.models import Tenant


def tenant_program(tenant: Tenant, network: dict | None = None) -> None:
    """``network``: this tenant's entry of the network controller's compiled tenants.json."""
    settings = platform_settings()
    cat = load_catalogue()
    args = TemplateArgs(tenant=tenant, closed_zone=cat.zones[tenant.spec.zone].closed,
                        settings=settings, shared=shared_outputs(settings, tenant))
    network = network or {}
    if tenant.spec.cloud == "aws":
        groups = [[_rule(r) for r in g["ingress"]] for g in network.get("securityGroups", [])]
        egress = [_rule(r) for r in network.get("egress", []) if r.get("description") != "VPC endpoints"]
        _aws(args, groups, egress)
    elif tenant.spec.cloud == "azure":
        ingress = [_rule({**r, "cidr": c, "port": int(r["destinationPortRange"])})
                   for r in network.get("nsgRules", []) if r["access"] == "Allow"
                   for c in r["sourceAddressPrefixes"]]
        _azure(args, ingress, network.get("hubConnection"))
    else:  # the catalogue and rules refuse other clouds before a stack is ever built
        raise ValueError(f"no templates for cloud {tenant.spec.cloud}")
    pulumi.export("tenant", tenant.name)


def _rule(r: dict) -> FlowRule:
    return FlowRule(description=r.get("description") or r.get("name", ""), cidr=r["cidr"],
                    protocol=r.get("protocol", "tcp"), port=int(r["port"]))


def _aws(args: TemplateArgs, groups: list[list[FlowRule]], egress: list[FlowRule]) -> None:
    import pulumi_aws as aws

    from govcloud.templates.aws.access import AwsTenantAccess
    from govcloud.templates.aws.baseline import AwsRegionalBaseline, AwsSecurityBaseline, other_japan_regions
    from govcloud.templates.aws.network import AwsTenantNetwork

    tenant, tags, settings = args.tenant, args.tags, args.settings
    region = tenant.spec.region
    # The account is created from the organisation's management account, then everything else
    # runs inside it through the role Organizations creates there.
    management = aws.Provider("management", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags={"managed-by": "govcloud"}))
    identity_of_account = aws_account(tenant, settings)
    account = aws.organizations.Account(
        "account", name=identity_of_account.name, email=identity_of_account.email,
        parent_id=args.shared.tenant_ou_id, role_name=identity_of_account.role,
        iam_user_access_to_billing="DENY", close_on_deletion=False, tags=tags,
        opts=pulumi.ResourceOptions(provider=management, protect=True))
    provider = aws.Provider(
        "tenant", region=region, allowed_account_ids=[account.id],
        assume_roles=[aws.ProviderAssumeRoleArgs(
            role_arn=account.id.apply(lambda a: f"arn:aws:iam::{a}:role/{identity_of_account.role}"),
            session_name="govcloud")],
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
    in_account = pulumi.ResourceOptions(provider=provider)
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    azs = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(provider=management))
    baseline = AwsSecurityBaseline("baseline", args, account_id=identity.account_id, opts=in_account)
    for other in other_japan_regions(region):
        # The same account through the same role, in the other Japan region the guardrails allow.
        regional = aws.Provider(
            f"tenant-{other}", region=other, allowed_account_ids=[account.id],
            assume_roles=[aws.ProviderAssumeRoleArgs(
                role_arn=account.id.apply(lambda a: f"arn:aws:iam::{a}:role/{identity_of_account.role}"),
                session_name="govcloud")],
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
        AwsRegionalBaseline(f"baseline-{other}", args, other, account_id=identity.account_id,
                            config_role_arn=baseline.config_role_arn, opts=pulumi.ResourceOptions(provider=regional))
    network = AwsTenantNetwork("network", args, availability_zones=sorted(azs.zone_ids), ingress_groups=groups,
                               egress=egress, opts=in_account)
    pulumi.export("attachmentId", network.attachment_id)
    AwsTenantAccess("access", args, opts=in_account)
    pulumi.export("accountId", account.id)


def _azure(args: TemplateArgs, ingress: list[FlowRule], hub_connection: dict | None) -> None:
    import pulumi_azure_native as azure_native
    from pulumi_azure_native import subscription

    from govcloud.templates.azure.access import AzureTenantAccess
    from govcloud.templates.azure.baseline import AzureSecurityBaseline
    from govcloud.templates.azure.network import AzureTenantNetwork

    tenant, settings = args.tenant, args.settings
    alias = subscription.Alias(
        "subscription", alias_name=f"govcloud-{tenant.name}",
        properties={"display_name": f"govcloud-{tenant.name}", "billing_scope": settings.azure_billing_scope,
                    "workload": "Production" if tenant.spec.environment == "prod" else "DevTest",
                    "additional_properties": {"management_group_id": args.shared.azure_management_group_id,
                                              "tags": args.tags}},
        opts=pulumi.ResourceOptions(protect=True))
    subscription_id = alias.properties.apply(lambda p: p.subscription_id)
    provider = azure_native.Provider("tenant", subscription_id=subscription_id, location=tenant.spec.region)
    in_sub = pulumi.ResourceOptions(provider=provider)
    AzureSecurityBaseline("baseline", args, subscription_id=subscription_id, opts=in_sub)
    connectivity = azure_native.Provider(
        "connectivity", location=tenant.spec.region,
        subscription_id=pulumi.Output.from_input(args.shared.azure_hub).apply(lambda h: h["id"].split("/")[2]))
    AzureTenantNetwork("network", args, connectivity=connectivity, ingress=ingress, hub_connection=hub_connection,
                       opts=in_sub)
    AzureTenantAccess("access", args, subscription_id=subscription_id, opts=in_sub)
    pulumi.export("subscriptionId", subscription_id)

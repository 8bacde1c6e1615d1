"""AWS tenant network: a private VPC in two AZs attached to the SDN WAN (Cloud WAN) segment of
its zone. Closed zones get no internet gateway and no public IPs; every AWS API is reached
through VPC endpoints. Security group rules come from the network controller's compiled flows."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from govcloud import yamlio
from govcloud.templates.base import FlowRule, TemplateArgs


@dataclass(frozen=True)
class SubnetLayout:
    workload: list[str]    # one per AZ
    endpoints: list[str]   # interface endpoints and the WAN attachment
    public: list[str]      # only used in open zones (load balancers)


def subnet_layout(cidr: str) -> SubnetLayout:
    """Half of the VPC for workloads (two subnets), small subnets for endpoints and public
    load balancers from the other half (AWS subnets are at least /28, so VPCs are /25 or larger)."""
    net = ipaddress.IPv4Network(cidr)
    if net.prefixlen > 25:
        raise ValueError(f"AWS tenant networks must be /25 or larger, got {cidr}")
    first, second = net.subnets(prefixlen_diff=1)
    workload = [str(s) for s in first.subnets(prefixlen_diff=1)]
    small = [str(s) for s in second.subnets(new_prefix=min(net.prefixlen + 4, 28))][:4]
    return SubnetLayout(workload, small[:2], small[2:4])


@functools.cache
def endpoint_catalogue() -> dict:
    data, _ = yamlio.load_file(Path(__file__).with_name("endpoints.yaml"))
    return data


class AwsTenantNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    attachment_id: pulumi.Output[str]

    def __init__(self, name: str, args: TemplateArgs, *, availability_zones: list[str],
                 ingress_groups: list[list[FlowRule]] = (), egress: list[FlowRule] = (),
                 opts: pulumi.ResourceOptions | None = None):
        """``ingress_groups``: the network controller's compiled rules, already sharded into
        security groups that respect the rules-per-group quota; ``egress``: declared outbound flows."""
        super().__init__("govcloud:aws:TenantNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tenant, tags = args.tenant, args.tags
        cidr, zone = tenant.spec.network.cidr, tenant.spec.zone
        layout = subnet_layout(cidr)
        azs = availability_zones[:2]  # AZ ids (apne1-az1), identical in every account, unlike AZ names
        if len(azs) < 2:
            raise ValueError(f"region {tenant.spec.region} reports fewer than two availability zones")

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr, enable_dns_support=True, enable_dns_hostnames=True,
                          tags={**tags, "Name": f"{tenant.name}"}, opts=child)
        # The default security group must have no rules (CIS 5.4): managing it empties it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                     tags={**tags, "Name": f"{tenant.name}-default-closed"}, opts=child)

        def subnets(tier: str, cidrs: list[str]) -> list[aws.ec2.Subnet]:
            return [aws.ec2.Subnet(f"{name}-{tier}-{az[-1]}", vpc_id=vpc.id, cidr_block=c, availability_zone_id=az,
                                   map_public_ip_on_launch=False,
                                   tags={**tags, "Name": f"{tenant.name}-{tier}-{az[-1]}", "tier": tier}, opts=child)
                    for az, c in zip(azs, cidrs)]

        workload = subnets("workload", layout.workload)
        endpoint_subnets = subnets("endpoints", layout.endpoints)

        attachment = aws.networkmanager.VpcAttachment(
            f"{name}-wan-attachment", core_network_id=args.shared.core_network_id, vpc_arn=vpc.arn,
            subnet_arns=[s.arn for s in endpoint_subnets],
            # Cloud WAN's attachment policy maps this tag to the segment of the same name.
            tags={**tags, "segment": zone}, opts=child)
        private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id,
                                        tags={**tags, "Name": f"{tenant.name}-private"}, opts=child)
        aws.ec2.Route(f"{name}-private-default", route_table_id=private_rt.id, destination_cidr_block="0.0.0.0/0",
                      core_network_arn=args.shared.core_network_arn,
                      opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]))
        for s in workload + endpoint_subnets:
            aws.ec2.RouteTableAssociation(f"{pulumi_name(s)}-rta", subnet_id=s.id, route_table_id=private_rt.id, opts=child)

        if not args.closed_zone:
            igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": tenant.name}, opts=child)
            public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                           tags={**tags, "Name": f"{tenant.name}-public"}, opts=child)
            aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                          gateway_id=igw.id, opts=child)
            for s in subnets("public", layout.public):
                aws.ec2.RouteTableAssociation(f"{pulumi_name(s)}-rta", subnet_id=s.id, route_table_id=public_rt.id, opts=child)

        endpoint_sg = aws.ec2.SecurityGroup(f"{name}-endpoints-sg", vpc_id=vpc.id, name=f"{tenant.name}-endpoints",
                                            description="HTTPS from the tenant VPC to its VPC endpoints",
                                            tags=tags, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https", security_group_id=endpoint_sg.id,
                                         cidr_ipv4=cidr, ip_protocol="tcp", from_port=443, to_port=443,
                                         description="tenant VPC to VPC endpoints", tags=tags, opts=child)
        workload_sg = aws.ec2.SecurityGroup(f"{name}-workload-sg", vpc_id=vpc.id, name=f"{tenant.name}-workload",
                                            description="Workloads: only declared flows are allowed in",
                                            tags=tags, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-workload-to-endpoints", security_group_id=workload_sg.id,
                                        referenced_security_group_id=endpoint_sg.id, ip_protocol="tcp",
                                        from_port=443, to_port=443, description="AWS APIs via VPC endpoints",
                                        tags=tags, opts=child)
        def flow_rule(kind, logical: str, group, rule: FlowRule) -> None:
            kind(logical, security_group_id=group.id, cidr_ipv4=rule.cidr, ip_protocol=rule.protocol,
                 from_port=rule.port, to_port=rule.port, description=rule.description[:255], tags=tags, opts=child)

        for i, rule in enumerate(egress):
            flow_rule(aws.vpc.SecurityGroupEgressRule, f"{name}-egress-{i}", workload_sg, rule)
        for g, group in enumerate(ingress_groups):
            flows_sg = aws.ec2.SecurityGroup(f"{name}-flows-{g}", vpc_id=vpc.id, name=f"{tenant.name}-flows-{g}",
                                             description="Declared flows compiled by the govcloud network controller",
                                             tags=tags, opts=child)
            for i, rule in enumerate(group):
                flow_rule(aws.vpc.SecurityGroupIngressRule, f"{name}-flows-{g}-{i}", flows_sg, rule)

        region = tenant.spec.region
        catalogue = endpoint_catalogue()
        for service in catalogue["gateway"]:
            aws.ec2.VpcEndpoint(f"{name}-vpce-{service}", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
                                service_name=f"com.amazonaws.{region}.{service}", route_table_ids=[private_rt.id],
                                tags=tags, opts=child)
        for service in catalogue["interface"][zone]:
            aws.ec2.VpcEndpoint(f"{name}-vpce-{service.replace('.', '-')}", vpc_id=vpc.id,
                                vpc_endpoint_type="Interface", service_name=f"com.amazonaws.{region}.{service}",
                                private_dns_enabled=True, subnet_ids=[s.id for s in endpoint_subnets],
                                security_group_ids=[endpoint_sg.id], tags=tags, opts=child)

        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                        log_destination=pulumi.Output.concat(args.shared.log_archive_bucket_arn, f"/vpc-flow-logs/{tenant.name}/"),
                        max_aggregation_interval=60, tags=tags, opts=child)

        self.vpc_id = vpc.id
        self.attachment_id = attachment.id
        self.register_outputs({"vpcId": vpc.id, "attachmentId": attachment.id,
                               "workloadSecurityGroupId": workload_sg.id})


def pulumi_name(resource: pulumi.Resource) -> str:
    return resource._name  # the logical name given at construction

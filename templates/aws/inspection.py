"""The inspection network function: a VPC with AWS Network Firewall, attached to Cloud WAN as
the `inspection` network function group. Its stateful rules are the network controller's
compiled exceptions (strict order, everything else dropped)."""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_aws as aws


def stateful_rules(firewall: dict) -> list[dict]:
    rules = []
    for sid, rule in enumerate(firewall.get("rules", []), start=1):
        for source in rule["sources"]:
            for destination in rule["destinations"]:
                rules.append({
                    "action": "PASS",
                    "header": {"protocol": rule["protocol"].upper(), "source": source, "source_port": "ANY",
                               "direction": "FORWARD", "destination": destination, "destination_port": str(rule["port"])},
                    "rule_options": [{"keyword": f"sid:{sid * 1000 + len(rules) + 1}"},
                                     {"keyword": f'msg:"govcloud exception {rule["id"]}"'}],
                })
    return rules


class AwsInspectionNetwork(pulumi.ComponentResource):
    def __init__(self, name: str, *, cidr: str, availability_zones: list[str], core_network_id: pulumi.Input[str],
                 core_network_arn: pulumi.Input[str], firewall: dict, log_bucket: pulumi.Input[str],
                 log_bucket_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("govcloud:aws:InspectionNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"managed-by": "govcloud", "network-function": "inspection"}
        net = ipaddress.IPv4Network(cidr)
        halves = list(net.subnets(prefixlen_diff=1))
        fw_cidrs = [str(s) for s in halves[0].subnets(prefixlen_diff=1)]
        attach_cidrs = [str(s) for s in halves[1].subnets(prefixlen_diff=1)]
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr, enable_dns_support=True, tags={**tags, "Name": name}, opts=child)
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags=tags, opts=child)
        azs = availability_zones[:2]
        fw_subnets = [aws.ec2.Subnet(f"{name}-firewall-{az[-1]}", vpc_id=vpc.id, cidr_block=c, availability_zone_id=az,
                                     tags={**tags, "tier": "firewall"}, opts=child) for az, c in zip(azs, fw_cidrs)]
        attach_subnets = [aws.ec2.Subnet(f"{name}-attachment-{az[-1]}", vpc_id=vpc.id, cidr_block=c, availability_zone_id=az,
                                         tags={**tags, "tier": "attachment"}, opts=child) for az, c in zip(azs, attach_cidrs)]
        rules = stateful_rules(firewall)
        group = aws.networkfirewall.RuleGroup(
            f"{name}-exceptions", name=f"{name}-exceptions", type="STATEFUL", capacity=max(100, 2 * len(rules)),
            description="govcloud declared cross-zone exceptions",
            rule_group={"rules_source": {"stateful_rules": rules or [{
                "action": "DROP", "header": {"protocol": "IP", "source": "ANY", "source_port": "ANY", "direction": "FORWARD",
                                             "destination": "ANY", "destination_port": "ANY"},
                "rule_options": [{"keyword": "sid:1"}]}]},
                        "stateful_rule_options": {"rule_order": "STRICT_ORDER"}},
            tags=tags, opts=child)
        policy = aws.networkfirewall.FirewallPolicy(
            f"{name}-policy", name=f"{name}-policy", tags=tags, opts=child,
            firewall_policy={
                "stateless_default_actions": ["aws:forward_to_sfe"],
                "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
                "stateful_engine_options": {"rule_order": "STRICT_ORDER"},
                "stateful_default_actions": ["aws:drop_strict", "aws:alert_strict"],
                "stateful_rule_group_references": [{"resource_arn": group.arn, "priority": 1}],
            })
        fw = aws.networkfirewall.Firewall(
            f"{name}-firewall", name=f"{name}-firewall", vpc_id=vpc.id, firewall_policy_arn=policy.arn,
            delete_protection=True, subnet_change_protection=True, firewall_policy_change_protection=False,
            subnet_mappings=[{"subnet_id": s.id} for s in fw_subnets], tags=tags, opts=child)
        attachment = aws.networkmanager.VpcAttachment(
            f"{name}-wan-attachment", core_network_id=core_network_id, vpc_arn=vpc.arn,
            subnet_arns=[s.arn for s in attach_subnets], options={"appliance_mode_support": True},
            tags={**tags, "network-function": "inspection"}, opts=child)
        # Traffic arriving from the WAN goes through the firewall endpoint of its own AZ, then back.
        for i, (az, subnet) in enumerate(zip(azs, attach_subnets)):
            table = aws.ec2.RouteTable(f"{name}-attachment-rt-{az[-1]}", vpc_id=vpc.id, tags=tags, opts=child)
            endpoint = fw.firewall_statuses.apply(lambda statuses, i=i: _endpoint(statuses, i))
            aws.ec2.Route(f"{name}-to-firewall-{az[-1]}", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                          vpc_endpoint_id=endpoint, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-attachment-rta-{az[-1]}", subnet_id=subnet.id, route_table_id=table.id, opts=child)
        for az, subnet in zip(azs, fw_subnets):
            table = aws.ec2.RouteTable(f"{name}-firewall-rt-{az[-1]}", vpc_id=vpc.id, tags=tags, opts=child)
            aws.ec2.Route(f"{name}-to-wan-{az[-1]}", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                          core_network_arn=core_network_arn, opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]))
            aws.ec2.RouteTableAssociation(f"{name}-firewall-rta-{az[-1]}", subnet_id=subnet.id, route_table_id=table.id, opts=child)
        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                        log_destination=pulumi.Output.concat(log_bucket_arn, f"/vpc-flow-logs/{name}/"),
                        max_aggregation_interval=60, tags=tags, opts=child)
        # Every inspected flow and every alert (the default drop) goes to the log archive.
        aws.networkfirewall.LoggingConfiguration(
            f"{name}-firewall-logging", firewall_arn=fw.arn,
            logging_configuration={"log_destination_configs": [
                {"log_destination": {"bucketName": log_bucket, "prefix": f"network-firewall/{kind.lower()}"},
                 "log_destination_type": "S3", "log_type": kind} for kind in ("FLOW", "ALERT")]},
            opts=child)
        self.attachment_id = attachment.id
        self.register_outputs({"attachmentId": attachment.id, "firewallArn": fw.arn})


def _endpoint(statuses, index: int) -> str | None:
    """The firewall endpoint of the index-th AZ (sync states follow the subnet mappings)."""
    syncs = [sync for status in statuses or [] for sync in (getattr(status, "sync_states", None) or [])]
    if index >= len(syncs):
        return None
    attachments = getattr(syncs[index], "attachments", None) or []
    return attachments[0].endpoint_id if attachments else None

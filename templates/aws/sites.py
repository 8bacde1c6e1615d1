"""Municipal sites on the AWS side of the WAN: Site-to-Site VPN (vpn, LGWAN-ASP gateways) and
Direct Connect gateway attachments, each tagged with the segment of the site's zone."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

EDGE_LOCATIONS = ["ap-northeast-1", "ap-northeast-3"]


class AwsSiteConnections(pulumi.ComponentResource):
    attachment_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, *, sites: list[dict], core_network_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        """``sites``: [{"attachment", "name", "zone", "connection", "cidrs", "gateway"?, "directConnectGatewayArn"?}]."""
        super().__init__("govcloud:aws:SiteConnections", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.attachment_ids = {}
        for site in sites:
            key = site["attachment"].removeprefix("site:").replace(":", "-")
            tags = {"managed-by": "govcloud", "segment": site["zone"], "site": site["attachment"]}
            if site.get("gateway"):
                cgw = aws.ec2.CustomerGateway(f"{key}-cgw", bgp_asn=str(site["gateway"]["asn"]),
                                              ip_address=site["gateway"]["address"], type="ipsec.1", tags=tags, opts=child)
                vpn = aws.ec2.VpnConnection(f"{key}-vpn", customer_gateway_id=cgw.id, type="ipsec.1",
                                            static_routes_only=False, tags=tags, opts=child)
                attachment = aws.networkmanager.SiteToSiteVpnAttachment(
                    f"{key}-attachment", core_network_id=core_network_id, vpn_connection_arn=vpn.arn, tags=tags, opts=child)
            elif site.get("directConnectGatewayArn"):
                attachment = aws.networkmanager.DxGatewayAttachment(
                    f"{key}-attachment", core_network_id=core_network_id,
                    direct_connect_gateway_arn=site["directConnectGatewayArn"], edge_locations=EDGE_LOCATIONS,
                    tags=tags, opts=child)
            else:
                continue
            self.attachment_ids[site["attachment"]] = attachment.id
        self.register_outputs({"attachmentIds": self.attachment_ids})

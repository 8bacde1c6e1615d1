"""The compiled Transit Gateway configuration (network/compile.py, aws-tgw/transit-gateway.json)
and a live Transit Gateway, both ways: deploy it into the dev cloud, read it back in the same shape.

Attachments and route tables carry their govcloud names in tags (`govcloud:attachment`,
`govcloud:route-table`); a live attachment without the tag is named by its id, so a hand-made
attachment shows up as itself in the drift report.
"""

from __future__ import annotations

import hashlib

from govcloud.live.clients import Account, call, paginate

TGW_TAG = "govcloud:network"
ATTACHMENT_TAG = "govcloud:attachment"
TABLE_TAG = "govcloud:route-table"


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def _names(doc: dict) -> list[str]:
    names = set(doc.get("associations", {}))
    for table in doc.get("routeTables", {}).values():
        names.update(table.get("propagations", []))
        names.update(r["target"] for r in table.get("routes", []) if r["target"] != "blackhole")
    return sorted(names)


def deploy_tgw(acct: Account, region: str, doc: dict, vpcs: dict[str, str]) -> str:
    """Create the compiled TGW; tenants attach their own VPC (vpcs: name -> VPC id), every other
    attachment (sites, inspection, inter-cloud links) is a stand-in VPC attachment in the dev cloud."""
    ec2 = acct.client("ec2", region)
    tgw = call(ec2, "CreateTransitGateway", Description="govcloud WAN (compiled by the network controller)",
               Options={"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"},
               TagSpecifications=[{"ResourceType": "transit-gateway", "Tags": [{"Key": TGW_TAG, "Value": "transit-gateway"}]}]
               )["TransitGateway"]["TransitGatewayId"]
    attachment_ids = {}
    for name in _names(doc):
        vpc = vpcs.get(name) or "vpc-" + hashlib.sha256(name.encode()).hexdigest()[:17]
        attachment_ids[name] = call(ec2, "CreateTransitGatewayVpcAttachment", TransitGatewayId=tgw, VpcId=vpc,
                                    SubnetIds=["subnet-" + hashlib.sha256(("s" + name).encode()).hexdigest()[:17]],
                                    TagSpecifications=[{"ResourceType": "transit-gateway-attachment",
                                                        "Tags": [{"Key": ATTACHMENT_TAG, "Value": name}]}]
                                    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        call(ec2, "CreateTags", Resources=[attachment_ids[name]], Tags=[{"Key": ATTACHMENT_TAG, "Value": name}])
    for table_name, table in sorted(doc.get("routeTables", {}).items()):
        rt = call(ec2, "CreateTransitGatewayRouteTable", TransitGatewayId=tgw,
                  TagSpecifications=[{"ResourceType": "transit-gateway-route-table",
                                      "Tags": [{"Key": TABLE_TAG, "Value": table_name}]}]
                  )["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
        for name, associated in sorted(doc.get("associations", {}).items()):
            if associated == table_name:
                call(ec2, "AssociateTransitGatewayRouteTable", TransitGatewayRouteTableId=rt,
                     TransitGatewayAttachmentId=attachment_ids[name])
        for name in table.get("propagations", []):
            call(ec2, "EnableTransitGatewayRouteTablePropagation", TransitGatewayRouteTableId=rt,
                 TransitGatewayAttachmentId=attachment_ids[name])
        for route in table.get("routes", []):
            target = ({"Blackhole": True} if route["target"] == "blackhole"
                      else {"TransitGatewayAttachmentId": attachment_ids[route["target"]]})
            call(ec2, "CreateTransitGatewayRoute", DestinationCidrBlock=route["destination"], TransitGatewayRouteTableId=rt, **target)
    return tgw


def find_tgw(acct: Account, region: str) -> str | None:
    ec2 = acct.client("ec2", region)
    for tgw in paginate(ec2, "DescribeTransitGateways", "TransitGateways"):
        if _tags(tgw.get("Tags")).get(TGW_TAG) and tgw.get("State") not in ("deleted", "deleting"):
            return tgw["TransitGatewayId"]
    return None


def read_tgw(acct: Account, region: str, tgw: str) -> dict:
    """The live TGW as a compiled aws-tgw document: associations, propagations, static routes."""
    ec2 = acct.client("ec2", region)
    tagged = {t["ResourceId"]: t["Value"] for t in paginate(ec2, "DescribeTags", "Tags",
                                                             Filters=[{"Name": "key", "Values": [ATTACHMENT_TAG]}])}
    names, associated = {}, {}
    for att in paginate(ec2, "DescribeTransitGatewayAttachments", "TransitGatewayAttachments",
                        Filters=[{"Name": "transit-gateway-id", "Values": [tgw]}]):
        if att.get("State") in ("deleted", "deleting", "failed", "rejected"):
            continue
        att_id = att["TransitGatewayAttachmentId"]
        names[att_id] = _tags(att.get("Tags")).get(ATTACHMENT_TAG) or tagged.get(att_id) or att_id
        association = att.get("Association") or {}
        if association.get("State", "associated") == "associated" and association.get("TransitGatewayRouteTableId"):
            associated[names[att_id]] = association["TransitGatewayRouteTableId"]   # one table per attachment
    doc: dict = {"associations": {}, "routeTables": {}}
    table_names = {}
    for rt in paginate(ec2, "DescribeTransitGatewayRouteTables", "TransitGatewayRouteTables",
                       Filters=[{"Name": "transit-gateway-id", "Values": [tgw]}]):
        rt_id = rt["TransitGatewayRouteTableId"]
        table_name = table_names[rt_id] = _tags(rt.get("Tags")).get(TABLE_TAG) or rt_id
        doc["associations"].update({a: table_name for a, t in associated.items() if t == rt_id})
        propagations = sorted(names.get(p["TransitGatewayAttachmentId"], p["TransitGatewayAttachmentId"])
                              for p in paginate(ec2, "GetTransitGatewayRouteTablePropagations",
                                                "TransitGatewayRouteTablePropagations", TransitGatewayRouteTableId=rt_id)
                              if p.get("State", "enabled") == "enabled")
        routes = []
        for route in call(ec2, "SearchTransitGatewayRoutes", TransitGatewayRouteTableId=rt_id,
                          Filters=[{"Name": "type", "Values": ["static"]}]).get("Routes", []):
            if route.get("State") == "blackhole" and not route.get("TransitGatewayAttachments"):
                target = "blackhole"
            else:
                attachment = (route.get("TransitGatewayAttachments") or [{}])[0].get("TransitGatewayAttachmentId", "")
                target = names.get(attachment, attachment or "blackhole")
            routes.append({"destination": route["DestinationCidrBlock"], "target": target})
        used = propagations or routes or table_name in doc["associations"].values()
        if table_name != rt_id or used:   # an untagged, empty table (a default one) routes nothing
            doc["routeTables"][table_name] = {"propagations": propagations,
                                              "routes": sorted(routes, key=lambda r: (r["destination"], r["target"]))}
    return doc

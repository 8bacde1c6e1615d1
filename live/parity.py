"""Does the cloud hold what the plan declares? The same projection of a plan's resources and of an
account read live (live/readers.py): per resource type and region, the properties the audit judges.

The dev cloud claims to be the plan deployed (live/replay.py); tests/live/test_dev_cloud.py holds it
to that claim with `differences`, so a plan resource the replay forgets (the account password policy
once was) or a live read that maps a property differently is a failing test, not a silent pass.
Ids differ between plan and cloud (the plan's are mocked), so only what does not name an id is
compared; a reference is compared by its presence.
"""

from __future__ import annotations

import json
from collections import Counter

from govcloud.live.readers import READERS
from govcloud.live.replay import provider_regions


def _num(value):
    return int(float(value)) if value is not None else None


def _doc(value):
    if not value:
        return None
    return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)


def _mfa(trust) -> bool | None:
    if not trust:
        return None
    doc = json.loads(trust) if isinstance(trust, str) else trust
    return all((st.get("Condition") or {}).get("Bool", {}).get("aws:MultiFactorAuthPresent") == "true"
               for st in doc.get("Statement", []) if st.get("Effect") == "Allow")


# type -> the judged properties, as a comparable tuple
VIEW = {
    "aws:cloudtrail/trail:Trail": lambda i: (i["name"], bool(i.get("isMultiRegionTrail")), bool(i.get("enableLogFileValidation")),
                                             bool(i.get("includeGlobalServiceEvents", True)), bool(i.get("kmsKeyId")),
                                             bool(i.get("cloudWatchLogsGroupArn")), i.get("enableLogging", True) is not False),
    "aws:cfg/recorder:Recorder": lambda i: (i["name"], bool((i.get("recordingGroup") or {}).get("allSupported")),
                                            bool((i.get("recordingGroup") or {}).get("includeGlobalResourceTypes"))),
    "aws:cfg/recorderStatus:RecorderStatus": lambda i: (i["name"], bool(i.get("isEnabled"))),
    "aws:cfg/deliveryChannel:DeliveryChannel": lambda i: (i["name"], i.get("s3BucketName")),
    "aws:guardduty/detector:Detector": lambda i: (i.get("enable", True) is True,),
    "aws:securityhub/account:Account": lambda i: (),
    "aws:securityhub/standardsSubscription:StandardsSubscription": lambda i: (i["standardsArn"],),
    "aws:ebs/encryptionByDefault:EncryptionByDefault": lambda i: (i.get("enabled", True) is True,),
    "aws:ebs/defaultKmsKey:DefaultKmsKey": lambda i: (bool(i.get("keyArn")),),
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": lambda i: tuple(
        bool(i.get(k)) for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")),
    "aws:ec2/vpc:Vpc": lambda i: (i["cidrBlock"],),
    "aws:ec2/subnet:Subnet": lambda i: (i["cidrBlock"], bool(i.get("mapPublicIpOnLaunch"))),
    "aws:ec2/securityGroup:SecurityGroup": lambda i: (i["name"],),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": lambda i: (len(i.get("ingress") or []), len(i.get("egress") or [])),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": lambda i: (
        str(i.get("ipProtocol", "-1")), _num(i.get("fromPort")), _num(i.get("toPort")), i.get("cidrIpv4"), i.get("cidrIpv6"),
        bool(i.get("referencedSecurityGroupId")), i.get("prefixListId")),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": lambda i: (
        str(i.get("ipProtocol", "-1")), _num(i.get("fromPort")), _num(i.get("toPort")), i.get("cidrIpv4"), i.get("cidrIpv6"),
        bool(i.get("referencedSecurityGroupId")), i.get("prefixListId")),
    "aws:ec2/flowLog:FlowLog": lambda i: (i.get("trafficType"),),
    "aws:ec2/internetGateway:InternetGateway": lambda i: (),
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": lambda i: (),
    "aws:ec2/natGateway:NatGateway": lambda i: (),
    "aws:ec2/eip:Eip": lambda i: (),
    "aws:kms/key:Key": lambda i: (i.get("enableKeyRotation") is True,),
    "aws:cloudwatch/logGroup:LogGroup": lambda i: (i["name"], _num(i.get("retentionInDays")) or 0, bool(i.get("kmsKeyId"))),
    "aws:sns/topic:Topic": lambda i: (i["name"], bool(i.get("kmsMasterKeyId"))),
    "aws:cloudwatch/eventRule:EventRule": lambda i: (i["name"], _doc(i.get("eventPattern"))),
    "aws:accessanalyzer/analyzer:Analyzer": lambda i: (i["analyzerName"], i.get("type", "ACCOUNT")),
    "aws:iam/accountPasswordPolicy:AccountPasswordPolicy": lambda i: (
        _num(i.get("minimumPasswordLength")), _num(i.get("passwordReusePrevention")), _num(i.get("maxPasswordAge")),
        *(bool(i.get(k)) for k in ("requireSymbols", "requireNumbers", "requireUppercaseCharacters",
                                   "requireLowercaseCharacters", "allowUsersToChangePassword"))),
    "aws:iam/role:Role": lambda i: (i["name"], (i.get("tags") or {}).get("access"), bool(i.get("permissionsBoundary")),
                                    _mfa(i.get("assumeRolePolicy"))),
}

# What the tenant's account reads; the organisation's SCPs and the evidence from forbidden regions
# are not part of a tenant plan.
TENANT_READERS = tuple(n for n, r in READERS.items() if r.scope in ("regional", "global"))
GLOBAL_TYPES = {t for r in READERS.values() if r.scope == "global" for t in r.types} | {"aws:iam/role:Role"}


def plan_view(plan: dict, home: str) -> Counter:
    where = provider_regions(plan, home)
    out: Counter = Counter()
    for r in plan["deployment"]["resources"]:
        if r["type"] in VIEW and r.get("custom", True):
            region = None if r["type"] in GLOBAL_TYPES else where.get(r["urn"], home)
            out[(r["type"], region, VIEW[r["type"]](r.get("inputs") or {}))] += 1
    return out


def live_view(resources: list[dict]) -> Counter:
    out: Counter = Counter()
    for r in resources:
        if r["type"] in VIEW:
            region = None if r["type"] in GLOBAL_TYPES else r["inputs"].get("region")
            out[(r["type"], region, VIEW[r["type"]](r["inputs"]))] += 1
    return out


def differences(plan: dict, resources: list[dict], home: str) -> list[str]:
    """What the plan declares that the cloud lacks, and what the cloud holds that the plan does not."""
    planned, live = plan_view(plan, home), live_view(resources)
    lines = [f"planned, not live: {t} in {r or 'the account'}: {v}" for (t, r, v), n in sorted((planned - live).items(), key=str)
             for _ in range(n)]
    lines += [f"live, not planned: {t} in {r or 'the account'}: {v}" for (t, r, v), n in sorted((live - planned).items(), key=str)
              for _ in range(n)]
    return lines

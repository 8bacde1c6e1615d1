"""The dev cloud's server process: moto's server application behind a small fault injector.

    python -m govcloud.live.devserver --port 4566

moto answers every AWS call; it does not enforce IAM for every protocol (its signature check
fails on REST-JSON services such as GuardDuty once enforcement is on), so the dev cloud simulates
what operators meet in real accounts instead, one rule at a time: a denied permission, throttling
or a call that hangs, for one account and one call (`govcloud dev-cloud fault`). Rules are kept in
memory and managed at /govcloud-dev/faults (GET lists, POST adds, DELETE clears).

The injector recognises a call the way IAM names it: the service from the request's SigV4
credential scope, the operation from X-Amz-Target, the Action parameter, or — for REST services —
the botocore model's method and URI templates.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import re
import threading
import time
import urllib.parse
import uuid

import botocore.session

_faults: list[dict] = []
_lock = threading.Lock()
_SCOPE = re.compile(r"Credential=([^/]+)/[0-9]{8}/[^/]+/([^/]+)/aws4_request")


# SigV4 signing name -> botocore service names, where they differ (most are equal).
SIGNING_NAMES = {"s3": ("s3", "s3control"), "monitoring": ("cloudwatch",), "execute-api": ("apigateway",),
                 "access-analyzer": ("accessanalyzer",)}


@functools.cache
def _models_for(signing_name: str) -> list:
    session = botocore.session.get_session()
    models = []
    for name in SIGNING_NAMES.get(signing_name, (signing_name,)):
        try:
            models.append(session.get_service_model(name))
        except Exception:  # noqa: BLE001 - an unknown service simply has no REST routes here
            continue
    return models


@functools.cache
def _rest_routes(signing_name: str) -> list[tuple[str, re.Pattern, int, str, str, str]]:
    routes = []
    for model in _models_for(signing_name):
        if model.protocol not in ("rest-json", "rest-xml"):
            continue
        for op in model.operation_names:
            http = model.operation_model(op).http
            uri = http.get("requestUri", "/").split("?")[0]
            pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(uri))
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            routes.append((http.get("method", "POST"), re.compile(f"^{pattern}$"), literal, op, model.protocol,
                           model.metadata.get("endpointPrefix", signing_name)))
    routes.sort(key=lambda r: -r[2])   # most literal first: /detector/{id}/filter before /detector/{id}
    return routes


def identify(environ: dict, body: bytes) -> tuple[str | None, str | None, str | None, str]:
    """(access key, IAM service prefix, operation, protocol) of a request."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None, None, None, "query"
    access_key, signing = match.groups()
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return access_key, signing, target.rsplit(".", 1)[-1], "json"
    params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
    if "Action" in params:
        return access_key, signing, params["Action"][0], "ec2" if signing == "ec2" else "query"
    path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
    for route_method, pattern, _, op, protocol, _ in _rest_routes(signing):
        if route_method == method and pattern.match(path):
            return access_key, signing, op, protocol
    return access_key, signing, None, "rest-json"


def _error(protocol: str, status: int, code: str, message: str) -> tuple[str, list, bytes]:
    request_id = str(uuid.uuid4())
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        return f"{status} Error", [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code),
                                   ("x-amzn-RequestId", request_id)], body
    if protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>").encode()
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return f"{status} Error", [("Content-Type", "text/xml")], body


ERRORS = {  # fault kind -> protocol family -> (HTTP status, error code)
    "access-denied": {"ec2": (403, "UnauthorizedOperation"), "json": (400, "AccessDeniedException"),
                      "rest-json": (403, "AccessDeniedException"), "query": (403, "AccessDenied")},
    "throttling": {"ec2": (503, "RequestLimitExceeded"), "json": (400, "ThrottlingException"),
                   "rest-json": (429, "ThrottlingException"), "query": (400, "Throttling")},
}


# --- calls govcloud reads that moto lacks ---------------------------------------------------------------
# moto does not implement Security Hub standards or GetEbsDefaultKmsKeyId; the dev cloud answers them
# from its own state (standards) or moto's (the EBS default key it already stores).

_standards: dict[tuple[str, str], dict[str, dict]] = {}   # (account, region) -> standards ARN -> subscription
# moto 5 has no IAM Access Analyzer at all; the dev cloud keeps analyzers per account and region and
# answers CreateAnalyzer, ListAnalyzers and DeleteAnalyzer in the shapes of the API reference
# (https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_AnalyzerSummary.html).
_analyzers: dict[tuple[str, str], dict[str, dict]] = {}   # (account, region) -> analyzer name -> summary


def _json_response(start_response, doc: dict) -> list[bytes]:
    payload = json.dumps(doc).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _region(environ: dict) -> str:
    match = re.search(r"Credential=[^/]+/[0-9]{8}/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "us-east-1"


def extension(environ: dict, body: bytes, account: str, service: str, operation: str, start_response):
    region = _region(environ)
    if service == "securityhub" and operation in ("BatchEnableStandards", "GetEnabledStandards", "BatchDisableStandards"):
        with _lock:
            subs = _standards.setdefault((account, region), {})
            request = json.loads(body or b"{}")
            if operation == "BatchEnableStandards":
                changed = []
                for item in request.get("StandardsSubscriptionRequests", []):
                    arn = item["StandardsArn"]
                    name = arn.split(":standards/", 1)[-1] if ":standards/" in arn else arn.rsplit("/", 1)[-1]
                    subs[arn] = {"StandardsArn": arn, "StandardsStatus": "READY", "StandardsInput": {},
                                 "StandardsSubscriptionArn": f"arn:aws:securityhub:{region}:{account}:subscription/{name}"}
                    changed.append(subs[arn])
                return _json_response(start_response, {"StandardsSubscriptions": changed})
            if operation == "BatchDisableStandards":
                gone = [subs.pop(a) for a in list(subs) if subs[a]["StandardsSubscriptionArn"] in
                        request.get("StandardsSubscriptionArns", [])]
                return _json_response(start_response, {"StandardsSubscriptions": gone})
            return _json_response(start_response, {"StandardsSubscriptions": list(subs.values())})
    if service == "access-analyzer":
        with _lock:
            analyzers = _analyzers.setdefault((account, region), {})
            if operation == "CreateAnalyzer":
                request = json.loads(body or b"{}")
                name = request["analyzerName"]
                arn = f"arn:aws:access-analyzer:{region}:{account}:analyzer/{name}"
                analyzers.setdefault(name, {"arn": arn, "name": name, "type": request.get("type", "ACCOUNT"),
                                            "status": "ACTIVE", "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                            "tags": request.get("tags") or {}})
                return _json_response(start_response, {"arn": analyzers[name]["arn"]})
            if operation == "DeleteAnalyzer":
                analyzers.pop(urllib.parse.unquote(environ.get("PATH_INFO", "").rsplit("/", 1)[-1]), None)
                return _json_response(start_response, {})
            return _json_response(start_response, {"analyzers": list(analyzers.values())})
    if service == "ec2" and operation == "GetEbsDefaultKmsKeyId":
        from moto.ec2.models import ec2_backends

        key = ec2_backends[account][region].default_kms_key_id or f"arn:aws:kms:{region}:{account}:alias/aws/ebs"
        payload = (f'<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                   f"<requestId>{uuid.uuid4()}</requestId><kmsKeyId>{key}</kmsKeyId></GetEbsDefaultKmsKeyIdResponse>").encode()
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
        return [payload]
    if service == "ec2" and operation == "SearchTransitGatewayRoutes":
        return _search_tgw_routes(environ, body, account, region, start_response)
    return None


def _search_tgw_routes(environ, body: bytes, account: str, region: str, start_response):
    """moto keeps a static route's attachment but drops it from this answer (a dict where the API
    has a list); the dev cloud answers from moto's own route table."""
    from xml.sax.saxutils import escape

    from moto.ec2.models import ec2_backends

    params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode() or environ.get("QUERY_STRING", "")).items()}
    wanted: dict[str, set[str]] = {}
    for key, value in params.items():
        match = re.fullmatch(r"Filter\.(\d+)\.Name", key)
        if match:
            n = match.group(1)
            wanted[value] = {v for k, v in params.items() if k.startswith(f"Filter.{n}.Value.")}
    table = ec2_backends[account][region].transit_gateways_route_tables[params["TransitGatewayRouteTableId"]]
    items = []
    for route in table.routes.values():
        if any(route.get(key) not in values for key, values in (("type", wanted.get("type")), ("state", wanted.get("state"))) if values):
            continue
        attachment = route.get("transitGatewayAttachments") or {}
        attachments = ""
        if attachment:
            attachments = ("<transitGatewayAttachments><item>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in attachment.items())
                           + "</item></transitGatewayAttachments>")
        items.append(f"<item><destinationCidrBlock>{route['destinationCidrBlock']}</destinationCidrBlock>{attachments}"
                     f"<type>{route.get('type', 'static')}</type><state>{route.get('state', 'active')}</state></item>")
    payload = (f'<SearchTransitGatewayRoutesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>{uuid.uuid4()}'
               f"</requestId><routeSet>{''.join(items)}</routeSet><additionalRoutesAvailable>false</additionalRoutesAvailable>"
               "</SearchTransitGatewayRoutesResponse>").encode()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
    return [payload]


EXTENDED = {("ec2", "SearchTransitGatewayRoutes"), ("securityhub", "BatchEnableStandards"), ("securityhub", "GetEnabledStandards"),
            ("securityhub", "BatchDisableStandards"), ("ec2", "GetEbsDefaultKmsKeyId"),
            ("access-analyzer", "CreateAnalyzer"), ("access-analyzer", "ListAnalyzers"), ("access-analyzer", "DeleteAnalyzer")}


class FaultInjector:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/govcloud-dev/faults"):
            return self._manage(environ, start_response)
        with _lock:
            faults = list(_faults)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        access_key, service, operation, protocol = identify(environ, body)
        if service and operation:
            from moto.iam.models import get_account_id_from

            account = get_account_id_from(access_key) if access_key else None
            if faults:
                for fault in faults:
                    if fault["account"] in ("*", account) and fault["call"] in (f"{service}:{operation}", f"{service}:*"):
                        if fault["error"] == "timeout":
                            time.sleep(float(fault.get("seconds", 30)))
                            break
                        status, code = ERRORS[fault["error"]][protocol if protocol in ERRORS[fault["error"]] else "query"]
                        message = (f"User: arn:aws:sts::{account}:assumed-role/govcloud/session is not authorized to perform: "
                                   f"{service}:{operation} (dev-cloud fault)" if fault["error"] == "access-denied"
                                   else "Rate exceeded (dev-cloud fault)")
                        status_line, headers, payload = _error(protocol, status, code, message)
                        start_response(status_line, headers + [("Content-Length", str(len(payload)))])
                        return [payload]
            if (service, operation) in EXTENDED:
                return extension(environ, body, account, service, operation, start_response)
        return self.app(environ, start_response)

    def _manage(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            fault = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if fault.get("error") not in ("access-denied", "throttling", "timeout") or ":" not in fault.get("call", ""):
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [b'{"error": "need call (service:Operation), account and error (access-denied|throttling|timeout)"}']
            with _lock:
                _faults.append({"account": fault.get("account", "*"), "call": fault["call"], "error": fault["error"],
                                "seconds": fault.get("seconds", 30)})
        elif method == "DELETE":
            with _lock:
                _faults.clear()
        with _lock:
            payload = json.dumps(_faults).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def patch_moto_transit_gateways() -> None:
    """moto puts every VPC attachment in the Transit Gateway's default route table and always reports
    that table as the attachment's association, whatever the gateway's options and later
    associations say. AWS honours DefaultRouteTableAssociation=disable and reports the current
    association; so does the dev cloud."""
    from moto.ec2.models import transit_gateway_attachments as tga

    def association(self):
        data = self._association_data
        if data:
            return {"State": data.get("state", "associated"), "TransitGatewayRouteTableId": data["transitGatewayRouteTableId"]}
        if self.state == "available" and self.transit_gateway_route_table is not None:
            return {"State": "associated", "TransitGatewayRouteTableId": self.transit_gateway_route_table.id}
        return None

    tga.TransitGatewayAttachment.association = property(association)
    original = tga.TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment

    def create(self, transit_gateway_id, *args, **kwargs):
        attachment = original(self, transit_gateway_id, *args, **kwargs)
        gateway = self.transit_gateways[transit_gateway_id]
        if gateway.options.get("DefaultRouteTableAssociation") == "disable":
            self.unset_route_table_association(gateway.default_route_table.id, attachment.id)
            attachment.transit_gateway_route_table = None
        return attachment

    tga.TransitGatewayAttachmentBackend.create_transit_gateway_vpc_attachment = create


_issued_ids: set[str] = set()
_creating = threading.local()
MANAGEMENT_ACCOUNT_ID = "123456789012"      # moto's DEFAULT_ACCOUNT_ID: the management account


def stable_account_id(email: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """The 12-digit account id the dev cloud gives the account with this e-mail address.

    moto draws account ids at random (``moto.organizations.utils.make_random_account_id``), so a
    restarted dev cloud handed every tenant a new id and a workspace that had recorded one could
    never vend again. Organizations identifies a new account by its e-mail address (unique per
    organisation), so the id is derived from it: the same tenant gets the same id after every
    restart. A collision (or moto's own management id) moves on to the next counter value.
    """
    counter = 0
    while True:
        seed = f"govcloud-dev-cloud:{email.strip().lower()}:{counter}".encode("utf-8")
        candidate = f"{int.from_bytes(hashlib.sha256(seed).digest()[:8], 'big') % 10**12:012d}"
        if candidate not in taken and candidate != MANAGEMENT_ACCOUNT_ID:
            return candidate
        counter += 1


def patch_moto_stable_account_ids() -> None:
    """Make moto's CreateAccount use :func:`stable_account_id` instead of a random id."""
    from moto.organizations import models, utils

    random_id = utils.make_random_account_id

    def make_account_id() -> str:
        email = getattr(_creating, "email", None)
        if email is None:
            return random_id()
        account_id = stable_account_id(email, _issued_ids)
        _issued_ids.add(account_id)
        return account_id

    original_init = models.FakeAccount.__init__

    def init(self, organization, **kwargs):
        _creating.email = kwargs.get("Email", "")
        try:
            original_init(self, organization, **kwargs)
        finally:
            _creating.email = None

    utils.make_random_account_id = make_account_id
    models.FakeAccount.__init__ = init


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the dev cloud listens on the loopback interface only")
    import os

    os.environ.setdefault("MOTO_PORT", str(args.port))
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    patch_moto_transit_gateways()
    patch_moto_stable_account_ids()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, FaultInjector(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

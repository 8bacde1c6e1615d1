"""Where live commands send their AWS calls, and how one failed call is reported.

Endpoint resolution, in order: `--endpoint-url`, `$GOVCLOUD_ENDPOINT_URL`, the running dev cloud
(`govcloud dev-cloud start`), and real AWS only when asked for with `--aws` (then the standard
credential chain and `--profile`/`AWS_PROFILE`). With no endpoint and no `--aws` a live command
refuses rather than guess: nothing leaves the machine by accident.

Every client uses botocore's adaptive retry mode (client-side rate limiting plus retries of
throttling and transient errors) and explicit connect and read timeouts.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers

from govcloud.diagnostics import UsageError

AUDIT_ROLE = "govcloud-audit"                       # read-only, in every tenant account
ADMIN_ROLE = "OrganizationAccountAccessRole"        # what Organizations creates in a new account
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20
MAX_ATTEMPTS = 4
_CLIENTS_LOCK = threading.RLock()


@dataclass(frozen=True)
class Endpoint:
    url: str | None                     # None: real AWS
    region: str = "ap-northeast-1"
    profile: str | None = None
    access_key: str | None = None       # the dev cloud's local keys; None: the standard chain
    secret_key: str | None = None
    read_timeout: float = READ_TIMEOUT

    @property
    def label(self) -> str:
        return self.url or f"AWS ({self.profile or os.environ.get('AWS_PROFILE') or 'default credential chain'})"


def client_config(endpoint: Endpoint, service: str) -> botocore.config.Config:
    return botocore.config.Config(
        retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT, read_timeout=endpoint.read_timeout,
        user_agent_extra="govcloud",
        s3={"addressing_style": "path"} if endpoint.url else None,
    )


def resolve_endpoint(root: Path, endpoint_url: str | None, use_aws: bool, profile: str | None,
                     region: str | None = None) -> Endpoint:
    endpoint = _resolve(root, endpoint_url, use_aws, profile, region or os.environ.get("AWS_REGION") or "ap-northeast-1")
    timeout = os.environ.get("GOVCLOUD_AWS_READ_TIMEOUT")
    if timeout:
        try:
            seconds = float(timeout)
        except ValueError:
            raise UsageError(f"GOVCLOUD_AWS_READ_TIMEOUT must be a number of seconds, got {timeout!r}") from None
        endpoint = Endpoint(endpoint.url, endpoint.region, endpoint.profile, endpoint.access_key, endpoint.secret_key, seconds)
    return endpoint


def _resolve(root: Path, endpoint_url: str | None, use_aws: bool, profile: str | None, region: str) -> Endpoint:
    from govcloud.live.devcloud import running_dev_cloud

    if endpoint_url and use_aws:
        raise UsageError("give either --endpoint-url or --aws, not both")
    url = endpoint_url or (None if use_aws else os.environ.get("GOVCLOUD_ENDPOINT_URL"))
    if url:
        if not re.match(r"https?://", url):
            raise UsageError(f"--endpoint-url must be an http(s) URL, got {url!r}")
        dev = running_dev_cloud(root)
        if dev and dev["url"] == url.rstrip("/"):
            return Endpoint(dev["url"], region, None, dev["accessKey"], dev["secretKey"])
        return Endpoint(url.rstrip("/"), region, profile)
    if use_aws:
        return Endpoint(None, region, profile)
    dev = running_dev_cloud(root)
    if dev is None:
        raise UsageError("no endpoint: start the local dev cloud (`govcloud dev-cloud start`), pass --endpoint-url, "
                         "or pass --aws to use your AWS credentials (--profile or AWS_PROFILE)")
    return Endpoint(dev["url"], region, None, dev["accessKey"], dev["secretKey"])


@dataclass
class Account:
    """Clients for one account: the caller's own, or one reached by assuming a role in it."""

    endpoint: Endpoint
    account_id: str | None = None
    role: str | None = None

    @cached_property
    def credentials(self) -> dict | None:
        """The role's temporary credentials (AssumeRole, once), or None for the caller's own."""
        if not self.role:
            return None
        sts = _base_session(self.endpoint).client("sts", endpoint_url=self.endpoint.url, config=client_config(self.endpoint, "sts"))
        creds = call(sts, "AssumeRole", RoleArn=f"arn:aws:iam::{self.account_id}:role/{self.role}",
                     RoleSessionName="govcloud", DurationSeconds=3600)["Credentials"]
        return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"]}

    @property
    def session(self) -> boto3.Session:
        """Touching it assumes the role now (a denied AssumeRole fails here, not in each reader)."""
        creds = self.credentials
        if creds is None:
            return _base_session(self.endpoint)
        return boto3.Session(region_name=self.endpoint.region, **creds)

    def client(self, service: str, region: str | None = None):
        """One client per service and region, kept: readers ask for the same ones many times.
        Clients come from one shared session per endpoint with the role's credentials passed in,
        so the service models are loaded once for every account, not once per AssumeRole (making a
        client is most of a reader's cost). A boto3 session is not thread-safe and readers run in
        threads (live/readers.py), hence the lock; clients themselves are thread-safe."""
        region = region or self.endpoint.region
        with _CLIENTS_LOCK:
            cache = self.__dict__.setdefault("_clients", {})
            client = cache.get((service, region))
            if client is None:
                client = _base_session(self.endpoint).client(service, endpoint_url=self.endpoint.url, region_name=region,
                                                             config=client_config(self.endpoint, service),
                                                             **(self.credentials or {}))
                if service == "s3control" and self.endpoint.url:
                    client.meta.events.register("before-sign.s3-control.*", _drop_account_host_prefix)
                cache[(service, region)] = client
        return client

    def assume(self, account_id: str, role: str) -> "Account":
        """The same caller acting in another account through a role there."""
        return Account(self.endpoint, account_id, role)


_SESSIONS: dict[Endpoint, boto3.Session] = {}


def _base_session(endpoint: Endpoint) -> boto3.Session:
    with _CLIENTS_LOCK:
        if endpoint not in _SESSIONS:
            _SESSIONS[endpoint] = boto3.Session(profile_name=endpoint.profile, region_name=endpoint.region,
                                                aws_access_key_id=endpoint.access_key, aws_secret_access_key=endpoint.secret_key)
        return _SESSIONS[endpoint]


def _drop_account_host_prefix(request, **_) -> None:
    """S3 Control puts the account id in front of the endpoint's host name: right for AWS, but a
    local endpoint (127.0.0.1) has no such names."""
    request.url = re.sub(r"^(https?://)[0-9]{12}\.", r"\1", request.url)


# --- one call, and what went wrong with it --------------------------------------------------------------

IAM_PREFIX = {"monitoring": "cloudwatch", "s3control": "s3", "config": "config", "logs": "logs",
              "accessanalyzer": "access-analyzer"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
           "AuthorizationError", "AuthFailure"}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
              "ThrottledException", "SlowDown", "RequestThrottled"}


class CallFailure(UsageError):
    """One AWS call that did not complete, said the way an operator acts on it. Per-tenant commands
    record it and go on; anywhere else it stops the command with its message (exit 1)."""

    def __init__(self, call: str, kind: str, message: str, permission: str | None = None):
        super().__init__(call, kind, message, permission)
        self.call = call              # service:Operation, e.g. cloudtrail:GetTrailStatus
        self.kind = kind              # access-denied, throttled, timeout, unreachable, not-implemented, not-found, error
        self.message = message
        self.permission = permission  # the IAM action that was missing, for access-denied

    def __str__(self) -> str:
        extra = f" (missing permission {self.permission})" if self.permission else ""
        return f"{self.call}: {self.kind}{extra}: {self.message}"


def call(client, operation: str, **params):
    """Call `operation` (its API name, e.g. DescribeTrails) and turn failures into CallFailure."""
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    try:
        return getattr(client, method)(**params)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a CallFailure, nothing is swallowed
        raise classify(client.meta.service_model.service_name, operation, exc) from exc


def classify(service: str, operation: str, exc: Exception) -> CallFailure:
    prefix = IAM_PREFIX.get(service, service)
    name = f"{prefix}:{operation}"
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", "")) or str(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _DENIED or (status == 403 and "not authorized" in message):
            match = re.search(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)", message)
            return CallFailure(name, "access-denied", message, match.group(1) if match else name)
        if code in _THROTTLED:
            return CallFailure(name, "throttled", f"{message} (still throttled after {MAX_ATTEMPTS} attempts with adaptive retry)")
        if status in (404, 501) and code in ("404", "501", "NotImplemented", "InternalFailure", "UnknownOperationException"):
            return CallFailure(name, "not-implemented", f"the endpoint does not implement {operation}")
        return CallFailure(name, "error", f"{code}: {message}")
    if isinstance(exc, (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError)):
        return CallFailure(name, "timeout", str(exc))
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return CallFailure(name, "unreachable", str(exc))
    if isinstance(exc, (botocore.exceptions.NoCredentialsError, botocore.exceptions.ProfileNotFound)):
        return CallFailure(name, "no-credentials", str(exc))
    if isinstance(exc, CallFailure):
        return exc
    if isinstance(exc, botocore.parsers.ResponseParserError) and "500 Internal Server Error" in str(exc):
        return CallFailure(name, "error", "the endpoint failed with HTTP 500 (for a dev cloud: see .govcloud/dev-cloud.log)")
    return CallFailure(name, "error", f"{type(exc).__name__}: {str(exc)[:300]}")


def paginate(client, operation: str, key: str, **params) -> list:
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    try:
        if client.can_paginate(method):
            return [item for page in client.get_paginator(method).paginate(**params) for item in page.get(key, [])]
        return getattr(client, method)(**params).get(key, [])
    except Exception as exc:  # noqa: BLE001
        raise classify(client.meta.service_model.service_name, operation, exc) from exc

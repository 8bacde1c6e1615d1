"""The history head, anchored outside the workspace (DESIGN.md §4; issue 19 part 5).

Every write publishes the new head of ``tenants/history.jsonl`` — its sequence number and hash,
signed — as a new object in an append-only store that the workspace's writer cannot rewrite;
``govcloud history verify``, ``govcloud validate`` and every write compare the local chain with
it. Cutting the tail, rebuilding the chain or bootstrapping a new one is then a diagnostic
without anyone keeping a head by hand.

**The store** is an S3 bucket with Object Lock in compliance mode (in production the log archive
account's; in tests and the dev cloud the same API on the local moto server). What AWS documents
(Amazon S3 User Guide, "Configuring S3 Object Lock" and "Locking objects with Object Lock"; AWS
CDK ``ObjectLockMode``):

- "Before you lock any objects, you must enable S3 Versioning and Object Lock on a general
  purpose bucket" — ``CreateBucket`` with ``ObjectLockEnabledForBucket`` ("Specifies whether you
  want S3 Object Lock to be enabled for the new bucket"); "After you enable Object Lock on a
  bucket, you can't disable Object Lock or suspend versioning for that bucket."
- COMPLIANCE: "When an object is locked in compliance mode, its retention mode can't be changed,
  and its retention period can't be shortened. Compliance mode helps ensure that an object
  version can't be overwritten or deleted for the duration of the retention period." Each head
  is written with ``PutObject`` ``ObjectLockMode=COMPLIANCE`` and ``ObjectLockRetainUntilDate``.

In a versioned bucket a ``PutObject`` to an existing key adds a *version* and a ``DeleteObject``
without a version id adds a *delete marker*; neither removes a locked version. So the reader
lists every version (``ListObjectVersions``) and ignores delete markers, and a key with more than
one version is itself a finding (govcloud writes each head once, under its own key).

**What is compared**: the record with the highest sequence number must be an entry of the local
chain with the same hash (a hash chain: then every earlier entry is the anchored one too). A
newest anchored record the local chain does not have means the tail was cut; a different hash at
that position means the chain was rebuilt or bootstrapped again. Entries newer than the anchor
(a write whose publication failed) are reported as not anchored yet, and the next write
publishes the head that covers them.

**Who signs**: the onboarding service key (Ed25519, declared under ``spec.serviceKeys`` of the
recorded Principals document): the key of the writer machine rather than of a person, so every
write can sign (``request apply`` and account records have no personal signer). The writer finds
it at ``$GOVCLOUD_ANCHOR_KEY`` or the service's default ``.govcloud/service_ed25519``. A record no
declared service key signed is a finding: someone else wrote to the bucket.

**Configuration**: ``tenants/anchor.yaml`` (kind ``HistoryAnchor``, JSON Schema
``tenants/schemas/historyanchor.schema.json``); ``$GOVCLOUD_ANCHOR_ENDPOINT_URL`` overrides the
endpoint (the dev cloud, moto); ``$GOVCLOUD_ANCHOR_BUCKET`` (and ``$GOVCLOUD_ANCHOR_PREFIX``) pin
the location from outside the workspace, so that a CI job is not redirected by an edit of the
setting (a different setting in the workspace is then refused).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from govcloud import sshsig, yamlio
from govcloud.diagnostics import Collector, UsageError
from govcloud.workspace import Workspace

NAMESPACE = "govcloud-history-head"
RECORD_TYPE = "govcloud.history-head/v1"
KIND = "HistoryAnchor"
ENV_ENDPOINT = "GOVCLOUD_ANCHOR_ENDPOINT_URL"
ENV_BUCKET = "GOVCLOUD_ANCHOR_BUCKET"
ENV_PREFIX = "GOVCLOUD_ANCHOR_PREFIX"
ENV_KEY = "GOVCLOUD_ANCHOR_KEY"
MAX_RECORD_BYTES = 64 * 1024
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15

# S3 general purpose bucket names: 3-63 characters, lower-case letters, digits, dots and hyphens,
# beginning and ending with a letter or digit (Amazon S3 User Guide, "Bucket naming rules").
BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class S3Location(_Strict):
    bucket: str = Field(pattern=BUCKET, description="The Object Lock bucket (created with ObjectLockEnabledForBucket)")
    prefix: str = Field(default="govcloud/history/", max_length=512, pattern=r"^([A-Za-z0-9!_.*'()/-]+/)?$",
                        description="Key prefix of this workspace's heads, ending in '/'")
    region: str = Field(default="ap-northeast-1", pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    endpoint_url: str | None = Field(default=None, alias="endpointUrl", pattern=r"^https?://",
                                     description="Another S3 endpoint (the dev cloud); $GOVCLOUD_ANCHOR_ENDPOINT_URL overrides")


class AnchorSpec(_Strict):
    s3: S3Location
    retention_days: int = Field(default=3650, ge=1, le=36500, alias="retentionDays",
                                description="Compliance-mode retention of every published head, in days")
    unreachable: Literal["refuse", "warn"] = Field(
        default="refuse", description="When the store cannot be read: refuse (default) or warn and go on")


class AnchorMetadata(_Strict):
    name: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length=63)


class HistoryAnchor(_Strict):
    api_version: Literal["govcloud/v1"] = Field(alias="apiVersion")
    kind: Literal["HistoryAnchor"]
    metadata: AnchorMetadata
    spec: AnchorSpec


def json_schema() -> dict:
    schema = HistoryAnchor.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://govcloud.example/schemas/v1/historyanchor.schema.json", **schema}


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Settings:
    """Where the heads of one workspace go, after the environment's overrides."""

    bucket: str
    prefix: str
    region: str
    endpoint_url: str | None
    retention_days: int
    unreachable: str
    source: str                   # what configured it: the file, or the environment

    @property
    def label(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


def load_settings(ws: Workspace) -> Settings | None:
    """The anchor of ``ws``; None when none is configured. Raises DiagnosticError for a setting
    that cannot be read, or that disagrees with the location the environment pins."""
    path = ws.anchor_file
    doc: HistoryAnchor | None = None
    if path.exists() or path.is_symlink():
        data, positions = yamlio.load_file(path)
        out = Collector(ws.relative(path), positions)
        try:
            doc = HistoryAnchor.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                code = "GC102" if err["type"] == "extra_forbidden" else "GC101"
                out.add(code, f"{'.'.join(map(str, loc)) or 'document'}: {err['msg']}", loc)
            out.raise_if_errors()
    pinned_bucket = os.environ.get(ENV_BUCKET) or None
    pinned_prefix = os.environ.get(ENV_PREFIX)
    endpoint = os.environ.get(ENV_ENDPOINT) or None
    if endpoint is not None and not re.match(r"^https?://", endpoint):
        raise UsageError(f"${ENV_ENDPOINT} must be an http(s) URL, got {endpoint!r}")
    if doc is None and pinned_bucket is None:
        return None
    if doc is not None:
        s3 = doc.spec.s3
        if pinned_bucket is not None and (pinned_bucket, pinned_prefix if pinned_prefix is not None else s3.prefix) \
                != (s3.bucket, s3.prefix):
            out = Collector(ws.relative(path), positions)
            out.add("GC622", f"the workspace's anchor is s3://{s3.bucket}/{s3.prefix}, but ${ENV_BUCKET} pins "
                             f"s3://{pinned_bucket}/{pinned_prefix if pinned_prefix is not None else s3.prefix}: "
                             "the setting was changed in the workspace", ("spec", "s3"))
            out.raise_if_errors()
        return Settings(s3.bucket, s3.prefix, s3.region, endpoint or s3.endpoint_url, doc.spec.retention_days,
                        doc.spec.unreachable, ws.relative(path))
    prefix = pinned_prefix if pinned_prefix is not None else "govcloud/history/"
    if not re.match(BUCKET, pinned_bucket) or (prefix and not prefix.endswith("/")):
        raise UsageError(f"${ENV_BUCKET}/${ENV_PREFIX} name no usable location: {pinned_bucket!r} {prefix!r}")
    return Settings(pinned_bucket, prefix, os.environ.get("AWS_REGION") or "ap-northeast-1", endpoint, 3650,
                    "refuse", f"${ENV_BUCKET}")


# --- records -------------------------------------------------------------------------------------


def statement(settings: Settings, seq: int, head: str) -> bytes:
    """What the writer signs: the chain position and hash, bound to the location it is kept at
    (a record copied to another workspace's prefix does not verify there)."""
    return rfc8785.dumps({"type": RECORD_TYPE, "seq": seq, "head": head, "bucket": settings.bucket,
                          "prefix": settings.prefix}) + b"\n"


def record_key(settings: Settings, seq: int) -> str:
    return f"{settings.prefix}heads/{seq:012d}.json"


@dataclass(frozen=True)
class Record:
    key: str
    version_id: str
    seq: int | None
    head: str | None
    signature: str | None
    problem: str | None = None       # why it is not a head record at all

    def signed_by(self, settings: Settings, keys: dict[str, sshsig.PublicKey]) -> str | None:
        """The id of the declared service key that signed this record, or None."""
        if self.signature is None or self.seq is None or self.head is None:
            return None
        for kid, key in keys.items():
            try:
                sshsig.verify(statement(settings, self.seq, self.head), self.signature, NAMESPACE, key)
            except sshsig.SignatureError:
                continue
            return kid
        return None


def _parse_record(key: str, version: str, body: bytes) -> Record:
    def bad(why: str) -> Record:
        return Record(key, version, None, None, None, why)

    if len(body) > MAX_RECORD_BYTES:
        return bad(f"{len(body)} bytes, more than a head record holds")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return bad("not JSON")
    if not isinstance(data, dict) or data.get("type") != RECORD_TYPE:
        return bad(f"not a {RECORD_TYPE} record")
    seq, head, signature = data.get("seq"), data.get("head"), data.get("signature")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not isinstance(head, str) \
            or not re.match(r"^[0-9a-f]{64}$", head) or not isinstance(signature, str):
        return bad("its seq, head or signature is missing or mistyped")
    m = re.search(r"heads/([0-9]{12})\.json$", key)
    if m is None or int(m.group(1)) != seq:
        return bad(f"it records #{seq} under another position's key")
    return Record(key, version, seq, head, signature)


class AnchorUnreachable(Exception):
    """The store could not be read or written (network, credentials, missing bucket)."""


class S3Store:
    """The heads of one workspace in an S3 bucket with Object Lock (boto3)."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            import botocore.config

            config = botocore.config.Config(
                retries={"mode": "standard", "max_attempts": 3}, connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT, user_agent_extra="govcloud-anchor",
                s3={"addressing_style": "path"} if self.settings.endpoint_url else None)
            self._client = boto3.client("s3", region_name=self.settings.region,
                                        endpoint_url=self.settings.endpoint_url, config=config)
        return self._client

    def _call(self, what: str, fn, **kwargs):
        import botocore.exceptions

        try:
            return fn(**kwargs)
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            raise AnchorUnreachable(f"{what} on {self.settings.label} failed: {err.get('Code')}: "
                                    f"{err.get('Message')}") from None
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            raise AnchorUnreachable(f"{what} on {self.settings.label} failed: {exc}") from None

    def versions(self) -> list[tuple[str, str]]:
        """(key, version id) of every object version under the prefix, delete markers left out."""
        out: list[tuple[str, str]] = []
        kwargs = {"Bucket": self.settings.bucket, "Prefix": f"{self.settings.prefix}heads/"}
        while True:
            page = self._call("ListObjectVersions", self.client.list_object_versions, **kwargs)
            out += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
            if not page.get("IsTruncated"):
                return sorted(out)
            kwargs.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])

    def read(self, key: str, version: str) -> Record:
        got = self._call("GetObject", self.client.get_object, Bucket=self.settings.bucket, Key=key, VersionId=version)
        return _parse_record(key, version, got["Body"].read(MAX_RECORD_BYTES + 1))

    def publish(self, seq: int, head: str, signer: sshsig.PrivateKey) -> str:
        """Write head ``seq``/``head`` once, locked in compliance mode; returns the version id."""
        body = rfc8785.dumps({"type": RECORD_TYPE, "seq": seq, "head": head,
                              "signature": sshsig.sign(statement(self.settings, seq, head), signer, NAMESPACE)})
        until = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=self.settings.retention_days)
        # PutObject: ObjectLockMode "The Object Lock mode that you want to apply to this object" and
        # ObjectLockRetainUntilDate "The date and time when you want this object's Object Lock to
        # expire" (botocore's S3 model); a PUT with Object Lock parameters needs an integrity
        # checksum, which botocore adds (ChecksumAlgorithm).
        got = self._call("PutObject", self.client.put_object, Bucket=self.settings.bucket,
                         Key=record_key(self.settings, seq), Body=body, ContentType="application/json",
                         ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until, ChecksumAlgorithm="SHA256")
        return got.get("VersionId", "")


def store(settings: Settings) -> S3Store:
    return S3Store(settings)


# --- comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    code: str                  # GC621 (the chain disagrees with the anchor), GC623 (unreachable)
    message: str
    severity: str = "error"
    seq: int | None = None     # the local entry it is about (for the line), when there is one


def compare(settings: Settings, entries: tuple[dict, ...], keys: dict[str, sshsig.PublicKey],
            client: S3Store | None = None) -> list[Finding]:
    """What the anchor says about the local chain ``entries`` (empty: they agree and the newest
    entry is anchored). ``keys``: the service keys that may sign heads."""
    st = client or store(settings)
    try:
        versions = st.versions()
    except AnchorUnreachable as exc:
        return [_unreachable(settings, str(exc))]
    if not versions:
        if entries:
            return [Finding("GC621", f"the history anchor {settings.label} holds no head yet: the newest entry "
                                     f"#{entries[-1]['seq']} is not anchored (the next write publishes it)",
                            "warning", entries[-1]["seq"])]
        return []
    out: list[Finding] = []
    by_key: dict[str, list[str]] = {}
    for key, version in versions:
        by_key.setdefault(key, []).append(version)
    for key, vs in sorted(by_key.items()):
        if len(vs) > 1:
            out.append(Finding("GC621", f"the history anchor holds {len(vs)} versions of {key}: a head is published "
                                        "once, so someone wrote over it (the locked first version still counts)"))
    newest_key = max(by_key)
    try:
        records = [st.read(newest_key, v) for v in by_key[newest_key]]
    except AnchorUnreachable as exc:
        return out + [_unreachable(settings, str(exc))]
    by_seq = {e["seq"]: e for e in entries}
    local_head = entries[-1]["seq"] if entries else 0
    for rec in records:
        if rec.problem is not None:
            out.append(Finding("GC621", f"the history anchor's {rec.key} (version {rec.version_id}) is not a head "
                                        f"record: {rec.problem}"))
            continue
        signer = rec.signed_by(settings, keys)
        if signer is None:
            out.append(Finding("GC621", f"the history anchor's head #{rec.seq} {rec.head} is signed by no declared "
                                        "service key (spec.serviceKeys): someone else wrote to the anchor"))
        local = by_seq.get(rec.seq)
        if local is None:
            out.append(Finding("GC621", f"the history anchor {settings.label} records head #{rec.seq} {rec.head}, "
                                        f"but the local history ends at #{local_head}: entries were cut from the end "
                                        "(or the history was replaced)", seq=local_head or None))
        elif local["hash"] != rec.head:
            out.append(Finding("GC621", f"the history anchor {settings.label} records head #{rec.seq} {rec.head}, but "
                                        f"entry #{rec.seq} of the local history is {local['hash']}: the chain was "
                                        "rebuilt or bootstrapped again from an earlier entry", seq=rec.seq))
        elif rec.seq < local_head:
            out.append(Finding("GC621", f"entries #{rec.seq + 1}..#{local_head} are not anchored yet (the anchor's "
                                        f"newest head is #{rec.seq}): the next write publishes them", "warning",
                               local_head))
    return out


def _unreachable(settings: Settings, why: str) -> Finding:
    if settings.unreachable == "warn":
        return Finding("GC623", f"the history anchor cannot be read, and {settings.source} says to go on "
                                f"(unreachable: warn): {why}", "warning")
    return Finding("GC623", f"the history anchor cannot be read, so the history head cannot be checked: {why}. "
                            f"Fix the connection or credentials (or set spec.unreachable: warn in {settings.source} "
                            "to accept an unchecked head)")


def not_configured(ws: Workspace) -> str:
    return (f"no history anchor is configured ({ws.relative(ws.anchor_file)} or ${ENV_BUCKET}): the history head "
            "is checked only against anchors inside the workspace, so cutting its tail or rebuilding the chain "
            "is not detected (see docs/anchor.md)")


# --- the writer's signing key ------------------------------------------------------------------


def signing_key_path(ws: Workspace) -> Path:
    explicit = os.environ.get(ENV_KEY)
    return Path(explicit).expanduser() if explicit else ws.state_dir / "service_ed25519"


def load_signing_key(ws: Workspace) -> sshsig.PrivateKey:
    path = signing_key_path(ws)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"the history anchor is configured, so every write signs the new head with the service key, "
                         f"but {path} cannot be read ({exc.strerror}): set ${ENV_KEY} to the key declared under "
                         "spec.serviceKeys (nothing was written)") from None
    passphrase = os.environ.get("GOVCLOUD_KEY_PASSPHRASE")
    try:
        return sshsig.load_private_key(data[: 64 * 1024], passphrase.encode() if passphrase else None)
    except sshsig.SignatureError as exc:
        raise UsageError(f"{path}: {exc} (the history anchor's signing key; nothing was written)") from None

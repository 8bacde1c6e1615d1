"""Who may act on the workspace (``tenants/principals.yaml``, kind ``Principals``) and the
statements they sign.

A principal is a declared person with one role and its scope: ``vendor`` (one vendor),
``municipality`` (its municipality codes), ``platform``, ``security`` (signs waivers and network
exceptions, and nothing else: it never approves requests nor changes this document). They prove who
they are with an SSH key (``govcloud request approve --key``, or ``ssh-keygen -Y sign``) or by
signing in to the onboarding service with an OIDC subject; the service then signs on their behalf
with its own key, declared under ``spec.serviceKeys``.

The document is governed: changing it is a ``principals.recorded`` history event that carries the
whole document and is signed by platform principals of the version in force before it (the first
version by a platform principal it declares itself). The statement names the version it replaces
and its version number, so an old record does not verify in a new place; a change that grants
anyone the power to approve (a new or altered platform, security or municipality principal, a
new service key) needs four eyes (:func:`grants`). Replaying the chain therefore tells, for every
approval, which people and keys were declared when it was signed. See docs/trust.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable

import rfc8785

from govcloud import sshsig
from govcloud.tenants.identity import person_key
from govcloud.tenants.models import Principal, Principals

APPROVAL_NAMESPACE = "govcloud-approval"
PRINCIPALS_NAMESPACE = "govcloud-principals"
# Waivers and network exceptions (``govcloud.tenants.governed``): a namespace of their own, so a
# signature made for one kind of decision never verifies as another (PROTOCOL.sshsig: "the
# namespace ... prevent[s] signature confusion across different domains of use").
GOVERNED_NAMESPACE = "govcloud-governed"
SAMPLE_MARK = "SAMPLE-KEY-DO-NOT-USE"


def document_digest(doc: Principals) -> str:
    """What a ``principals.recorded`` entry is bound to: SHA-256 of the RFC 8785 form of the
    document's metadata and spec (comments and layout of the file do not count)."""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(document_json(doc))).hexdigest()


def document_json(doc: Principals) -> dict:
    return doc.model_dump(mode="json", by_alias=True, exclude_defaults=False, include={"metadata", "spec"})


# --- statements: the exact bytes that are signed --------------------------------------------------


def approval_statement(*, request: str, digest: str, role: str, municipality: str | None, principal: str,
                       head: str | None = None) -> bytes:
    """The statement an approver signs. It names the request's content digest (so a signature for
    one version of a request is worthless for another), the role and municipality (so it cannot
    be re-used for another slot) and the principal (so it cannot be re-attributed).

    Since v2 it also names ``head``, the history head it was signed against: the chain position
    that makes the statement unique. Approving again after a withdrawal signs a new head, hence a
    new statement (Ed25519 signatures are deterministic, RFC 8032 §5.1.6: the same statement
    would give the very same signature), and an approval signed before a withdrawal can be told
    from one signed after it. v1 statements (no head) are the ones recorded before."""
    body = {"type": "govcloud.approval/v2" if head is not None else "govcloud.approval/v1", "request": request,
            "digest": digest, "role": role, "principal": principal}
    if municipality is not None:
        body["municipality"] = municipality
    if head is not None:
        body["head"] = head
    return rfc8785.dumps(body) + b"\n"


def withdrawal_statement(*, request: str, digest: str, principal: str, withdraws: int) -> bytes:
    """What an approver signs to withdraw their approval (history entry ``withdraws``) of this
    content: a rejection after an approval, or a change of mind before apply."""
    body = {"type": "govcloud.approval-withdrawal/v1", "request": request, "digest": digest,
            "principal": principal, "withdraws": withdraws}
    return rfc8785.dumps(body) + b"\n"


def removal_statement(*, tenant: str, cidr: str, request: str, principal: str) -> bytes:
    """What a platform principal signs to remove a tenant and release its range."""
    body = {"type": "govcloud.tenant-removal/v1", "tenant": tenant, "cidr": cidr, "request": request,
            "principal": principal}
    return rfc8785.dumps(body) + b"\n"


def principals_statement(*, digest: str, principal: str, version: int | None = None,
                         replaces: str | None = None) -> bytes:
    """What a platform principal signs to record a Principals document. v2 (``version`` given)
    names the version it replaces (its digest, null for the first) and its version number, so a
    copy of an older record does not verify at the end of the chain (it names a version that is
    no longer in force). v1 (digest and principal only) is what was recorded before."""
    if version is None:
        return rfc8785.dumps({"type": "govcloud.principals/v1", "digest": digest, "principal": principal}) + b"\n"
    return rfc8785.dumps({"type": "govcloud.principals/v2", "digest": digest, "replaces": replaces,
                          "version": version, "principal": principal}) + b"\n"


def governed_statement(*, kind: str, digest: str, version: int, replaces: str | None, principal: str) -> bytes:
    """What each signer of a waivers or network-exceptions document signs: the document's digest,
    the version it replaces (digest, null for the first) and its version number for that kind."""
    return rfc8785.dumps({"type": "govcloud.governed/v1", "kind": kind, "digest": digest, "replaces": replaces,
                          "version": version, "principal": principal}) + b"\n"


# --- the directory: a Principals document made searchable -----------------------------------------


@dataclass(frozen=True)
class Directory:
    """One version of the Principals document, indexed. Built only from a document that passed
    :func:`problems` (ids, keys and subjects unique)."""

    digest: str
    by_id: dict[str, Principal]
    by_key: dict[bytes, Principal]
    by_subject: dict[str, Principal]
    service_keys: dict[str, sshsig.PublicKey]
    sample_keys: frozenset[bytes] = field(default_factory=frozenset)
    # Parsed once: every approval's check asks for a principal's keys.
    keys: dict[str, list[sshsig.PublicKey]] = field(default_factory=dict)

    @classmethod
    def build(cls, doc: Principals) -> "Directory":
        # Enforced here, not only by the callers: a document replayed from the history was signed
        # by a platform key, but nothing else vouches that its ids, keys and subjects are unique
        # (found in review: a hand-signed document with a duplicate id silently kept the last one).
        found = problems(doc)
        if found:
            raise ValueError("; ".join(f"{'.'.join(map(str, loc))}: {message}" for loc, _, message in found))
        by_key, samples, keys = {}, set(), {}
        for p in doc.spec.principals:
            for line in p.ssh_keys:
                key = sshsig.parse_public_key(line)
                by_key[key.blob] = p
                keys.setdefault(p.id, []).append(key)
                if SAMPLE_MARK in line:
                    samples.add(key.blob)
        service = {}
        for s in doc.spec.service_keys:
            key = sshsig.parse_public_key(s.public_key)
            service[s.id] = key
            if SAMPLE_MARK in s.public_key:
                samples.add(key.blob)
        return cls(document_digest(doc), {p.id: p for p in doc.spec.principals}, by_key,
                   {s: p for p in doc.spec.principals for s in p.oidc_subjects}, service, frozenset(samples), keys)

    @classmethod
    def from_json(cls, data: dict) -> "Directory":
        return cls.build(Principals.model_validate({"apiVersion": "govcloud/v1", "kind": "Principals", **data}))

    def keys_of(self, principal: str) -> list[sshsig.PublicKey]:
        return self.keys.get(principal, [])

    def service_key_id(self, key: sshsig.PublicKey) -> str | None:
        return next((kid for kid, k in self.service_keys.items() if k == key), None)


def problems(doc: Principals, *, vendors: Iterable[str] | None = None,
             municipalities: Iterable[str] | None = None) -> list[tuple[tuple, str, str]]:
    """Rules across principals: (location, code, message). Every key parses; one key, one OIDC
    subject and one person (by name or e-mail) belong to one principal; a vendor or municipality
    named in a scope exists."""
    out: list[tuple[tuple, str, str]] = []
    seen_ids: dict[str, int] = {}
    seen_keys: dict[bytes, str] = {}
    seen_subjects: dict[str, str] = {}
    seen_people: dict[str, str] = {}
    known_vendors = set(vendors) if vendors is not None else None
    known_munis = set(municipalities) if municipalities is not None else None
    for i, p in enumerate(doc.spec.principals):
        base = ("spec", "principals", i)
        if p.id in seen_ids:
            out.append((base + ("id",), "GC605", f"principal id {p.id} is declared twice"))
        seen_ids.setdefault(p.id, i)
        for label in (person_key(p.display_name), p.email.casefold()):
            other = seen_people.get(label)
            if other is not None and other != p.id:
                out.append((base, "GC605", f"principal {p.id} is the same person as {other} (same name or e-mail): "
                                           "one person, one principal, so two approvals never come from one person"))
            seen_people.setdefault(label, p.id)
        for j, line in enumerate(p.ssh_keys):
            try:
                key = sshsig.parse_public_key(line)
            except sshsig.SignatureError as exc:
                out.append((base + ("sshKeys", j), "GC606", f"not a usable SSH public key: {exc}"))
                continue
            other = seen_keys.get(key.blob)
            if other is not None:
                out.append((base + ("sshKeys", j), "GC606", f"key {key.fingerprint} is also declared for {other}: "
                                                            "a key belongs to one person"))
            seen_keys.setdefault(key.blob, p.id)
        for j, sub in enumerate(p.oidc_subjects):
            other = seen_subjects.get(sub)
            if other is not None and other != p.id:
                out.append((base + ("oidcSubjects", j), "GC605", f"OIDC subject {sub} is also declared for {other}"))
            seen_subjects.setdefault(sub, p.id)
        if p.vendor and known_vendors is not None and p.vendor not in known_vendors:
            out.append((base + ("vendor",), "GC607", f"vendor {p.vendor} is not a vendor of this workspace"))
        for j, code in enumerate(p.municipalities):
            if known_munis is not None and code not in known_munis:
                out.append((base + ("municipalities", j), "GC607", f"municipality {code} is not onboarded"))
    if not any(p.role == "platform" and p.ssh_keys for p in doc.spec.principals):
        out.append((("spec", "principals"), "GC605", "no platform principal with an SSH key: nobody could record "
                                                     "the next change of this document"))
    seen_service: dict[str, bool] = {}
    for i, s in enumerate(doc.spec.service_keys):
        loc = ("spec", "serviceKeys", i)
        if s.id in seen_service:
            out.append((loc + ("id",), "GC605", f"service key {s.id} is declared twice"))
        seen_service[s.id] = True
        try:
            key = sshsig.parse_public_key(s.public_key)
        except sshsig.SignatureError as exc:
            out.append((loc + ("publicKey",), "GC606", f"not a usable SSH public key: {exc}"))
            continue
        if key.algorithm != "ssh-ed25519":
            out.append((loc + ("publicKey",), "GC606", "the service signs with Ed25519: declare an ssh-ed25519 key"))
        if key.blob in seen_keys:
            out.append((loc + ("publicKey",), "GC606", f"the service key is also a key of principal "
                                                       f"{seen_keys[key.blob]}: keep them apart"))
    return out


# --- who signs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySigner:
    """The approver's own SSH private key (``govcloud request approve --key``)."""

    key: sshsig.PrivateKey


@dataclass(frozen=True)
class DetachedSignature:
    """A signature made elsewhere (``ssh-keygen -Y sign -n govcloud-approval`` over the statement
    ``govcloud request statement`` prints), by the principal named."""

    principal: str
    signature: str


@dataclass(frozen=True)
class ServiceSigner:
    """The onboarding service signing for the principal it authenticated."""

    key_id: str
    key: sshsig.PrivateKey
    principal: str
    authentication: str        # "oidc" or "token"


Signer = KeySigner | DetachedSignature | ServiceSigner


# --- four eyes on the directory --------------------------------------------------------------------


@dataclass(frozen=True)
class Grants:
    """What a new version of the directory gives anyone that the version in force did not:
    ``platform`` (reasons) for new or extended platform or security principals and service keys
    — they need two distinct platform principals; ``municipalities`` {code: reason} for new or
    extended approvers of a municipality — they need two platform principals, or one and the
    municipality's current approver. Removing people, keys or codes grants nothing: one platform
    principal revokes (a compromised key must go at once)."""

    platform: tuple[str, ...] = ()
    municipalities: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.platform or self.municipalities)


def _powers(p: Principal) -> tuple[frozenset[bytes], frozenset[str]]:
    keys = set()
    for line in p.ssh_keys:
        try:
            keys.add(sshsig.parse_public_key(line).blob)
        except sshsig.SignatureError:
            keys.add(line.encode())
    return frozenset(keys), frozenset(p.oidc_subjects)


def grants(before: Directory | None, after: Directory) -> Grants:
    """What ``after`` grants over ``before`` (everything when there is no ``before``)."""
    platform: list[str] = []
    codes: dict[str, str] = {}
    for p in after.by_id.values():
        if p.role == "vendor":
            continue                    # vendors request; they never approve nor sign decisions
        old = before.by_id.get(p.id) if before else None
        keys, subjects = _powers(p)
        if old is None or old.role != p.role:
            new_keys, new_subjects, new_codes, what = keys, subjects, set(p.municipalities), "is new"
        else:
            old_keys, old_subjects = _powers(old)
            new_keys, new_subjects = keys - old_keys, subjects - old_subjects
            new_codes, what = set(p.municipalities) - set(old.municipalities), "gains a key or a sign-in"
        if p.role in ("platform", "security"):
            if new_keys or new_subjects:
                platform.append(f"{p.role} principal {p.id} {what}")
            continue
        gained = set(p.municipalities) if (new_keys or new_subjects) else new_codes
        for code in sorted(gained):
            codes.setdefault(code, f"municipality principal {p.id} {what if (new_keys or new_subjects) else 'gains ' + code}")
    for kid, key in after.service_keys.items():
        if before is None or before.service_keys.get(kid) != key:
            platform.append(f"service key {kid} is new or replaced (the service signs for every principal)")
    return Grants(tuple(platform), codes)


def four_eyes_missing(before: Directory | None, after: Directory, signers: list[Principal]) -> list[str]:
    """What the signers of a change from ``before`` to ``after`` lack (empty: enough). The first
    version is signed by one platform principal it declares (nothing exists to ask); every later
    one by at least one platform principal of ``before``, and by two (or one and the
    municipality's current approver) when it grants approval power (:func:`grants`)."""
    platform = {p.id for p in signers if p.role == "platform"}
    if not platform:
        return ["a platform principal"]
    if before is None:
        return []
    granted = grants(before, after)
    missing = []
    if granted.platform and len(platform) < 2:
        missing.append(f"a second platform principal ({'; '.join(granted.platform)})")
    for code, why in sorted(granted.municipalities.items()):
        if len(platform) >= 2:
            continue
        if any(p.role == "municipality" and code in p.municipalities for p in signers):
            continue
        missing.append(f"a second platform principal or municipality {code}'s current approver ({why})")
    return missing

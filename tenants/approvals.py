"""Which approvals count: replaying the history with the principals in force at each entry.

An approval counts only when
1. it is signed, and the signature over its statement (``principals.approval_statement``)
   verifies with a key that the Principals document in force *when it was recorded* declares for
   that principal — or with a declared service key, when the onboarding service signed on behalf
   of the signed-in principal;
2. the principal holds the role and the scope of the approval: ``platform`` for the platform
   approval; ``municipality`` with that code for a municipality's approval. Vendors and the
   security team never approve;
3. at apply time, the principal is still declared with that role and scope (a removed person's
   approval is void), the key that signed is still declared (removing a compromised key voids
   what it signed and was not applied yet), and no two counted approvals come from one principal.

Unsigned approvals (written before approvals were signed) are reported as such and never count.

Replays (docs/trust.md):
4. a signed statement counts once: a second entry carrying a signature over the same statement
   with the same key (a copy of an entry, re-hashed at the end of the chain) is refused;
5. an approval statement (v2) names the head it was signed against; a withdrawal voids every
   approval of that signer for that content signed before it — wherever it sits in the chain — so
   approving again after a withdrawal needs a new signature over a newer head. A v1 approval
   (no head, recorded before) cannot be placed in time: any withdrawal of that content by its
   signer voids it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from govcloud import sshsig
from govcloud.tenants import governed, history
from govcloud.tenants.models import Principal
from govcloud.tenants.principals import (
    APPROVAL_NAMESPACE,
    GOVERNED_NAMESPACE,
    PRINCIPALS_NAMESPACE,
    Directory,
    approval_statement,
    four_eyes_missing,
    governed_statement,
    principals_statement,
    removal_statement,
    withdrawal_statement,
)

Status = Literal["verified", "unsigned", "invalid"]


@dataclass(frozen=True)
class ApprovalRecord:
    seq: int
    time: str
    request: str
    digest: str
    role: str
    municipality: str | None
    by: str
    principal: str | None
    status: Status
    signer: str              # "key SHA256:…", "service <id> for <principal>", "unsigned"
    reason: str = ""
    # The key that made the signature, and the service key id when the service signed: at apply
    # time the key must still be declared, so removing a (compromised) key voids what it signed
    # and has not been applied yet.
    key: sshsig.PublicKey | None = None
    service_key: str | None = None
    head_seq: int = 0            # the entry it was signed against (statement v2); 0: unknown (v1)

    @property
    def slot(self) -> str:
        return "platform" if self.role == "platform" else f"municipality {self.municipality}"


@dataclass
class ChainProof:
    """What replaying the chain proves: every approval with its status, the Principals versions
    and the problems (``(seq, code, message)``: errors; ``warnings``: legacy entries)."""

    approvals: list[ApprovalRecord] = field(default_factory=list)
    directories: dict[int, Directory] = field(default_factory=dict)
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    current: Directory | None = None
    current_seq: int | None = None
    withdrawn: dict[int, int] = field(default_factory=dict)     # approval seq -> withdrawal seq
    applied: dict[str, int] = field(default_factory=dict)       # request name -> its request.applied seq
    # (principal, request, digest) -> seqs of that signer's verified withdrawals of that content
    withdrawals: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    # (namespace, statement SHA-256, key blob) -> the entry that carried it: a statement counts once
    statements: dict[tuple[str, str, bytes], int] = field(default_factory=dict)
    documents: dict[str, list[governed.RecordedVersion]] = field(default_factory=dict)
    principals_v2: bool = False

    def of(self, request: str, digest: str) -> list[ApprovalRecord]:
        return [a for a in self.approvals if a.request == request and a.digest == digest]

    @property
    def by_seq(self) -> dict[int, ApprovalRecord]:
        return {a.seq: a for a in self.approvals}


def may_approve(p: Principal, role: str, municipality: str | None) -> str | None:
    """Why ``p`` may not give this approval, or None when it may."""
    if role == "platform":
        return None if p.role == "platform" else f"{p.id} is a {p.role} principal, not platform"
    if p.role != "municipality":
        return f"{p.id} is a {p.role} principal, not a municipality approver"
    if municipality not in p.municipalities:
        return f"{p.id} approves for {', '.join(p.municipalities)}, not for {municipality}"
    return None


def check_signature(data: dict, directory: Directory | None) -> tuple[Status, str, str]:
    """(status, signer, reason) of one ``request.approved`` entry's data."""
    if "signature" not in data:
        return "unsigned", "unsigned", "unsigned approval (recorded before approvals were signed)"
    if directory is None:
        return "invalid", "?", "signed approval recorded before any Principals document"
    principal = directory.by_id.get(data.get("principal", ""))
    if principal is None:
        return "invalid", "?", f"principal {data.get('principal')} is not declared in the Principals document in force"
    statement = approval_message(data)
    status, signer, reason = _signed_by(data, directory, principal, statement)
    if status != "verified":
        return status, signer, reason
    why = may_approve(principal, data["role"], data.get("municipality"))
    if why:
        return "invalid", signer, why
    if data.get("by") != principal.display_name:
        return "invalid", signer, f"recorded as by {data.get('by')!r}, but {principal.id} is {principal.display_name!r}"
    return "verified", signer, ""


def approval_message(data: dict) -> bytes:
    """The statement a ``request.approved`` entry's signature is over (v2 when it names a head)."""
    return approval_statement(request=data["request"], digest=data["digest"], role=data["role"],
                              municipality=data.get("municipality"), principal=data.get("principal") or "",
                              head=data.get("head"))


def signed_statements(entry: dict) -> list[tuple[bytes, str, str, str]]:
    """(statement, armoured signature, namespace, principal) of every signature an entry carries."""
    data, event = entry["data"], entry["event"]
    if event == "request.approved" and "signature" in data:
        return [(approval_message(data), data["signature"], APPROVAL_NAMESPACE, data.get("principal") or "")]
    if event == "request.approval-withdrawn":
        return [(withdrawal_statement(request=data["request"], digest=data["digest"], principal=data["principal"],
                                      withdraws=data["withdraws"]), data["signature"], APPROVAL_NAMESPACE,
                 data["principal"])]
    if event == "tenant.removed" and data.get("signature"):
        return [(removal_statement(tenant=data["tenant"], cidr=data["cidr"], request=data["request"],
                                   principal=data.get("principal") or ""), data["signature"], APPROVAL_NAMESPACE,
                 data.get("principal") or "")]
    if event == "principals.recorded":
        if data.get("version") is None:
            return [(principals_statement(digest=data["digest"], principal=data.get("principal") or ""),
                     data.get("signature") or "", PRINCIPALS_NAMESPACE, data.get("principal") or "")]
        return [(principals_statement(digest=data["digest"], principal=s["principal"], version=data["version"],
                                      replaces=data.get("replaces")), s["signature"], PRINCIPALS_NAMESPACE,
                 s["principal"]) for s in data.get("signatures") or []]
    if event == "document.recorded":
        return [(governed_statement(kind=data["kind"], digest=data["digest"], version=data["version"],
                                    replaces=data.get("replaces"), principal=s["principal"]), s["signature"],
                 GOVERNED_NAMESPACE, s["principal"]) for s in data["signatures"]]
    return []


def _once(proof: "ChainProof", seq: int, entry: dict) -> str | None:
    """Why ``entry`` re-uses a signed statement an earlier entry carried, or None (and remember
    its statements). The key is the statement and the signing key, not the signature's bytes:
    an ECDSA signature has a second valid spelling, (r, n − s)."""
    for message, signature, namespace, _ in signed_statements(entry):
        try:
            public = sshsig.parse(signature).public
        except sshsig.SignatureError:
            continue                      # the entry's own check reports it
        key = (namespace, hashlib.sha256(message).hexdigest(), public.blob)
        first = proof.statements.get(key)
        if first is not None and first != seq:
            return (f"it carries the same signed statement as entry #{first}: a signature counts once (a copy of an "
                    "entry at another place in the chain is a replay)")
        proof.statements.setdefault(key, seq)
    return None


def _signed_by(data: dict, directory: Directory, principal: Principal, statement: bytes) -> tuple[Status, str, str]:
    """Whether ``data["signature"]`` is ``principal``'s signature of ``statement``: made with a
    key declared for them, or with a declared service key when the service signed for them."""
    try:
        sig = sshsig.parse(data["signature"])
        if data.get("signedBy") == "service":
            key_id = data.get("serviceKey") or ""
            if not key_id:
                return "invalid", "service ?", "signed by the service, but the entry names no serviceKey"
            key = directory.service_keys.get(key_id)
            if key is None:
                return "invalid", f"service {key_id}", f"service key {key_id} is not declared"
            sshsig.verify(statement, data["signature"], APPROVAL_NAMESPACE, key)
            return "verified", f"service {key_id} for {principal.id}", ""
        if sig.public not in directory.keys_of(principal.id):
            return "invalid", f"key {sig.public.fingerprint}", (
                f"key {sig.public.fingerprint} is not declared for {principal.id}")
        sshsig.verify(statement, data["signature"], APPROVAL_NAMESPACE, sig.public)
        return "verified", f"key {sig.public.fingerprint}", ""
    except sshsig.SignatureError as exc:
        return "invalid", "?", f"signature does not verify: {exc}"


def check_withdrawal(data: dict, directory: Directory | None, proof: "ChainProof") -> str | None:
    """Why a ``request.approval-withdrawn`` entry does not verify, or None: it names a verified
    approval of this request and content, not withdrawn already, and is signed by its approver."""
    if directory is None:
        return "withdrawal recorded before any Principals document"
    target = proof.by_seq.get(data["withdraws"])
    if target is None:
        return f"entry #{data['withdraws']} is not an approval"
    if (target.request, target.digest) != (data["request"], data["digest"]):
        return f"entry #{data['withdraws']} approved {target.request} {target.digest}, not this request and content"
    if target.principal != data["principal"]:
        return f"entry #{data['withdraws']} is {target.principal}'s approval, not {data['principal']}'s"
    if target.status != "verified":
        return f"entry #{data['withdraws']} is not a verified approval"
    if target.seq in proof.withdrawn:
        return f"entry #{data['withdraws']} was withdrawn already (#{proof.withdrawn[target.seq]})"
    if data["request"] in proof.applied:
        return f"request {data['request']} was applied already (#{proof.applied[data['request']]})"
    principal = directory.by_id.get(data["principal"])
    if principal is None:
        return f"principal {data['principal']} is not declared in the Principals document in force"
    if data.get("by") != principal.display_name:
        return f"recorded as by {data.get('by')!r}, but {principal.id} is {principal.display_name!r}"
    statement = withdrawal_statement(request=data["request"], digest=data["digest"], principal=principal.id,
                                     withdraws=data["withdraws"])
    status, _, reason = _signed_by(data, directory, principal, statement)
    return None if status == "verified" else reason


def check_removal(data: dict, directory: Directory | None) -> str | None:
    """Why a ``tenant.removed`` entry does not verify, or None. Before any Principals document it
    carries a typed actor only (as approvals did); after, a platform principal's signature."""
    if directory is None:
        return None
    if "signature" not in data:
        return "unsigned removal recorded after removals had to be signed by a platform principal"
    principal = directory.by_id.get(data.get("principal") or "")
    if principal is None:
        return f"principal {data.get('principal')} is not declared in the Principals document in force"
    if principal.role != "platform":
        return f"{principal.id} is a {principal.role} principal: only the platform removes tenants"
    if data.get("by") != principal.display_name:
        return f"recorded as by {data.get('by')!r}, but {principal.id} is {principal.display_name!r}"
    statement = removal_statement(tenant=data["tenant"], cidr=data["cidr"], request=data["request"],
                                  principal=principal.id)
    status, _, reason = _signed_by(data, directory, principal, statement)
    return None if status == "verified" else reason


def check_principals_entry(data: dict, before: Directory | None, *, version: int = 1,
                           v2_seen: bool = False) -> tuple[Directory | None, str | None]:
    """(the new directory, or None; why the entry does not verify, or None). ``version`` is the
    number this record must carry (one more than the versions recorded before it)."""
    try:
        new = Directory.from_json(data["document"])
    except (ValueError, KeyError, TypeError, sshsig.SignatureError) as exc:
        return None, f"the recorded Principals document is not valid ({str(exc).splitlines()[0]})"
    if new.digest != data.get("digest"):
        return None, f"the recorded document has digest {new.digest}, the entry says {data.get('digest')}"
    authority = before or new       # the first version is signed by a platform principal it declares
    which = "previous" if before else "recorded"
    if data.get("version") is None:
        # v1, as recorded before statements named what they replace: still verifiable (a copy is
        # caught as a replayed statement), never after a v2 record (that would be a downgrade).
        if v2_seen:
            return None, "a v1 record (naming no version it replaces) after v2 records: an old record replayed"
        if data.get("principal") is None or data.get("signature") is None or data.get("signatures") is not None:
            return None, "a v1 record carries exactly one principal and signature"
        pairs = [(data["principal"], data["signature"],
                  principals_statement(digest=new.digest, principal=data["principal"]))]
    else:
        if data.get("principal") is not None or data.get("signature") is not None or not data.get("signatures"):
            return None, "a v2 record carries its signers under signatures only"
        if data["version"] != version:
            return None, (f"it says it is version {data['version']} of the Principals document, but the chain is at "
                          f"version {version - 1}: an old record does not verify in a new place")
        want = before.digest if before else None
        if data.get("replaces") != want:
            return None, (f"it replaces {data.get('replaces') or 'nothing'}, but the version in force is "
                          f"{want or 'none'}: " + ("a directory exists, it cannot be bootstrapped again"
                                                   if before and data.get("replaces") is None else
                                                   "an old record does not verify in a new place"))
        pairs = [(s["principal"], s["signature"],
                  principals_statement(digest=new.digest, principal=s["principal"], version=data["version"],
                                       replaces=data.get("replaces"))) for s in data["signatures"]]
    signers: list[Principal] = []
    for pid, signature, message in pairs:
        signer = authority.by_id.get(pid)
        if signer is None or signer.role not in ("platform", "municipality") or (before is None and signer.role != "platform"):
            return None, f"{pid} is not a platform principal of the {which} Principals document"
        if any(p.id == signer.id for p in signers):
            return None, f"{pid} signed twice: four eyes are two people"
        try:
            sig = sshsig.parse(signature)
            if sig.public not in authority.keys_of(signer.id):
                return None, f"key {sig.public.fingerprint} is not declared for {signer.id}"
            sshsig.verify(message, signature, PRINCIPALS_NAMESPACE, sig.public)
        except sshsig.SignatureError as exc:
            return None, f"signature does not verify: {exc}"
        signers.append(signer)
    lacking = four_eyes_missing(before, new, signers)
    if lacking:
        return None, f"the change needs {', '.join(lacking)}"
    return new, None


def check_document_entry(data: dict, directory: Directory | None,
                         previous: governed.RecordedVersion | None, seq: int) -> tuple[governed.RecordedVersion | None, str | None]:
    """(the recorded version, or None; why a ``document.recorded`` entry does not verify)."""
    kind = data["kind"]
    if directory is None:
        return None, "recorded before any Principals document: nobody could have signed it"
    try:
        recorded_digest = governed.digest_of(data["document"])
    except (ValueError, RecursionError):          # rfc8785.CanonicalizationError: no one spelling
        return None, "the recorded document is not canonical JSON (a number beyond ±2^53 − 1?)"
    if recorded_digest != data["digest"] or data["document"].get("kind") != kind:
        return None, f"the recorded document is not the {kind} document with digest {data['digest']}"
    want_version = previous.version + 1 if previous else 1
    if data["version"] != want_version or data.get("replaces") != (previous.digest if previous else None):
        return None, (f"it says version {data['version']} replacing {data.get('replaces') or 'nothing'}, but the "
                      f"chain is at version {want_version - 1} ({previous.digest if previous else 'none'}): an old "
                      "record does not verify in a new place")
    signers: list[Principal] = []
    for s in data["signatures"]:
        p = directory.by_id.get(s["principal"])
        if p is None:
            return None, f"principal {s['principal']} is not declared in the Principals document in force"
        if p.role == "vendor":
            return None, f"{p.id} is a vendor principal: vendors never sign decisions"
        if any(q.id == p.id for q in signers):
            return None, f"{p.id} signed twice: two signatures are two people"
        message = governed_statement(kind=kind, digest=data["digest"], version=data["version"],
                                     replaces=data.get("replaces"), principal=p.id)
        try:
            sig = sshsig.parse(s["signature"])
            if sig.public not in directory.keys_of(p.id):
                return None, f"key {sig.public.fingerprint} is not declared for {p.id}"
            sshsig.verify(message, s["signature"], GOVERNED_NAMESPACE, sig.public)
        except sshsig.SignatureError as exc:
            return None, f"{p.id}'s signature does not verify: {exc}"
        signers.append(p)
    why = governed.floor_problem(signers)
    if why:
        return None, why
    return governed.RecordedVersion(seq, kind, data["digest"], data["document"], data["version"], tuple(signers)), None


def replay(hist: history.History) -> ChainProof:
    proof = ChainProof()
    directory: Directory | None = None
    seq_of: dict[str, int] = {}          # hash -> seq of the entries before the one replayed
    for entry in hist.entries:
        seq, data = entry["seq"], entry["data"]
        # An entry's hash covers its head, so no entry names itself: the head is an earlier entry.
        seq_of[entry["hash"]] = seq
        replayed = _once(proof, seq, entry)
        if entry["event"] == "principals.recorded":
            new, why = (None, replayed) if replayed else check_principals_entry(
                data, directory, version=len(proof.directories) + 1, v2_seen=proof.principals_v2)
            if why:
                proof.problems.append((seq, "GC604", f"entry #{seq} (principals.recorded): {why}"))
                continue
            directory = new
            proof.directories[seq] = new
            proof.current, proof.current_seq = new, seq
            proof.principals_v2 = proof.principals_v2 or data.get("version") is not None
        elif entry["event"] == "document.recorded":
            versions = proof.documents.setdefault(data["kind"], [])
            recorded, why = (None, replayed) if replayed else check_document_entry(
                data, directory, versions[-1] if versions else None, seq)
            if why:
                proof.problems.append((seq, "GC604", f"entry #{seq} (document.recorded {data['kind']}): {why}"))
            else:
                versions.append(recorded)
        elif entry["event"] == "request.approved":
            status, signer, reason = check_signature(data, directory)
            if status == "unsigned" and directory is not None:
                status, reason = "invalid", "unsigned approval recorded after approvals had to be signed"
            head_seq = 0
            if status == "verified" and data.get("head") is not None:
                head_seq = seq_of.get(data["head"], 0)
                if not head_seq:
                    status, reason = "invalid", (f"it was signed against head {data['head'][:12]}…, which is not an "
                                                 "earlier entry of this chain")
            if status == "verified" and replayed:
                status, reason = "invalid", replayed
            if status == "verified":
                later = [w for w in proof.withdrawals.get((data["principal"], data["request"], data["digest"]), [])
                         if w > head_seq]
                if later:
                    status, reason = "invalid", (f"it was signed before its signer withdrew this approval (#{later[0]}): "
                                                 "a withdrawn approval does not come back; approving again is a new "
                                                 "signature")
            key = sshsig.parse(data["signature"]).public if status == "verified" else None
            record = ApprovalRecord(seq, entry["time"], data["request"], data["digest"], data["role"],
                                    data.get("municipality"), data["by"], data.get("principal"), status, signer, reason,
                                    key, data.get("serviceKey") if data.get("signedBy") == "service" else None,
                                    head_seq)
            proof.approvals.append(record)
            if status == "invalid":
                proof.problems.append((seq, "GC604", f"entry #{seq}: approval of {data['request']} ({record.slot}) "
                                                     f"does not verify: {reason}"))
            elif status == "unsigned":
                proof.warnings.append((seq, f"entry #{seq}: approval of {data['request']} ({record.slot}) by "
                                            f"{data['by']!r} is unsigned (recorded before approvals were signed); "
                                            "it proves nothing about who approved"))
        elif entry["event"] == "tenant.removed":
            why = replayed or check_removal(data, directory)
            if why:
                proof.problems.append((seq, "GC604", f"entry #{seq}: removal of tenant {data['tenant']} does not "
                                                     f"verify: {why}"))
        elif entry["event"] == "request.approval-withdrawn":
            why = replayed or check_withdrawal(data, directory, proof)
            if why:
                proof.problems.append((seq, "GC604", f"entry #{seq}: withdrawal of an approval of {data['request']} "
                                                     f"does not verify: {why}"))
                continue
            # A withdrawal voids every earlier approval of that signer for that content, not only
            # the one it names (two approvals when a first was signed with a key removed since).
            content = (data["principal"], data["request"], data["digest"])
            proof.withdrawals.setdefault(content, []).append(seq)
            for a in proof.approvals:
                if (a.principal, a.request, a.digest) == content and a.status == "verified":
                    proof.withdrawn.setdefault(a.seq, seq)
        elif entry["event"] == "request.applied" and data["request"] in proof.applied:
            # A name is applied once (the workflow refuses a second); a second entry would let the
            # ledger compare only the last one with the applied record (found in review).
            proof.problems.append((seq, "GC604", f"entry #{seq}: request {data['request']} was applied already "
                                                 f"(#{proof.applied[data['request']]}): a request name is applied once"))
        elif entry["event"] == "request.applied" and directory is None:
            proof.applied[data["request"]] = seq
        elif entry["event"] == "request.applied":
            proof.applied[data["request"]] = seq
            counted = data.get("approvals")
            if not data.get("municipalities"):
                # A request serves at least one municipality (TenantRequest.spec.municipalities);
                # the ledger checks this list against the applied request itself.
                proof.problems.append((seq, "GC604", f"entry #{seq}: request {data['request']} was applied without "
                                                     "naming the municipalities whose approvals it needed"))
                continue
            if counted is None:
                proof.problems.append((seq, "GC604", f"entry #{seq}: request {data['request']} was applied without "
                                                     "naming the signed approvals it counted"))
                continue
            tally = count(data["request"], data["digest"], data.get("municipalities", []), proof, directory,
                          only=set(counted))
            if tally.missing or sorted(a.seq for a in tally.counted) != sorted(counted):
                why = (f"missing {', '.join(tally.missing)}" if tally.missing else
                       f"entries {sorted(set(counted) - {a.seq for a in tally.counted})} do not count")
                proof.problems.append((seq, "GC604", f"entry #{seq}: request {data['request']} was applied without "
                                                     f"the approvals it needs ({why})"))
    return proof


@dataclass(frozen=True)
class Tally:
    counted: list[ApprovalRecord]
    missing: list[str]
    ignored: list[tuple[ApprovalRecord, str]]


def count(request: str, digest: str, municipalities: list[str], proof: ChainProof, now: Directory | None,
          only: set[int] | None = None) -> Tally:
    """The approvals of this exact request content that count, with the principals of ``now``."""
    counted: list[ApprovalRecord] = []
    ignored: list[tuple[ApprovalRecord, str]] = []
    filled: set[str] = set()
    people: set[str] = set()
    for a in proof.of(request, digest):
        if only is not None and a.seq not in only:
            continue
        if a.status != "verified":
            ignored.append((a, a.reason))
            continue
        if a.seq in proof.withdrawn:
            ignored.append((a, f"withdrawn by its approver (history #{proof.withdrawn[a.seq]})"))
            continue
        p = now.by_id.get(a.principal or "") if now else None
        if p is None:
            ignored.append((a, f"{a.principal} is no longer declared"))
            continue
        why = may_approve(p, a.role, a.municipality)
        if why:
            ignored.append((a, f"no longer allowed: {why}"))
            continue
        if a.service_key is not None and now.service_keys.get(a.service_key) != a.key:
            ignored.append((a, f"service key {a.service_key} that signed it is no longer declared"))
            continue
        if a.service_key is None and a.key is not None and a.key not in now.keys_of(p.id):
            ignored.append((a, f"key {a.key.fingerprint} that signed it is no longer declared for {p.id}"))
            continue
        if a.role == "municipality" and a.municipality not in municipalities:
            ignored.append((a, f"municipality {a.municipality} is not listed in the request"))
            continue
        if a.principal in people:
            ignored.append((a, f"{a.principal} already gave another approval of this request"))
            continue
        if a.slot in filled:
            ignored.append((a, f"{a.slot} is already approved"))
            continue
        counted.append(a)
        filled.add(a.slot)
        people.add(a.principal or "")
    missing = [s for s in ["platform", *(f"municipality {m}" for m in municipalities)] if s not in filled]
    return Tally(counted, missing, ignored)

"""SSH signatures in the format of ``ssh-keygen -Y sign`` (OpenSSH's PROTOCOL.sshsig), so an
approval signed here can be checked by hand with ``ssh-keygen -Y verify`` and one signed by
``ssh-keygen -Y sign`` (a hardware key, an agent) is accepted here.

From PROTOCOL.sshsig (OpenSSH):

    #define MAGIC_PREAMBLE "SSHSIG"
    #define SIG_VERSION    0x01
        byte[6]   MAGIC_PREAMBLE
        uint32    SIG_VERSION
        string    publickey
        string    namespace
        string    reserved
        string    hash_algorithm
        string    signature

    The signature is computed over
        byte[6]   MAGIC_PREAMBLE
        string    namespace
        string    reserved
        string    hash_algorithm
        string    H(message)

    "The hash_algorithm must be 'sha256' or 'sha512'" and the armoured form is the base64 of the
    blob between "-----BEGIN SSH SIGNATURE-----" and "-----END SSH SIGNATURE-----".

Signing uses Ed25519, ECDSA (nistp256/384/521) or RSA private keys that ``cryptography`` loads
(OpenSSH or PEM, optionally with a passphrase); verification accepts the same key types. The
signing library ``sshsig`` on PyPI verifies only, hence this module. Every parse is bounded and
every malformed input is a :class:`SignatureError`, never another exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

MAGIC = b"SSHSIG"
VERSION = 1
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
MAX_ARMORED = 16 * 1024          # an RSA-8192 signature armours to about 2.5 kB
_CURVES = {"nistp256": (ec.SECP256R1(), hashes.SHA256()), "nistp384": (ec.SECP384R1(), hashes.SHA384()),
           "nistp521": (ec.SECP521R1(), hashes.SHA512())}


class SignatureError(ValueError):
    """A signature, key or armour that cannot be read, or a signature that does not verify."""


# --- SSH wire format -----------------------------------------------------------------------------


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise SignatureError("truncated SSH data")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        # RFC 4251 §5: "Unnecessary leading bytes with the value 0 or 255 MUST NOT be included",
        # so one number has one encoding (a padded ECDSA r or s verified the same otherwise).
        raw = self.string()
        if len(raw) > 1 and ((raw[0] == 0 and raw[1] < 0x80) or (raw[0] == 0xFF and raw[1] >= 0x80)):
            raise SignatureError("an SSH mpint with unnecessary leading bytes (RFC 4251 §5)")
        if raw == b"\x00":
            raise SignatureError("an SSH mpint zero is written with no bytes (RFC 4251 §5)")
        return int.from_bytes(raw, "big", signed=True)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise SignatureError("trailing bytes after SSH data")


# --- public keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """An SSH public key: its wire blob and the key object to verify with."""

    blob: bytes
    key: object

    @property
    def algorithm(self) -> str:
        return _Reader(self.blob).string().decode("ascii")

    @property
    def openssh(self) -> str:
        """``ssh-ed25519 AAAA…`` (no comment): the form written in the Principals document."""
        return f"{self.algorithm} {base64.b64encode(self.blob).decode('ascii')}"

    @property
    def fingerprint(self) -> str:
        """``SHA256:…`` as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.blob == self.blob

    def __hash__(self) -> int:
        return hash(self.blob)


def _canonical_b64(text: str, refusal: str) -> bytes:
    """Decode base64 that is written the one way an encoder writes it.

    RFC 4648 §3.5: the pad bits of the last character "MUST be set to zero by conforming
    encoders" and decoders "MAY chose to reject an encoding if the pad bits have not been set to
    zero". We reject: otherwise several different texts are the same signature (a fuzzed
    'w==' -> 'x==' still verified), and a signature recorded in the history must have one
    spelling for its digest to mean anything."""
    try:
        blob = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(refusal) from None
    if base64.b64encode(blob).decode("ascii") != text:
        raise SignatureError(refusal + " (not canonical: the padding bits are not zero)")
    return blob


def parse_public_key(text: str) -> PublicKey:
    """An OpenSSH public key line (``type base64 [comment]``), as in ``id_ed25519.pub``."""
    parts = text.strip().split()
    if len(parts) < 2 or len(text) > 16 * 1024:
        raise SignatureError("not an SSH public key: expected 'TYPE BASE64 [comment]'")
    blob = _canonical_b64(parts[1], "not an SSH public key: the key is not base64")
    key = public_key_from_blob(blob)
    if key.algorithm != parts[0]:
        raise SignatureError(f"the key says it is {key.algorithm}, the line says {parts[0]}")
    return key


def public_key_from_blob(blob: bytes) -> PublicKey:
    """The key a wire blob names, refused unless the blob is the one encoding OpenSSH writes for
    it: otherwise one key would have several blobs and fingerprints (RSA numbers with leading
    zero bytes, compressed ECDSA points), and the Principals rule "a key belongs to one person"
    could be dodged by spelling a key twice."""
    key = _public_key_from_blob(blob)
    if _blob_of(key.key) != blob:
        raise SignatureError(f"not a canonical {key.algorithm} key encoding (write the key as ssh-keygen prints it)")
    return key


def _public_key_from_blob(blob: bytes) -> PublicKey:
    r = _Reader(blob)
    try:
        kind = r.string().decode("ascii")
    except UnicodeDecodeError:
        raise SignatureError("not an SSH public key") from None
    try:
        if kind == "ssh-ed25519":
            raw = r.string()
            r.end()
            if len(raw) != 32:
                raise SignatureError("an Ed25519 key has 32 bytes")
            return PublicKey(blob, ed25519.Ed25519PublicKey.from_public_bytes(raw))
        if kind == "ssh-rsa":
            e, n = r.mpint(), r.mpint()
            r.end()
            if e < 3 or e % 2 == 0 or n <= 0:
                raise SignatureError("not a valid ssh-rsa key (the exponent or modulus is impossible)")
            if n.bit_length() < 2048:
                raise SignatureError("RSA keys shorter than 2048 bits are refused")
            return PublicKey(blob, rsa.RSAPublicNumbers(e, n).public_key())
        if kind.startswith("ecdsa-sha2-"):
            curve = r.string().decode("ascii")
            point = r.string()
            r.end()
            if curve not in _CURVES or kind != f"ecdsa-sha2-{curve}":
                raise SignatureError(f"unsupported ECDSA curve {curve}")
            return PublicKey(blob, ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[curve][0], point))
    except (ValueError, UnsupportedAlgorithm, ArithmeticError) as exc:
        # ArithmeticError: cryptography raises OverflowError on numbers it cannot hold.
        if isinstance(exc, SignatureError):
            raise
        raise SignatureError(f"not a valid {kind} key") from None
    raise SignatureError(f"unsupported SSH key type {kind!r} (use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa)")


def _blob_of(public) -> bytes:
    return base64.b64decode(public.public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).split()[1])


# --- private keys and signing --------------------------------------------------------------------


@dataclass(frozen=True)
class PrivateKey:
    key: object
    public: PublicKey


def load_private_key(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """An OpenSSH (``-----BEGIN OPENSSH PRIVATE KEY-----``) or PEM private key."""
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key = serialization.load_ssh_private_key(data, passphrase)
        else:
            key = serialization.load_pem_private_key(data, passphrase)
    except TypeError:  # cryptography: "password-protected, but password was not provided" and the reverse
        raise SignatureError("the key is encrypted: its passphrase is needed" if passphrase is None else
                             "the key is not encrypted, but a passphrase was given") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        if passphrase is not None:
            raise SignatureError("wrong passphrase, or not a readable private key") from None
        raise SignatureError(f"not a readable private key ({exc})") from None
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise SignatureError("unsupported private key type (use Ed25519, ECDSA or RSA)")
    return PrivateKey(key, public_key_from_blob(_blob_of(key.public_key())))


def _signed_data(message: bytes, namespace: str, hash_alg: str) -> bytes:
    h = hashlib.new(hash_alg, message).digest()
    return MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode()) + _string(h)


def sign(message: bytes, private: PrivateKey, namespace: str) -> str:
    """The armoured signature ``ssh-keygen -Y sign -n NAMESPACE`` would write (sha512, as it does)."""
    if not namespace:
        raise SignatureError("a namespace is required")
    data = _signed_data(message, namespace, "sha512")
    key = private.key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig = _string(b"ssh-ed25519") + _string(key.sign(data))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        name = {"secp256r1": "nistp256", "secp384r1": "nistp384", "secp521r1": "nistp521"}[key.curve.name]
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_CURVES[name][1])))
        inner = _string(_mpint(r)) + _string(_mpint(s))
        sig = _string(f"ecdsa-sha2-{name}".encode()) + _string(inner)
    else:
        sig = _string(b"rsa-sha2-512") + _string(key.sign(data, padding.PKCS1v15(), hashes.SHA512()))
    blob = (MAGIC + struct.pack(">I", VERSION) + _string(private.public.blob) + _string(namespace.encode())
            + _string(b"") + _string(b"sha512") + _string(sig))
    return armor(blob)


def _mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8 or 1, "big")
    return raw


def armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode("ascii")
    lines = [text[i:i + 70] for i in range(0, len(text), 70)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


# --- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    public: PublicKey
    namespace: str
    hash_alg: str
    algorithm: str
    raw: bytes


def parse(armored: str) -> Signature:
    """Read an armoured SSH signature (does not verify it)."""
    if not isinstance(armored, str) or len(armored) > MAX_ARMORED:
        raise SignatureError("not an SSH signature (too long or not text)")
    text = armored.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        raise SignatureError(f"not an SSH signature: expected {BEGIN} … {END}")
    body = "".join(text[len(BEGIN):-len(END)].split())
    blob = _canonical_b64(body, "not an SSH signature: the body is not base64")
    r = _Reader(blob)
    if r.take(6) != MAGIC:
        raise SignatureError("not an SSH signature: no SSHSIG preamble")
    if r.uint32() != VERSION:
        raise SignatureError("unsupported SSH signature version")
    public = public_key_from_blob(r.string())
    try:
        namespace = r.string().decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("the signature's namespace is not text") from None
    # PROTOCOL.sshsig: "string reserved"; ssh-keygen writes it empty. Anything else would give one
    # signature several spellings, so it is refused.
    if r.string():
        raise SignatureError("not an SSH signature: the reserved field is not empty")
    hash_alg = r.string().decode("ascii", "replace")
    if hash_alg not in ("sha256", "sha512"):
        raise SignatureError(f"unsupported hash algorithm {hash_alg!r} (sha256 or sha512)")
    sig = _Reader(r.string())
    r.end()
    algorithm = sig.string().decode("ascii", "replace")
    raw = sig.string()
    sig.end()
    return Signature(public, namespace, hash_alg, algorithm, raw)


def verify(message: bytes, armored: str, namespace: str, allowed: PublicKey | None = None) -> Signature:
    """The parsed signature when it is a valid signature of ``message`` in ``namespace`` (by
    ``allowed`` when given); :class:`SignatureError` saying why not otherwise."""
    sig = parse(armored)
    if sig.namespace != namespace:
        raise SignatureError(f"the signature is for namespace {sig.namespace!r}, not {namespace!r}")
    if allowed is not None and sig.public != allowed:
        raise SignatureError(f"signed by key {sig.public.fingerprint}, not {allowed.fingerprint}")
    data = _signed_data(message, namespace, sig.hash_alg)
    key = sig.public.key
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if sig.algorithm != "ssh-ed25519":
                raise SignatureError(f"an Ed25519 key cannot make a {sig.algorithm} signature")
            key.verify(sig.raw, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            curve = sig.public.algorithm.removeprefix("ecdsa-sha2-")
            if sig.algorithm != sig.public.algorithm:
                raise SignatureError(f"an {sig.public.algorithm} key cannot make a {sig.algorithm} signature")
            inner = _Reader(sig.raw)
            r_, s_ = inner.mpint(), inner.mpint()
            inner.end()
            key.verify(encode_dss_signature(r_, s_), data, ec.ECDSA(_CURVES[curve][1]))
        else:
            # PROTOCOL.sshsig: RSA signatures "must use rsa-sha2-512 or rsa-sha2-256"; never SHA-1.
            digests = {"rsa-sha2-512": hashes.SHA512(), "rsa-sha2-256": hashes.SHA256()}
            if sig.algorithm not in digests:
                raise SignatureError(f"RSA signature algorithm {sig.algorithm!r} is refused (rsa-sha2-256/512)")
            key.verify(sig.raw, data, padding.PKCS1v15(), digests[sig.algorithm])
    except InvalidSignature:
        raise SignatureError("the signature does not match the statement: it was made for other content "
                             "or by another key") from None
    except (ValueError, ArithmeticError) as exc:
        raise SignatureError(f"malformed signature ({exc})") from None
    return sig

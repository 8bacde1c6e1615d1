"""SSH signatures: byte-compatible with ssh-keygen -Y in both directions, and every malformed
input a SignatureError."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govcloud import sshsig
from tests.conftest import SAMPLE_KEYS, examples

NS = "govcloud-approval"
needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="make test installs openssh-client")


def keypair(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test", "-f", str(path)], check=True)
    return path


@needs_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_ssh_keygen_verifies_ours_and_we_verify_its(tmp_path, kind):
    path = keypair(tmp_path, kind)
    private = sshsig.load_private_key(path.read_bytes())
    public = sshsig.parse_public_key(path.with_suffix(".pub").read_text())
    assert private.public == public
    message = b'{"type":"govcloud.approval/v1"}\n'
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "ours.sig").write_text(sshsig.sign(message, private, NS))
    (tmp_path / "allowed").write_text(f"alice {public.openssh}\n")
    verdict = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I", "alice", "-n", NS,
                              "-s", str(tmp_path / "ours.sig")], input=message, capture_output=True)
    assert verdict.returncode == 0, verdict.stderr
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(path), "-n", NS, str(tmp_path / "msg")], check=True)
    theirs = (tmp_path / "msg.sig").read_text()
    assert sshsig.verify(message, theirs, NS, public).public == public
    with pytest.raises(sshsig.SignatureError, match="does not match"):
        sshsig.verify(message + b"x", theirs, NS, public)
    with pytest.raises(sshsig.SignatureError, match="namespace"):
        sshsig.verify(message, theirs, "git", public)


def test_fingerprint_matches_ssh_keygen():
    pub = (SAMPLE_KEYS / "yamada-taro.pub").read_text()
    if shutil.which("ssh-keygen"):
        out = subprocess.run(["ssh-keygen", "-l", "-f", str(SAMPLE_KEYS / "yamada-taro.pub")], capture_output=True,
                             text=True, check=True).stdout
        assert sshsig.parse_public_key(pub).fingerprint == out.split()[1]


def test_another_key_does_not_verify():
    a = sshsig.load_private_key((SAMPLE_KEYS / "yamada-taro").read_bytes())
    b = sshsig.load_private_key((SAMPLE_KEYS / "kobayashi-aiko").read_bytes())
    sig = sshsig.sign(b"m", a, NS)
    with pytest.raises(sshsig.SignatureError, match="not SHA256"):
        sshsig.verify(b"m", sig, NS, b.public)


def test_encrypted_key_needs_its_passphrase(tmp_path):
    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen")
    path = tmp_path / "enc"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret pass", "-f", str(path)], check=True)
    with pytest.raises(sshsig.SignatureError, match="encrypted"):
        sshsig.load_private_key(path.read_bytes())
    assert sshsig.load_private_key(path.read_bytes(), b"s3cret pass").public.algorithm == "ssh-ed25519"
    with pytest.raises(sshsig.SignatureError):
        sshsig.load_private_key(path.read_bytes(), b"wrong")


@pytest.mark.parametrize("text", ["", "ssh-ed25519", "ssh-ed25519 !!!", "ssh-ed25519 AAAA", "ssh-dss AAAAB3NzaC1kc3MAAACB",
                                  "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICP3LxFRDv4bGARqBJgLRNHnh0ZfodVcFdW9e8L6zYU3"])
def test_bad_public_keys_are_refused(text):
    with pytest.raises(sshsig.SignatureError):
        sshsig.parse_public_key(text)


GOOD = sshsig.sign(b"m", sshsig.load_private_key((SAMPLE_KEYS / "yamada-taro").read_bytes()), NS)


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_fuzzed_signatures_never_crash_and_never_verify(data):
    """Any change to a valid armoured signature is refused with SignatureError, never another
    exception, and never verifies."""
    text = GOOD
    how = data.draw(st.sampled_from(["flip", "cut", "insert", "garbage"]))
    if how == "flip":
        body = list(text)
        i = data.draw(st.integers(len(sshsig.BEGIN) + 1, len(text) - len(sshsig.END) - 3))
        body[i] = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
        text = "".join(body)
    elif how == "cut":
        text = text[: data.draw(st.integers(0, len(text) - 1))]
    elif how == "insert":
        i = data.draw(st.integers(0, len(text)))
        text = text[:i] + data.draw(st.text(min_size=1, max_size=20)) + text[i:]
    else:
        text = data.draw(st.text(max_size=400))
    if text == GOOD:
        return
    try:
        sshsig.verify(b"m", text, NS)
    except sshsig.SignatureError:
        return
    # A change that only touched whitespace or the line wrapping may still be the same signature.
    assert "".join(text.split()) == "".join(GOOD.split())


def test_non_canonical_padding_bits_are_refused():
    """Found by the fuzz test in CI: the last base64 character before '==' carries four pad bits;
    changing only those ('w' -> 'x') decodes to the same bytes. RFC 4648 §3.5 lets a decoder
    refuse such text, and we do, so one signature has one spelling."""
    end = GOOD.index(sshsig.END)
    padded = GOOD[:end].rstrip()
    data_end = len(padded.rstrip("="))
    pad = len(padded) - data_end
    assert pad in (1, 2)
    last = padded[data_end - 1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    step = 16 if pad == 2 else 4                 # 4 pad bits before '==', 2 before '='
    same_bytes = alphabet[(alphabet.index(last) // step) * step + (alphabet.index(last) + 1) % step]
    forged = GOOD[:data_end - 1] + same_bytes + GOOD[data_end:]
    assert forged != GOOD
    with pytest.raises(sshsig.SignatureError, match="not canonical"):
        sshsig.verify(b"m", forged, NS)
    sshsig.verify(b"m", GOOD, NS)


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=600))
def test_random_blobs_are_refused(blob):
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(b"m", sshsig.armor(blob), NS)


# --- crafted keys and signatures (found by review: they crashed or had several spellings) ----------

S = sshsig._string
RSA_N = (1 << 2048) - 159


def _rsa_blob(e: bytes, n: bytes) -> bytes:
    return S(b"ssh-rsa") + S(e) + S(n)


def _armour(key_blob: bytes, sig: bytes, reserved: bytes = b"") -> str:
    import struct
    blob = (sshsig.MAGIC + struct.pack(">I", 1) + S(key_blob) + S(NS.encode()) + S(reserved)
            + S(b"sha512") + S(sig))
    return sshsig.armor(blob)


@pytest.mark.parametrize("blob", [
    _rsa_blob(b"\xff", b"\x00" + RSA_N.to_bytes(256, "big")),             # e = -1
    _rsa_blob(b"\x01\x00\x01", b"\xff" + RSA_N.to_bytes(256, "big")),      # n < 0
    _rsa_blob(b"\x02", b"\x00" + RSA_N.to_bytes(256, "big")),              # even exponent
], ids=["negative-e", "negative-n", "even-e"])
def test_impossible_rsa_numbers_are_refused_not_crashed(blob):
    with pytest.raises(sshsig.SignatureError, match="impossible|RFC 4251"):
        sshsig.public_key_from_blob(blob)
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(b"m", _armour(blob, S(b"rsa-sha2-512") + S(b"\x01" * 256)), NS)


def test_one_key_has_one_spelling():
    """A leading zero byte on an RSA number, or a compressed ECDSA point, is the same key written
    another way: refused, so "a key belongs to one person" cannot be dodged."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    public = rsa.generate_private_key(65537, 2048).public_key()
    canonical = sshsig.public_key_from_blob(sshsig._blob_of(public))
    n = public.public_numbers().n
    padded = _rsa_blob(b"\x00\x01\x00\x01", b"\x00" + n.to_bytes((n.bit_length() + 8) // 8, "big"))
    assert padded != canonical.blob
    with pytest.raises(sshsig.SignatureError, match="RFC 4251"):     # a padded mpint
        sshsig.public_key_from_blob(padded)

    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    compressed = point.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    blob = S(b"ecdsa-sha2-nistp256") + S(b"nistp256") + S(compressed)
    with pytest.raises(sshsig.SignatureError, match="canonical"):
        sshsig.public_key_from_blob(blob)


def test_negative_ecdsa_numbers_and_a_used_reserved_field_are_refused():
    key = sshsig.load_private_key((SAMPLE_KEYS / "yamada-taro").read_bytes())
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ecd = ec.generate_private_key(ec.SECP256R1())
    ec_key = sshsig.load_private_key(ecd.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    negative = S(b"ecdsa-sha2-nistp256") + S(S(b"\xff") + S(b"\x01"))
    with pytest.raises(sshsig.SignatureError, match="malformed"):
        sshsig.verify(b"m", _armour(ec_key.public.blob, negative), NS)

    good = sshsig.parse(sshsig.sign(b"m", key, NS))
    inner = S(good.algorithm.encode()) + S(good.raw)
    sshsig.verify(b"m", _armour(key.public.blob, inner), NS)          # the same, rebuilt: verifies
    with pytest.raises(sshsig.SignatureError, match="reserved"):
        sshsig.verify(b"m", _armour(key.public.blob, inner, reserved=b"x"), NS)


def test_a_padded_ecdsa_number_is_refused():
    """RFC 4251 §5: no unnecessary leading bytes in an mpint, so an ECDSA signature's r and s have
    one encoding (found in review: a zero-padded s verified)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ecd = ec.generate_private_key(ec.SECP256R1())
    key = sshsig.load_private_key(ecd.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    good = sshsig.parse(sshsig.sign(b"m", key, NS))
    inner = sshsig._Reader(good.raw)
    r_raw, s_raw = inner.string(), inner.string()
    sshsig.verify(b"m", _armour(key.public.blob, S(good.algorithm.encode()) + S(S(r_raw) + S(s_raw))), NS)
    padded = S(good.algorithm.encode()) + S(S(b"\x00" + r_raw) + S(s_raw))     # one zero byte too many
    with pytest.raises(sshsig.SignatureError, match="RFC 4251"):
        sshsig.verify(b"m", _armour(key.public.blob, padded), NS)

"""Stack shapes: exported plan documents with their identity renamed away, so checkov checks each
shape once however many tenants share it.

A fleet built from shared templates is a few shapes many times over: two tenants of the same cloud,
region and template differ only in their identity — tenant, municipality, vendor and system names,
account ids, resource ids, UUIDs and private addresses. `canonical_form` renames those
consistently and injectively, keeping each value's format (an account id stays 12 digits, a CIDR
stays a CIDR of the same length, and containment and disjointness between the private networks
of a document are preserved), so every check sees the same structure it would see in the
original. Tenants with equal canonical forms share one checkov scan; `canonical_form` also returns
how to map the shape's resources back to each member's own.

Anything that can't be renamed safely (a placeholder already present, an address plan that doesn't
fit) is left as it is: that document is its own shape and is checked verbatim.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass

IDENTITY_TAGS = ("tenant", "municipality", "vendor", "system")
_NAME_PLACEHOLDER = "gcshape{}x"
_ACCOUNT = re.compile(r"(?<![0-9A-Za-z-])[0-9]{12}(?![0-9A-Za-z-])")
_UUID = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f])")
# Generated resource ids: vpc-0a1b…, sg-…, tgw-attach-…, subnet-… (8 to 20 hex digits: EC2 ids, Key Vault names).
_RESOURCE_ID = re.compile(r"(?<![A-Za-z0-9])((?:[a-z]+-)+)([0-9a-f]{8,20})(?![0-9a-f])")
_IPV4 = re.compile(r"(?<![0-9.])((?:[0-9]{1,3}\.){3}[0-9]{1,3})(?:/([0-9]{1,2}))?(?![0-9.])")
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]


@dataclass(frozen=True)
class Shape:
    text: str          # the canonical document, serialised
    digest: str        # sha256 of text: equal digests, one scan
    renamed: bool      # False: the document is its own shape, verbatim


def identity_tokens(doc: dict) -> list[str]:
    """The identity strings of an exported document: the values of its identity tags."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            tags = node.get("tags")
            if isinstance(tags, dict):
                for key in IDENTITY_TAGS:
                    value = tags.get(key)
                    if isinstance(value, str):
                        found.update(v for v in re.split(r"[\s,]+", value) if len(v) >= 3)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return sorted(found, key=lambda t: (-len(t), t))  # longest first: a tenant name before its system


def canonical_form(doc: dict) -> Shape:
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
    renamed = _rename(text, identity_tokens(doc))
    if renamed is None:
        return Shape(text, hashlib.sha256(text.encode()).hexdigest(), False)
    return Shape(renamed, hashlib.sha256(renamed.encode()).hexdigest(), True)


def _rename(text: str, tokens: list[str]) -> str | None:
    if "gcshape" in text:
        return None
    # Names first (they may contain digits an account or address pattern would otherwise see).
    if tokens:  # one alternation, longest first, numbered by first appearance
        names = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, tokens)) + r")(?![A-Za-z0-9])")
        text = _by_first_appearance(names, text, lambda i, m: _NAME_PLACEHOLDER.format(i))
    text = _by_first_appearance(_UUID, text, lambda i, m: f"00000000-0000-4000-8000-{i:012x}")
    text = _by_first_appearance(_ACCOUNT, text, lambda i, m: f"{100000000000 + i}")
    text = _by_first_appearance(_RESOURCE_ID, text, lambda i, m: f"{m.group(1)}{i:0{len(m.group(2))}x}")
    return _rename_private_addresses(text)


def _by_first_appearance(pattern: re.Pattern, text: str, placeholder) -> str:
    seen: dict[str, str] = {}

    def sub(match: re.Match) -> str:
        key = match.group(0)
        if key not in seen:
            seen[key] = placeholder(len(seen), match)
        return seen[key]

    return pattern.sub(sub, text)


def _rename_private_addresses(text: str) -> str | None:
    """Move every private network to a canonical place, preserving prefix lengths, containment and
    disjointness: outermost networks are packed from the start of their private range, inner ones keep
    their offset inside their outermost network."""
    found: list[ipaddress.IPv4Network] = []
    for match in _IPV4.finditer(text):
        try:
            net = ipaddress.ip_network(f"{match.group(1)}/{match.group(2) or 32}", strict=False)
        except ValueError:
            continue
        if any(net.subnet_of(p) for p in _PRIVATE) and net not in found:
            found.append(net)
    outer = [n for n in found if not any(o != n and n.subnet_of(o) for o in found)]
    placed: dict[ipaddress.IPv4Network, ipaddress.IPv4Network] = {}
    cursor = {p: int(p.network_address) for p in _PRIVATE}
    # Largest first, then by first appearance: aligned blocks packed this way leave no gaps, so
    # disjoint networks that fit their pool always fit again.
    for net in sorted(outer, key=lambda n: (n.prefixlen, outer.index(n))):
        pool = next(p for p in _PRIVATE if net.subnet_of(p))
        size = net.num_addresses
        start = -(-cursor[pool] // size) * size          # align to the network's own size
        if start + size > int(pool.broadcast_address) + 1:
            return None
        placed[net] = ipaddress.ip_network((start, net.prefixlen))
        cursor[pool] = start + size

    def sub(match: re.Match) -> str:
        try:
            net = ipaddress.ip_network(f"{match.group(1)}/{match.group(2) or 32}", strict=False)
            address = ipaddress.ip_address(match.group(1))
        except ValueError:
            return match.group(0)
        home = next((o for o in outer if net.subnet_of(o)), None)
        if home is None:
            return match.group(0)
        moved = ipaddress.ip_address(int(placed[home].network_address) + int(address) - int(home.network_address))
        return f"{moved}/{match.group(2)}" if match.group(2) is not None else str(moved)

    return _IPV4.sub(sub, text)

"""Fast CIDR arithmetic for the verifier's hot loops: networks as (first, last) integers.

`ipaddress` objects cost microseconds each; the verifier compares hundreds of thousands of
ranges, so strings are parsed once (cached) into integer ranges."""

from __future__ import annotations

import functools

ANY = (0, 0xFFFFFFFF)
ANY_NAMES = frozenset({"*", "0.0.0.0/0", "Internet", "any", "-1"})
# RFC 1918 and RFC 6598 (shared address space): anything else is the internet.
PRIVATE = ((0x0A000000, 0x0AFFFFFF), (0xAC100000, 0xAC1FFFFF), (0xC0A80000, 0xC0A8FFFF), (0x64400000, 0x647FFFFF))


@functools.lru_cache(maxsize=None)
def span(cidr: str) -> tuple[int, int]:
    if cidr in ANY_NAMES:
        return ANY
    address, _, length = cidr.partition("/")
    a, b, c, d = (int(x) for x in address.split("."))
    bits = int(length) if length else 32
    if not 0 <= bits <= 32 or not all(0 <= x <= 255 for x in (a, b, c, d)):
        raise ValueError(f"{cidr!r} is not an IPv4 network")
    value = (a << 24) | (b << 16) | (c << 8) | d
    mask = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0
    first = value & mask
    return first, first | (~mask & 0xFFFFFFFF)


def prefix_length(cidr: str) -> int:
    if cidr in ANY_NAMES:
        return 0
    return int(cidr.partition("/")[2] or 32)


def overlaps(a: str, b: str) -> bool:
    a0, a1 = span(a)
    b0, b1 = span(b)
    return a0 <= b1 and b0 <= a1


def is_internet(cidr: str) -> bool:
    lo, hi = span(cidr)
    return not any(p0 <= lo and hi <= p1 for p0, p1 in PRIVATE)

"""Fast CIDR arithmetic for the verifier's hot loops: networks as (first, last) integers, both
address families on one number line.

`ipaddress` objects cost microseconds each; the verifier compares hundreds of thousands of
ranges, so strings are parsed once (cached) into integer ranges. IPv4 networks sit at
[0, 2**32), IPv6 networks at [V6_BASE, V6_BASE + 2**128): the families never overlap, as in the
clouds ("Routes to IPv4 and IPv6 addresses or CIDR blocks are independent of each other",
Amazon VPC user guide, How route priority works). `*` and `any` span both families."""

from __future__ import annotations

import functools
import ipaddress

V6_BASE = 1 << 129
V4_ALL = (0, 0xFFFFFFFF)
V6_ALL = (V6_BASE, V6_BASE + (1 << 128) - 1)
ANY = (0, V6_ALL[1])
# Names that mean "every address" wherever a rule or route takes a prefix. `Internet` is the
# NSG service tag: for an allow rule it over-approximates (every address), see nsg_source_span.
ANY_NAMES = frozenset({"*", "Internet", "any", "-1", "Any", "ANY"})
# RFC 1918, RFC 6598 (shared address space) and, for IPv6, RFC 4193 unique local addresses:
# anything else is the internet.
PRIVATE = ((0x0A000000, 0x0AFFFFFF), (0xAC100000, 0xAC1FFFFF), (0xC0A80000, 0xC0A8FFFF), (0x64400000, 0x647FFFFF),
           (V6_BASE + (0xFC << 120), V6_BASE + (0xFE << 120) - 1))


class CidrError(ValueError):
    pass


@functools.lru_cache(maxsize=None)
def _parse(cidr: str) -> tuple[int, int, int, int]:
    """(first, last, prefix length, family bits)."""
    if cidr in ANY_NAMES:
        return ANY[0], ANY[1], 0, 0
    if not isinstance(cidr, str) or not cidr:
        raise CidrError(f"{cidr!r} is not a network")
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise CidrError(f"{cidr!r} is not an IPv4 or IPv6 network") from None
    base = 0 if net.version == 4 else V6_BASE
    return (base + int(net.network_address), base + int(net.broadcast_address), net.prefixlen, net.max_prefixlen)


def span(cidr: str) -> tuple[int, int]:
    first, last, _, _ = _parse(cidr)
    return first, last


def prefix_length(cidr: str) -> int:
    return _parse(cidr)[2]


def family_bits(cidr: str) -> int:
    """32 for IPv4, 128 for IPv6, 0 for the any-name (both families)."""
    return _parse(cidr)[3]


def check(cidr: str) -> str:
    _parse(cidr)
    return cidr


def check_network(cidr: str) -> str:
    """A network as a cloud takes an address block: host bits zero, so ``10.16.0.1/24`` is refused
    instead of silently widened (as the address plan does, tenants/ipam.py parse_cidr)."""
    _parse(cidr)
    if cidr not in ANY_NAMES:
        net = ipaddress.ip_network(cidr, strict=False)
        if int(net.network_address) != int(ipaddress.ip_address(cidr.partition("/")[0])):
            raise CidrError(f"{cidr!r} has host bits set: the network is {net}")
    return cidr


def overlaps(a: str, b: str) -> bool:
    a0, a1 = span(a)
    b0, b1 = span(b)
    return a0 <= b1 and b0 <= a1


def contains(outer: str, inner: str) -> bool:
    o0, o1 = span(outer)
    i0, i1 = span(inner)
    return o0 <= i0 and i1 <= o1


def is_internet(cidr: str) -> bool:
    lo, hi = span(cidr)
    return not any(p0 <= lo and hi <= p1 for p0, p1 in PRIVATE)

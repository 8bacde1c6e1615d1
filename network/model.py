"""The routing and filtering model's parts: route tables, paths and firewalls. The readers
(``readers.py``, ``cloudwan.py``) build them from documents and ``fabric.py`` joins them into a
fabric; this module imports neither, so the readers and the fabric do not import each other."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from govcloud.network.cidr import ANY_NAMES, V6_BASE, contains, family_bits, overlaps, prefix_length, span

BLACKHOLE = "blackhole"


@dataclass
class Table:
    """Routes by prefix, per address family.

    Route selection, as the clouds document it: the most specific route first; for the same
    prefix a static route wins over a propagated one ("Static routes take precedence over
    propagated routes with the same destination", AWS Transit Gateway; Cloud WAN route
    evaluation: "1. The most specific route ... 2. ... Static routes"; Virtual WAN: static routes
    in a hub route table are preferred over propagated routes of the same prefix). Several routes
    of the same prefix and origin are all kept: which one a cloud picks (ECMP or "a
    deterministically random manner") is not something a proof may assume, so every candidate is
    explored and the least safe one counts."""

    name: str
    by_family: dict[int, dict[int, dict[int, list[tuple[str, str, bool]]]]] = field(default_factory=dict)

    def add(self, cidr: str, target: str, static: bool = False) -> None:
        if cidr in ANY_NAMES:
            self.add("0.0.0.0/0", target, static)
            self.add("::/0", target, static)
            return
        bits, length = family_bits(cidr), prefix_length(cidr)
        key = self._key(span(cidr)[0], bits, length)
        candidates = self.by_family.setdefault(bits, {}).setdefault(length, {}).setdefault(key, [])
        if (target, cidr, static) not in candidates:
            candidates.append((target, cidr, static))

    @staticmethod
    def _key(first: int, bits: int, length: int) -> int:
        value = first - V6_BASE if bits == 128 else first
        return value >> (bits - length) if length else 0

    def lookup(self, cidr: str) -> list[tuple[str, str]]:
        """Where traffic to a destination network can go: the preferred routes of the longest
        prefix that covers it, and the preferred routes of every more specific prefix inside it
        (part of the destination follows those)."""
        bits, own_length = family_bits(cidr), prefix_length(cidr)
        if bits == 0:  # "*": no single destination family; look both up, least safe counts
            return self.lookup("0.0.0.0/0") + self.lookup("::/0")
        lengths = self.by_family.get(bits, {})
        first, last = span(cidr)
        out: list[tuple[str, str]] = []
        for length in sorted(lengths, reverse=True):
            if length > own_length:
                keys = self._sorted_keys(bits, length)
                lo, hi = self._key(first, bits, length), self._key(last, bits, length)
                for key in keys[bisect.bisect_left(keys, lo):bisect.bisect_right(keys, hi)]:
                    out += self._preferred(lengths[length][key])
                continue
            hit = lengths[length].get(self._key(first, bits, length))
            if hit:
                return out + self._preferred(hit)
        return out

    @staticmethod
    def _preferred(hit: list[tuple[str, str, bool]]) -> list[tuple[str, str]]:
        static = [(t, c) for t, c, s in hit if s]
        return static or [(t, c) for t, c, _ in hit]

    def _sorted_keys(self, bits: int, length: int) -> list[int]:
        cache = self.__dict__.setdefault("_keys", {})
        keys = cache.get((bits, length))
        if keys is None or len(keys) != len(self.by_family[bits][length]):
            keys = cache[(bits, length)] = sorted(self.by_family[bits][length])
        return keys

    def __len__(self) -> int:
        return sum(len(v) for fam in self.by_family.values() for d in fam.values() for v in d.values())


@dataclass
class Path_:
    hops: list[str]
    inspected: bool
    functions: tuple[str, ...] = ()
    certain: bool = True     # no route candidate on the way leads anywhere else (blackhole, elsewhere, none)


# --- firewalls --------------------------------------------------------------------------------------------------


@dataclass
class Firewall:
    """Ordered rules, first match wins, then the default action.

    AWS Network Firewall with strict rule order: "rules are processed in the order you define";
    a `pass`, `drop` or `reject` rule that matches ends evaluation, `alert` logs and evaluation
    continues; a packet no rule matches gets the policy's stateful default action (`aws:drop_strict`
    drops). Azure Firewall: rule collection groups and collections by priority (lower first),
    the first rule that matches applies its collection's action (Allow or Deny); traffic no rule
    allows is denied. Both become this list (see readers.py)."""

    rules: list[dict]
    default: str = "drop"      # "drop" or "pass"
    name: str = "firewall"
    # Where passed traffic goes (the inspection VPC's firewall-subnet routes, read from the plan):
    # a table whose targets are "wan", "internet: <hop>" or "blackhole"; None: back to the WAN.
    exits: Table | None = None
    internet_exit: str = ""    # the hop that takes traffic to public addresses to the internet, if any

    def exit_for(self, cidr: str) -> list[str]:
        """Where passed traffic to ``cidr`` goes after the firewall ("wan" when no route says)."""
        if self.exits is None:
            return ["wan"]
        return [target for target, _ in self.exits.lookup(cidr)] or ["blackhole"]

    def passes(self, src: str, dst: str, protocol: str, port) -> str | None:
        """The id of what lets (src, dst, protocol, port) through, or None. Least safe: a pass
        rule counts when it overlaps the traffic; a drop rule only stops what it fully covers."""
        for rule in self.rules:
            if rule["action"] == "alert":
                continue
            if rule["action"] == "pass":
                if _proto_ok(rule["protocol"], protocol) and _port_overlaps(rule["port"], port) \
                        and any(overlaps(s, src) for s in rule["sources"]) \
                        and any(overlaps(d, dst) for d in rule["destinations"]):
                    return rule["id"]
            else:  # drop / reject
                if rule["protocol"] in ("*", protocol) and _port_covers(rule["port"], port) \
                        and any(contains(s, src) for s in rule["sources"]) \
                        and any(contains(d, dst) for d in rule["destinations"]):
                    return None
        return f"{self.name} default action pass" if self.default == "pass" else None


def _proto_ok(rule_proto: str, proto: str) -> bool:
    return rule_proto in ("*", proto) or proto == "*"


def _port_overlaps(rule_port, port) -> bool:
    if rule_port == "*" or port == "*":
        return True
    if isinstance(rule_port, tuple):
        return rule_port[0] <= port <= rule_port[1]
    return rule_port == port


def _port_covers(rule_port, port) -> bool:
    if rule_port == "*":
        return True
    if port == "*":
        return False
    if isinstance(rule_port, tuple):
        return rule_port[0] <= port <= rule_port[1]
    return rule_port == port

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from govcloud.tenants import ipam
from govcloud.tenants.models import AddressPlan

POOL = ipaddress.IPv4Network("10.0.0.0/24")


def brute_force_first_free(pool, taken, length):
    """Oracle: every aligned block of `length` in address order; the first that is free."""
    for candidate in pool.subnets(new_prefix=length):
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    return None


operations = st.lists(
    st.one_of(st.tuples(st.just("alloc"), st.integers(24, 30)), st.tuples(st.just("free"), st.integers(0, 50))),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_allocator_matches_brute_force_and_never_overlaps(ops):
    taken: list[ipaddress.IPv4Network] = []
    for op, arg in ops:
        if op == "free":
            if taken:
                taken.pop(arg % len(taken))
            continue
        got = ipam.first_free_block(POOL, taken, arg)
        assert got == brute_force_first_free(POOL, taken, arg)
        if got is not None:
            assert got.subnet_of(POOL) and got.prefixlen == arg
            assert not any(got.overlaps(t) for t in taken)
            taken.append(got)


@given(st.lists(st.integers(20, 26), min_size=1, max_size=30))
def test_allocation_is_deterministic(lengths):
    def run():
        taken = []
        for n in lengths:
            block = ipam.first_free_block(ipaddress.IPv4Network("10.16.0.0/14"), taken, n)
            taken.append(block)
        return taken
    assert run() == run()


def plan(allocations=()):
    return AddressPlan.model_validate({
        "apiVersion": "govcloud/v1", "kind": "AddressPlan", "metadata": {"name": "t"},
        "spec": {"pools": [{"name": "p", "cloud": "aws", "region": "ap-northeast-1", "zone": "mynumber",
                            "cidr": "10.0.0.0/22", "prefixLength": {"min": 22, "max": 26, "default": 24}}]},
        "status": {"allocations": [{"tenant": t, "pool": "p", "cidr": c} for t, c in allocations]},
    })


def test_explicit_cidr_rules():
    p = plan([("a", "10.0.0.0/24")])
    pool = p.spec.pools[0]
    with pytest.raises(ipam.AddressPlanError) as exc:
        ipam.allocate(p, "b", pool, cidr="10.0.0.128/25")
    assert exc.value.code == "GC302" and "a" in str(exc.value)
    with pytest.raises(ipam.AddressPlanError) as exc:
        ipam.allocate(p, "b", pool, cidr="10.9.0.0/24")
    assert exc.value.code == "GC303"
    with pytest.raises(ipam.AddressPlanError) as exc:
        ipam.allocate(p, "b", pool, cidr="10.0.1.1/24")
    assert exc.value.code == "GC101"
    new, net = ipam.allocate(p, "b", pool, cidr="10.0.1.0/24")
    assert str(net) == "10.0.1.0/24" and len(new.status.allocations) == 2


def test_prefix_out_of_range_and_pool_full():
    p = plan()
    pool = p.spec.pools[0]
    with pytest.raises(ipam.AddressPlanError) as exc:
        ipam.allocate(p, "x", pool, prefix_length=28)
    assert exc.value.code == "GC301"
    for i in range(4):
        p, _ = ipam.allocate(p, f"t{i}", pool)
    with pytest.raises(ipam.AddressPlanError) as exc:
        ipam.allocate(p, "t5", pool)
    assert exc.value.code == "GC305" and "no free /24" in str(exc.value)
    released = ipam.release(p, "t1")
    again, net = ipam.allocate(released, "t5", pool)
    assert str(net) == "10.0.1.0/24"


def test_plan_problems_find_overlaps_and_strays():
    p = plan([("a", "10.0.0.0/24"), ("b", "10.0.0.0/25"), ("c", "10.8.0.0/24")])
    codes = sorted(code for _, code, _ in ipam.plan_problems(p))
    assert codes == ["GC302", "GC303"]

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from govcloud.tenants import ipam
from govcloud.tenants.models import AddressPlan
from tests.conftest import examples

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


@settings(max_examples=examples(300), deadline=None)
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


def tenant(name: str, cidr: str, zone: str = "mynumber"):
    from govcloud.tenants.models import Tenant
    return Tenant.model_validate({
        "apiVersion": "govcloud/v1", "kind": "Tenant", "metadata": {"name": name},
        "spec": {"request": "r", "vendor": "v", "system": "juki", "usage": "dedicated", "municipalities": ["131016"],
                 "cloud": "aws", "region": "ap-northeast-1", "environment": "prod", "zone": zone,
                 "network": {"cidr": cidr}},
    })


blocks = [str(b) for b in ipaddress.IPv4Network("10.0.0.0/22").subnets(new_prefix=26)]


@settings(max_examples=examples(200), deadline=None)
@given(docs=st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(blocks + ["10.0.0.0/24", "10.0.1.0/25"]), max_size=5),
       allocs=st.dictionaries(st.sampled_from("abcdef"), st.sampled_from(blocks + ["10.0.0.0/24"]), max_size=5))
def test_documents_and_allocations_agree_exactly(docs, allocs):
    """Oracle: no problem iff the allocations are exactly the tenant documents' CIDRs and no two
    documents overlap."""
    tenants = {n: tenant(n, c) for n, c in docs.items()}
    found = ipam.document_problems(plan(sorted(allocs.items())), tenants)
    nets = [ipaddress.IPv4Network(c) for c in docs.values()]
    overlap = any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert (found == []) == (docs == allocs and not overlap), found
    if overlap:
        assert any(code == "GC302" for _, _, code, _ in found)


def test_document_problems_name_the_tenant_file_and_the_plan():
    found = ipam.document_problems(plan([("a", "10.0.0.0/24"), ("ghost", "10.0.1.0/24")]),
                                   {"a": tenant("a", "10.0.2.0/24"), "b": tenant("b", "10.0.2.0/25")})
    codes = {(where, code) for where, _, code, _ in found}
    assert ("a", "GC307") in codes and ("plan", "GC307") in codes and ("b", "GC302") in codes
    assert any("ghost" in message for where, _, _, message in found if where == "plan")
    wrong_pool = ipam.document_problems(plan([("a", "10.0.0.0/24")]), {"a": tenant("a", "10.0.0.0/24", zone="lgwan")})
    assert wrong_pool and wrong_pool[0][2] == "GC304"


def test_render_plan_keeps_comments_and_writes_the_status():
    original = ("# header comment\napiVersion: govcloud/v1\nkind: AddressPlan\nmetadata: {name: t}\nspec:\n"
                "  pools:\n  # the only pool\n  - name: p   # trailing\n    cloud: aws\n    region: ap-northeast-1\n"
                "    zone: mynumber\n    cidr: 10.0.0.0/22\n    prefixLength: {min: 22, max: 26, default: 24}\n"
                "status:\n  allocations: []\n")
    new = ipam.with_history_head(plan([("0123", "10.0.0.0/24")]), "ab" * 32)
    text = ipam.render_plan(new, original, "# fresh\n")
    assert "# header comment" in text and "# the only pool" in text and "# trailing" in text
    import yaml
    data = yaml.safe_load(text)
    assert data["status"] == {"allocations": [{"tenant": "0123", "pool": "p", "cidr": "10.0.0.0/24"}],
                              "historyHead": "ab" * 32}
    assert "tenant: '0123'" in text                          # a number-like name stays a string
    assert ipam.render_plan(new, None, "# fresh\n").startswith("# fresh\n")

"""Fuzz the compiled documents: any node replaced by any JSON value gives a verdict or a named
refusal (NetworkInputError, exit 1; Unsupported, exit 2), never another exception."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings, strategies as st

from govcloud.network.errors import NetworkInputError, Unsupported
from govcloud.network.fabric import fabrics_from_documents
from govcloud.network.verify import verify
from tests.network.test_mutation_suite import sample  # noqa: F401
from tests.conftest import examples

JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=False, allow_infinity=False)
                    | st.sampled_from(["", "*", "::/0", "10.0.0.0/8", "999.1.1.1/33", "mynumber", "blackhole", "tcp",
                                       "131016-juki-prod", "rt-mynumber", "Allow", "Deny", "Inbound", "VirtualNetwork"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=6)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data())
def test_any_replaced_node_gives_a_verdict_or_a_named_refusal(sample, data):  # noqa: F811
    docs = copy.deepcopy(sample)
    name = data.draw(st.sampled_from(sorted(k for k in docs if k != "manifest.json")))
    candidates = list(paths(docs[name]))[:400]
    where = data.draw(st.sampled_from(candidates))
    value = data.draw(JSON)
    if not where:
        docs[name] = value
    else:
        node = docs[name]
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
    try:
        for fabric in fabrics_from_documents(docs):
            verify(fabric)
    except (NetworkInputError, Unsupported):
        pass

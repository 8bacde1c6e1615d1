"""Plan and reachability comparison (report/change.py) on small hand-made plans."""

from hypothesis import given
from hypothesis import strategies as st

from govcloud.report.change import compare, property_changes, summary_lines
from govcloud.report.model import NetworkProof, Reachable
from govcloud.report.render import translator


def plan(stack, tenant, resources):
    return {"govcloud": {"stack": stack, "tenant": tenant},
            "deployment": {"resources": [{"urn": f"urn:pulumi:{stack}::govcloud::{t}::{n}", "type": t, "inputs": i}
                                         for t, n, i in resources]}}


def proof(*triples):
    return NetworkProof("v", True, [], [], {}, [Reachable(s, sz, d, dz, "tcp", p, "", [f"{s} (source)", f"tenant {d}"])
                                               for s, sz, d, dz, p in triples], [], [], [], [])


def test_create_update_delete_with_property_paths():
    before = [plan("tenant-a", "a", [("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/24", "tags": {"zone": "lgwan"}}),
                                     ("aws:s3/bucket:Bucket", "old", {"bucket": "x"})]),
              plan("tenant-gone", "gone", [("aws:ec2/vpc:Vpc", "vpc", {})])]
    after = [plan("tenant-a", "a", [("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.1.0/24", "tags": {"zone": "lgwan"}}),
                                    ("aws:kms/key:Key", "new", {"enableKeyRotation": True})]),
             plan("tenant-new", "new", [("aws:ec2/vpc:Vpc", "vpc", {})])]
    change = compare("HEAD~1", before, after, {"a": {"x": 1}, "gone": {}}, {"a": {"x": 1}, "new": {}},
                     proof(("s1", "internet", "a", "lgwan", 443)),
                     proof(("s1", "internet", "a", "lgwan", 443), ("s2", "internet", "new", "mynumber", 443)))
    by = {s.stack: s for s in change.stacks}
    assert (by["tenant-a"].creates, by["tenant-a"].updates, by["tenant-a"].deletes) == (1, 1, 1)
    update = next(r for r in by["tenant-a"].resources if r.action == "update")
    assert [(p.path, p.before, p.after) for p in update.properties] == [("cidrBlock", '"10.0.0.0/24"', '"10.0.1.0/24"')]
    assert by["tenant-new"].action == "create" and by["tenant-gone"].action == "delete"
    assert change.tenants_added == ["new"] and change.tenants_removed == ["gone"] and change.tenants_changed == ["a"]
    assert [(p.source, p.destination) for p in change.paths_opened] == [("s2", "new")] and not change.paths_closed
    assert [p.destination for p in change.opened_into_mynumber] == ["new"]
    text = "\n".join(summary_lines(change, translator("en")))
    assert "ATTENTION: 1 new path(s) reach the My Number zone; 1 of them from another zone" in text and "~ aws:ec2/vpc:Vpc vpc: cidrBlock" in text
    assert "マイナンバー利用事務系へ新しい経路が 1 件" in "\n".join(summary_lines(change, translator("ja")))


def test_identical_plans_are_no_change():
    plans = [plan("network", None, [("aws:ec2/vpc:Vpc", "v", {"a": [1, 2]})])]
    change = compare("base", plans, plans, {}, {}, proof(), proof())
    assert change.stacks == [] and change.unchanged_stacks == 1 and not change.paths_opened
    assert "no new path reaches the My Number zone" in "\n".join(summary_lines(change, translator("en")))


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                           max_leaves=12)


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=4), st.dictionaries(st.text(max_size=4), json_values, max_size=4))
def test_property_changes_are_empty_exactly_when_equal(a, b):
    assert (property_changes(a, b) == []) == (a == b)

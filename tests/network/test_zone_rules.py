"""The zone rules and the security models are data (network/data/zone-rules.yaml,
security-models.yaml): read once with a schema, refused by name when wrong, and a change to a model
is what changes the verdict — no code edit."""

from __future__ import annotations

import copy

import pytest

from govcloud.network import zone_rules
from govcloud.network.errors import NetworkInputError
from govcloud.network.fabric import fabrics_from_documents
from govcloud.network.verify import verify
from tests.network.test_mutation_suite import ATT, att, nsg, sample, share

__all__ = ["sample"]

ZAIMU = "011002-zaimu-prod"
SAPPORO_INTERNET_SITE, SAPPORO_INTERNET = "site:011002:honcho-internet", "172.19.64.0/19"


def test_every_model_says_what_lgwan_may_reach():
    table = zone_rules.zone_rules()
    assert set(table.models) == {"alpha", "alpha-prime", "beta", "beta-prime"}
    for model in table.models.values():
        assert table.quotes[model.quote].ja and table.quotes[model.quote].source.startswith(("総務省", "ガイドライン"))
    # every model: the internet zone never reaches LGWAN directly, LGWAN never reaches My Number
    access = zone_rules.security_model_table()
    for name, rows in access.items():
        assert rows["internet"]["lgwan"] in ("never", "screen-transfer"), name
        assert rows["lgwan"]["mynumber"] == "never" and rows["mynumber"]["lgwan"] == "never", name
        assert rows["lgwan"]["lgwan"] == "direct", name
    # α / α′: LGWAN terminals use the internet zone through screen transfer; β / β′ the other way round
    assert access["alpha"]["lgwan"]["internet"] == access["alpha-prime"]["lgwan"]["internet"] == "screen-transfer"
    assert access["beta"]["internet"]["lgwan"] == access["beta-prime"]["internet"]["lgwan"] == "screen-transfer"
    rules = {r.invariant: r for r in table.rules}
    assert rules["internet-never-reaches-lgwan"].access == "intake"
    assert set(rules["internet-never-reaches-lgwan"].channels) == {"sanitised-mail", "screen-transfer"}
    assert rules["lgwan-never-reaches-internet"].access == "never"


def test_the_strictest_reading_without_a_model():
    assert zone_rules.site_access(None, "lgwan", "lgwan") == "direct"
    assert zone_rules.site_access(None, "internet", "lgwan") == "never"         # alpha says never, beta screen transfer
    assert zone_rules.site_access("beta", "internet", "lgwan") == "screen-transfer"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A copy of network/data that a test may edit; the cached tables are reloaded from it."""
    import shutil

    from govcloud.network import intent

    target = tmp_path / "data"
    shutil.copytree(intent.DATA, target)
    monkeypatch.setattr(intent, "DATA", target)
    for fn in (zone_rules.zone_rules, zone_rules.security_model_table, intent.security_models):
        fn.cache_clear()
    yield target
    for fn in (zone_rules.zone_rules, zone_rules.security_model_table, intent.security_models):
        fn.cache_clear()


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("invariant: lgwan-never-reaches-mynumber", "invariant: lgwan-never-reaches-mars"),
     "'lgwan-never-reaches-mars' is not in invariants.yaml"),
    (lambda t: t.replace("    access: never\n", "    access: sometimes\n", 1), "rules.1.access"),
    (lambda t: t.replace("    quote: mynumber-split\n", "    quote: nowhere\n", 1), "no quote 'nowhere'"),
    (lambda t: t.replace("    to: lgwan\n", "    to: intranet\n", 1), "zone 'intranet' is not in the zone catalogue"),
    (lambda t: t.replace("  beta-prime:\n    quote: beta-model\n", "  gamma:\n    quote: beta-model\n"),
     "models must be exactly those of security-models.yaml"),
])
def test_a_bad_rule_file_is_refused_by_name(data_dir, edit, message):
    path = data_dir / "zone-rules.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(zone_rules.ZoneRulesError, match="zone-rules.yaml") as caught:
        zone_rules.zone_rules()
    assert message in str(caught.value)


def _violations(docs):
    return [v for f in fabrics_from_documents(docs) for v in verify(f).violations]


def test_a_model_change_is_a_data_change(sample, data_dir):
    """札幌市 (alpha) reaching its LGWAN tenant from its internet site breaks the alpha model; with
    the model table edited to allow it (a reviewable change to security-models.yaml), the model
    rule no longer fires — the zone rule (internet never reaches LGWAN) still does."""
    docs = copy.deepcopy(sample)
    share("internet", ["lgwan"])(docs)
    nsg(ZAIMU, name="x", priority=200, sourceAddressPrefix=SAPPORO_INTERNET)(docs)
    model_hits = [v for v in _violations(docs) if v.invariant == "site-access-per-security-model"]
    assert [v.source for v in model_hits] == [SAPPORO_INTERNET_SITE] and "alpha model" in model_hits[0].message
    models = data_dir / "security-models.yaml"
    text = models.read_text(encoding="utf-8")
    alpha = text.index("  alpha:")
    edited = text[:alpha] + text[alpha:].replace("internet: {mynumber: never, lgwan: never, internet: direct}",
                                                 "internet: {mynumber: never, lgwan: direct, internet: direct}", 1)
    models.write_text(edited, encoding="utf-8")
    zone_rules.security_model_table.cache_clear()
    found = _violations(copy.deepcopy(docs))
    assert not [v for v in found if v.invariant == "site-access-per-security-model"]
    assert [v for v in found if v.invariant == "internet-never-reaches-lgwan"]


def test_a_site_model_the_table_does_not_know_is_refused(sample):
    docs = copy.deepcopy(sample)
    att(docs, SAPPORO_INTERNET_SITE)["securityModel"] = "gamma"
    with pytest.raises(NetworkInputError, match=r"'gamma' is not a security model of a site .*securityModel"):
        _violations(docs)
    docs = copy.deepcopy(sample)
    att(docs, ZAIMU)["securityModel"] = "alpha"            # a tenant has no model: its municipalities' sites do
    with pytest.raises(NetworkInputError, match="not a security model of a site"):
        _violations(docs)
    assert ATT == "attachments.json"

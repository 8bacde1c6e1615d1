import datetime as dt
import itertools

import pytest

from govcloud.diagnostics import DiagnosticError
from govcloud.network.intent import build_intent, security_models
from govcloud.tenants.models import Municipality, Tenant
from govcloud.tenants.registry import Registry

ZONES = ["mynumber", "lgwan", "internet"]


def muni(model: str) -> Municipality:
    return Municipality.model_validate({
        "apiVersion": "govcloud/v1", "kind": "Municipality", "metadata": {"name": "131016"},
        "spec": {"code": "131016", "name": "千代田区", "prefecture": "東京都", "securityModel": model,
                 "sites": [{"name": f"s-{z}", "zone": z, "cidrs": [f"172.16.{i}.0/24"], "connection": "directconnect"}
                           for i, z in enumerate(ZONES)]}})


def tenant(name: str, zone: str, cidr: str, munis=("131016",), publishes=(), consumes=(), cloud="aws") -> Tenant:
    return Tenant.model_validate({
        "apiVersion": "govcloud/v1", "kind": "Tenant", "metadata": {"name": name},
        "spec": {"request": "r", "vendor": "v", "system": "juki", "usage": "shared", "municipalities": list(munis),
                 "cloud": cloud, "region": "ap-northeast-1" if cloud == "aws" else "japaneast", "environment": "prod",
                 "zone": zone, "network": {"cidr": cidr},
                 "apis": {"publishes": [{"name": n, "port": p} for n, p in publishes],
                          "consumes": [{"tenant": t, "api": a} for t, a in consumes]}}})


@pytest.mark.parametrize("model", ["alpha", "alpha-prime", "beta", "beta-prime"])
def test_each_security_model_table_decides_site_access(model):
    tenants = {f"t-{z}-prod": tenant(f"t-{z}-prod", z, f"10.{i}.0.0/24") for i, z in enumerate(ZONES)}
    intent = build_intent(Registry({"131016": muni(model)}, {}, tenants, None), [])
    table = security_models()[model]
    flows = {(f.source, f.destination) for f in intent.flows}
    for site_zone, tenant_zone in itertools.product(ZONES, ZONES):
        pair = (f"site:131016:s-{site_zone}", f"t-{tenant_zone}-prod")
        assert (pair in flows) == (table[site_zone][tenant_zone] == "direct"), (model, pair)
        assert (pair in intent.screen_transfer) == (table[site_zone][tenant_zone] == "screen-transfer")
    # the three-layer separation itself: no model lets a non-mynumber site into the mynumber zone
    assert all(table[z]["mynumber"] == "never" for z in ("lgwan", "internet"))


def test_api_flow_needs_both_sides_and_cross_zone_needs_an_exception():
    provider = tenant("p-prod", "mynumber", "10.0.0.0/24", publishes=[("juki-api", 8443)])
    consumer = tenant("c-prod", "mynumber", "10.0.1.0/24", consumes=[("p", "juki-api")])
    intent = build_intent(Registry({}, {}, {t.name: t for t in (provider, consumer)}, None), [])
    assert [(f.source, f.destination, f.port, f.reason) for f in intent.flows] == [("c-prod", "p-prod", 8443, "api:juki-api")]
    outsider = tenant("c-prod", "internet", "10.0.1.0/24", consumes=[("p", "juki-api")])
    with pytest.raises(DiagnosticError) as exc:
        build_intent(Registry({}, {}, {t.name: t for t in (provider, outsider)}, None), [])
    assert "GC701" in str(exc.value) and "needs an exception" in str(exc.value)


def test_expired_exception_stops_applying():
    from govcloud.network.intent import FlowException

    provider = tenant("p-prod", "mynumber", "10.0.0.0/24")
    source = tenant("s-prod", "internet", "10.0.1.0/24")
    exc = FlowException.model_validate({"id": "intake", "from": {"tenant": "s-prod"}, "to": {"tenant": "p-prod"},
                                        "port": 443, "justification": "application intake", "approver": "x",
                                        "expires": "2026-03-31"})
    reg = Registry({}, {}, {t.name: t for t in (provider, source)}, None)
    before = build_intent(reg, [exc], today=dt.date(2026, 3, 31))
    after = build_intent(reg, [exc], today=dt.date(2026, 4, 1))
    assert [f.reason for f in before.flows] == ["exception:intake"] and before.flows[0].via_inspection
    assert after.flows == [] and [e.id for e in after.expired] == ["intake"]


def test_an_external_exception_source_needs_a_known_zone():
    from govcloud.network.intent import FlowException

    provider = tenant("p-prod", "mynumber", "10.0.0.0/24")
    exc = FlowException.model_validate({"id": "intake", "from": {"name": "partner", "zone": "Internet",
                                                                 "cidrs": ["203.0.113.0/24"]},
                                        "to": {"tenant": "p-prod"}, "port": 443,
                                        "justification": "application intake", "approver": "x", "expires": "2099-03-31"})
    reg = Registry({}, {}, {provider.name: provider}, None)
    with pytest.raises(DiagnosticError) as err:
        build_intent(reg, [exc], today=dt.date(2026, 3, 31))
    assert "GC207" in str(err.value) and "unknown zone 'Internet'" in str(err.value)

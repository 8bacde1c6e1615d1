"""`govcloud validate` reads every document kind and every rule across documents, in one pass."""

import re
from pathlib import Path

import pytest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def failing(run, *codes: str) -> str:
    proc = run("validate")
    assert proc.returncode == 1, proc.stdout
    assert "Traceback" not in proc.stderr
    for code in codes:
        assert f"[{code}]" in proc.stderr, proc.stderr
    return proc.stderr


def test_sample_workspace_is_valid(run):
    proc = run("validate")
    assert proc.returncode == 0, proc.stderr
    assert "workspace valid" in proc.stdout
    assert "[GC704]" in proc.stderr  # the expired eLTAX pilot exception is a warning, not an error


def test_deleted_municipality_with_live_tenants(ws, run):
    (ws / "tenants/municipalities/271004.yaml").unlink()
    err = failing(run, "GC202")
    assert "271004-denshi-shinsei-prod.yaml" in err and "not onboarded" in err


def test_revoked_contract(ws, run):
    edit(ws / "tenants/municipalities/131016.yaml", "{vendor: minato-data, systems: [kokuho, kaigo, koki-korei]}",
         "{vendor: minato-data, systems: [kaigo, koki-korei]}")
    err = failing(run, "GC210")
    assert "minato-data-kokuho-prod.yaml" in err


def test_expired_contract(ws, run):
    edit(ws / "tenants/municipalities/131016.yaml", "systems: [kokuho, kaigo, koki-korei]}",
         "systems: [kokuho, kaigo, koki-korei], until: 2020-03-31}")
    failing(run, "GC210")


def test_deleted_vendor(ws, run):
    (ws / "tenants/vendors/hikari-solutions.yaml").unlink()
    failing(run, "GC204")


def test_metadata_name_must_be_the_code(ws, run):
    edit(ws / "tenants/municipalities/141003.yaml", 'name: "141003"', 'name: "141004"')
    assert "metadata.name" in failing(run, "GC105")


@pytest.mark.parametrize("old,new,code", [
    ("172.18.64.0/19", "172.16.32.0/24", "GC302"),     # another municipality's site
    ("172.18.64.0/19", "172.18.40.0/24", "GC302"),     # its own site
    ("172.18.64.0/19", "10.64.0.0/24", "GC302"),       # a tenant pool
    ("198.51.100.12", "172.18.64.1", "GC308"),         # gateway inside a routed network
    ("198.51.100.12", "172.18.64.0", "GC308"),         # the network address of its site
    ("198.51.100.12", "255.255.255.255", "GC308"),
    ("198.51.100.12", "224.0.0.5", "GC308"),
    ("198.51.100.12", "300.1.1.1", "GC308"),
])
def test_sites_and_gateways(ws, run, old, new, code):
    edit(ws / "tenants/municipalities/141003.yaml", old, new)
    failing(run, code)


def test_network_exceptions_are_typed_and_checked(ws, run):
    path = ws / "tenants/network-exceptions.yaml"
    edit(path, "port: 443", "port: true")
    edit(path, "to: {tenant: 131016-juki-prod}", "to: {tenant: no-such-tenant}")
    err = failing(run, "GC101")
    assert "spec.exceptions[0].port" in err


def test_network_exception_unknown_tenant_and_duplicate_id(ws, run):
    path = ws / "tenants/network-exceptions.yaml"
    edit(path, "to: {tenant: minato-data-kokuho-prod}", "to: {tenant: no-such-tenant}")
    edit(path, "id: eltax-intake-pilot", "id: osaka-shinsei-to-kokuho-intake")
    failing(run, "GC702", "GC703")


def write_waivers(ws: Path, body: str) -> None:
    (ws / "policies").mkdir(exist_ok=True)
    (ws / "policies/waivers.yaml").write_text(
        "apiVersion: govcloud/v1\nkind: Waivers\nmetadata: {name: waivers}\nspec:\n  waivers:\n" + body, encoding="utf-8")


def test_waivers_are_read_by_validate(ws, run):
    write_waivers(ws, "    - {control: GC-NOPE-1, tenant: '131016-*', reason: 移行期間中のため一時的に許容する, "
                      "approver: x, expires: 2099-01-01}\n"
                      "    - {control: GC-AWS-CT-2, reason: short, approver: x, expires: 1}\n")
    err = failing(run, "GC801", "GC101")
    assert "spec.waivers[1].expires" in err and "spec.waivers[1].reason" in err


def test_applied_record_names(ws, run):
    applied = ws / "tenants/requests/applied"
    (applied / "chiyoda-juki.yaml").rename(applied / "chiyoda-juki-old.yaml")
    err = failing(run, "GC105", "GC403")
    assert "131016-juki-prod.yaml" in err


def test_every_error_of_every_file_in_one_pass(ws, run):
    """Shape errors in one document do not hide rule errors in it or in the others."""
    tenant = ws / "tenants/active/131016-juki-prod.yaml"
    edit(tenant, "region: ap-northeast-1", "region: us-east-1")
    edit(tenant, "zone: mynumber", "zone: [mynumber]")
    edit(ws / "tenants/vendors/hikari-solutions.yaml", "corporateNumber:", "corporateNumbr:")
    (ws / "tenants/municipalities/271004.yaml").unlink()
    err = failing(run, "GC206", "GC101", "GC102", "GC202")
    assert re.search(r"131016-juki-prod.yaml:\d+:\d+: error\[GC206\]", err)
    # The broken vendor's tenants are not also reported as having an unknown vendor.
    assert "vendor 'hikari-solutions' of this tenant is not onboarded" not in err

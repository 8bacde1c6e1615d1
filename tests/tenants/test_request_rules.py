"""Each kind of bad request exits 1 through the real CLI, naming the code, line and field, and
leaves the workspace byte-for-byte unchanged."""

from pathlib import Path

import pytest

from tests.conftest import REPO, tree_snapshot

BASE = (REPO / "tenants/requests/examples/hachioji-juki.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


CASES = [
    # id, (old, new) replacements, code, field, needle for the expected line
    ("unknown-field", [("  cloud: aws", "  cloud: aws\n  colour: blue")], "GC102", "spec.colour", "colour:"),
    ("missing-field", [("  vendor: asuka-systems\n", "")], "GC101", "spec.vendor", "spec:"),
    ("bad-type", [("prefixLength: 24", "prefixLength: big")], "GC101", "spec.network.prefixLength", "prefixLength"),
    ("check-digit", [('["132012"]', '["132013"]')], "GC201", "spec.municipalities[0]", "132013"),
    ("not-onboarded", [('["132012"]', '["401307"]')], "GC202", "spec.municipalities[0]", "401307"),
    ("unknown-system", [("system: juki ", "system: jyuki")], "GC203", "spec.system", "jyuki"),
    ("unknown-vendor", [("vendor: asuka-systems", "vendor: asuka")], "GC204", "spec.vendor", "vendor: asuka"),
    ("unknown-cloud", [("cloud: aws", "cloud: gcp")], "GC205", "spec.cloud", "cloud: gcp"),
    ("region-outside-japan", [("region: ap-northeast-1", "region: us-east-1")], "GC206", "spec.region", "us-east-1"),
    ("region-of-other-cloud", [("region: ap-northeast-1", "region: japaneast")], "GC206", "spec.region", "japaneast"),
    ("unknown-zone", [("  cloud: aws", "  cloud: aws\n  zone: dmz")], "GC207", "spec.zone", "zone: dmz"),
    ("standard-system-outside-mynumber", [("  cloud: aws", "  cloud: aws\n  zone: internet")], "GC207", "spec.zone", "zone: internet"),
    ("unknown-environment", [("[prod, staging]", "[prod, uat]")], "GC208", "spec.environments[1]", "uat"),
    ("dedicated-two-municipalities", [('["132012"]', '["132012", "131016"]')], "GC209", "spec.municipalities", "municipalities:"),
    ("vendor-not-contracted", [("vendor: asuka-systems", "vendor: hikari-solutions")], "GC210", "spec.municipalities[0]", '"132012"'),
    ("tenant-exists", [('["132012"]', '["131016"]'), ("name: hachioji-juki", "name: chiyoda-juki-2")], "GC211", "spec.environments[0]", "environments:"),
    ("prefix-outside-pool-range", [("prefixLength: 24", "prefixLength: 27")], "GC301", "spec.network.prefixLength", "prefixLength"),
    ("cidr-overlaps", [("{prefixLength: 24}", "{cidr: {prod: 10.16.0.0/24, staging: 10.16.64.0/24}}")], "GC302", "spec.network.cidr.prod", "cidr:"),
    ("cidr-outside-pool", [("{prefixLength: 24}", "{cidr: {prod: 10.99.0.0/24, staging: 10.16.64.0/24}}")], "GC303", "spec.network.cidr.prod", "cidr:"),
    ("one-cidr-two-environments", [("{prefixLength: 24}", "{cidr: 10.16.64.0/24}")], "GC306", "spec.network.cidr", "cidr:"),
    ("consumes-unknown-tenant", [("  apis:\n", "  apis:\n    consumes: [{tenant: 999999-nothing, api: x}]\n")], "GC401", "spec.apis.consumes[0].tenant", "999999-nothing"),
    ("consumes-unknown-api", [("  apis:\n", "  apis:\n    consumes: [{tenant: 131016-juki, api: nope}]\n")], "GC401", "spec.apis.consumes[0].api", "nope"),
    ("consumes-env-suffix", [("  apis:\n", "  apis:\n    consumes: [{tenant: 131016-juki-prod, api: juki-api}]\n")], "GC401", "spec.apis.consumes[0].tenant", "131016-juki-prod"),
    ("secret-value", [("  cloud: aws", "  cloud: aws\n  description: 'deploy key AKIAIOSFODNN7EXAMPLE'")], "GC501", "spec.description", "AKIA"),
    ("secret-key", [("protocol: https}", "protocol: https, token: abc}")], "GC501", "spec.apis.publishes[0].token", "token"),
    ("duplicate-key", [("  cloud: aws", "  cloud: aws\n  cloud: azure")], "GC104", "spec.cloud", "cloud: azure"),
    ("bad-metadata-name", [("name: hachioji-juki", "name: Hachioji_Juki")], "GC101", "metadata.name", "Hachioji"),
    ("wrong-kind", [("kind: TenantRequest", "kind: Tenant")], "GC103", "kind", "kind:"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_with_line_and_field(case, ws: Path, run):
    _, replacements, code, field, needle = case
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = ws / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    before = tree_snapshot(ws)
    proc = run("request", "validate", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    expected = f"bad.yaml:{line_of(text, needle)}:"
    lines = [l for l in proc.stderr.splitlines() if f"error[{code}]" in l]
    assert lines, proc.stderr
    assert any(expected in l and f"(field {field})" in l for l in lines), proc.stderr
    # apply refuses the same request and leaves everything as it was
    assert run("request", "apply", str(path)).returncode == 1
    assert tree_snapshot(ws) == before


def test_name_over_cloud_limit(ws: Path, run):
    vendor = ws / "tenants/vendors/abcdefghij-klmnopqrs.yaml"
    vendor.write_text((ws / "tenants/vendors/minato-data.yaml").read_text().replace("name: minato-data", "name: abcdefghij-klmnopqrs"))
    muni = ws / "tenants/municipalities/131016.yaml"
    muni.write_text(muni.read_text().replace("  contracts:\n", "  contracts:\n    - {vendor: abcdefghij-klmnopqrs, systems: [kotei-shisanzei]}\n"))
    text = BASE.replace("vendor: asuka-systems", "vendor: abcdefghij-klmnopqrs").replace("system: juki ", "system: kotei-shisanzei ") \
        .replace("usage: dedicated", "usage: shared").replace('["132012"]', '["131016"]')
    path = ws / "long.yaml"
    path.write_text(text)
    proc = run("request", "validate", str(path))
    assert proc.returncode == 1
    (line,) = [l for l in proc.stderr.splitlines() if "error[GC402]" in l]
    assert "abcdefghij-klmnopqrs-kotei-shisanzei-prod has 41" not in line  # prod fits (41) ...
    assert "abcdefghij-klmnopqrs-kotei-shisanzei-staging has 44 characters; aws allows 41" in line  # ... staging does not
    assert "Organizations account name" in line


def test_several_errors_in_one_file_are_reported_together(ws: Path, run):
    text = BASE.replace("region: ap-northeast-1", "region: eu-west-1").replace("system: juki ", "system: jyuki") \
        .replace("  cloud: aws", "  cloud: aws\n  colour: red")
    path = ws / "many.yaml"
    path.write_text(text)
    proc = run("request", "validate", str(path))
    codes = {c for c in ("GC102", "GC203", "GC206") if f"error[{c}]" in proc.stderr}
    assert proc.returncode == 1 and codes == {"GC102", "GC203", "GC206"}, proc.stderr


def test_examples_validate(run):
    proc = run("request", "validate", *sorted(str(p) for p in (REPO / "tenants/requests/examples").glob("*.yaml")), root=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok ") == 4


def test_json_output_for_ci(ws: Path, run):
    path = ws / "bad.yaml"
    path.write_text(BASE.replace("cloud: aws", "cloud: gcp"))
    import json
    proc = run("request", "validate", "--format", "json", str(path))
    assert proc.returncode == 1
    (result,) = json.loads(proc.stdout)
    assert result["valid"] is False and result["errors"][0]["code"] == "GC205"

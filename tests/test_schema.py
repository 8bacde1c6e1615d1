import json

import jsonschema
import pytest

from govcloud.tenants import schema
from govcloud.yamlio import load_file
from tests.conftest import REPO


def test_published_schemas_are_up_to_date():
    for path, text in schema.published_files().items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make schemas`"


@pytest.mark.parametrize("folder,kind", [
    ("tenants/requests/examples", "TenantRequest"), ("tenants/municipalities", "Municipality"),
    ("tenants/vendors", "Vendor"), ("tenants/active", "Tenant"),
])
def test_samples_validate_against_the_published_schema(folder, kind):
    validator = jsonschema.Draft202012Validator(schema.json_schema(kind))
    files = sorted((REPO / folder).glob("*.yaml"))
    assert files
    for path in files:
        data, _ = load_file(path)
        assert not list(validator.iter_errors(data)), path
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")


def test_schema_rejects_what_the_cli_rejects():
    validator = jsonschema.Draft202012Validator(schema.json_schema("TenantRequest"))
    data, _ = load_file(REPO / "tenants/requests/examples/hachioji-juki.yaml")
    data["spec"]["region"] = "us-east-1"
    data["spec"]["colour"] = "blue"
    messages = " ".join(e.message for e in validator.iter_errors(data))
    assert "us-east-1" in messages and "colour" in messages


def test_schema_command(run):
    proc = run("schema", "TenantRequest", check=True)
    assert json.loads(proc.stdout)["title"] == "TenantRequest"
    unknown = run("schema", "Nope")           # a usage error: the kind is one of a closed set
    assert unknown.returncode == 2 and "KIND" in unknown.stderr and "TenantRequest" in unknown.stderr

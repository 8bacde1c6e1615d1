"""The secret scanner: the shapes it must catch, comments included, and that it stays linear."""

import pytest

from govcloud.tenants import secrets
from govcloud.tenants.secrets import find_secrets, find_secrets_in_text, is_secret_key, secret_in
from tests.conftest import approve_args

CAUGHT = {
    "AKIAIOSFODNN7EXAMPLE": "an AWS access key id",
    "-----BEGIN RSA PRIVATE KEY-----": "a private key",
    "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abcdefghijklmnopqrstuvwxyz012345==": "an Azure storage account key",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=AbCdEf0123456789+/=":
        "a connection string with a shared access key",
    "Server=db.example;User Id=sa;Password=hunter2;": "a connection string with a password",
    "Driver={ODBC};Uid=app;Pwd = s3cret;": "a connection string with a password",
    "https://acct.blob.core.windows.net/c?sv=2022&sig=AbCdEfGhIjKlMnOpQrStUv%3D": "an Azure shared access signature",
    "ghp_" + "a1B2c3D4e5" * 4: "a GitHub token",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789": "a GitHub fine-grained token",
    "xoxb-1234567890-abcdef": "a Slack token",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U": "a JSON web token",
    '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SessionToken": "FwoGZXIvYXdzEJr"}': "AWS temporary credentials",
    "aws_session_token = IQoJb3JpZ2luX2VjEJr//////////": "AWS temporary credentials",
    "postgres://admin:hunter2@db.internal:5432/x": "a password in a URL",
}

NOT_SECRETS = [
    "住民基本台帳システム (本番)", "https://example.jp/path?x=1", "password policy: 12 characters",
    "SharedAccessKeyName=RootManageSharedAccessKey", "eyJ alone", "the aws region is ap-northeast-1",
]


@pytest.mark.parametrize("text,what", CAUGHT.items())
def test_common_shapes_are_caught(text, what):
    assert secret_in(text) == what or secret_in(text) is not None
    assert list(find_secrets({"spec": {"description": f"see {text} here"}}))
    # Every pattern is behind the trigger literal: the pre-filter never hides a secret.
    assert secrets._TRIGGER.search(text)


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_ordinary_text_passes(text):
    assert secret_in(text) is None


@pytest.mark.parametrize("key", ["password", "clientSecret", "client_secret", "SecretAccessKey", "SessionToken",
                                 "AWS_SESSION_TOKEN", "connection-string", "AccessKeyId", "apiKey"])
def test_secret_field_names_in_any_spelling(key):
    assert is_secret_key(key)
    assert list(find_secrets({"spec": {key: "x"}}))


def test_comments_are_scanned_with_their_line():
    text = "a: 1\n# token ghp_" + "x1" * 20 + "\nb: 2\n"
    assert list(find_secrets_in_text(text)) == [(2, "text looks like a GitHub token")]


def test_request_with_a_secret_in_a_comment_is_refused_and_not_applied(ws, run):
    request = ws / "req.yaml"
    source = (ws / "tenants/requests/applied/chiyoda-juki.yaml").read_text()
    request.write_text(source.replace("chiyoda-juki", "chiyoda-juki2").replace("prod", "dev", 1)
                       + "# deploy key: github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz\n")
    proc = run("request", "validate", str(request))
    assert proc.returncode == 1 and "GC501" in proc.stderr and "fine-grained" in proc.stderr
    run(*approve_args(str(request), "platform"))
    proc = run("request", "apply", str(request))
    assert proc.returncode == 1
    assert not (ws / "tenants/requests/applied/chiyoda-juki2.yaml").exists()

"""Refuse anything that looks like a credential in a document users commit to git.

Requests travel through e-mail, tickets and repositories; a key pasted into one is a leaked key.
Three things are inspected: field names (``password: ...``, ``SecretAccessKey: ...``), every
string value, and the raw text of the file, so a key in a YAML comment is found too (a comment
is copied with the file into ``tenants/requests/applied/``).

Linear time, whatever the input: the scanner runs while the workspace lock is held, so a long
hostile description must not stall every other command. Every pattern either has only bounded
repetitions, or starts at a token boundary (a look-behind that fails inside a run of token
characters), so the regular-expression engine examines each character a bounded number of
times. ``benchmarks/secret_scan.py`` measures it on multi-megabyte adversarial inputs.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

# Field names, compared after removing separators and case: "client_secret", "clientSecret",
# "Client-Secret" are the same name.
SECRET_KEY_SUFFIXES = (
    "password", "passwd", "pwd", "secret", "secretkey", "privatekey", "apikey", "accesskey", "accesskeyid",
    "secretaccesskey", "clientsecret", "token", "authtoken", "sessiontoken", "securitytoken",
    "connectionstring", "credential", "credentials", "sharedaccesskey", "accountkey",
)
_SEPARATORS = re.compile(r"[\s_.-]+")

_TOKEN = "A-Za-z0-9_-"
SECRET_VALUE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----")),
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/=]{20}")),
    # Azure Service Bus / Event Hubs / IoT Hub connection strings: "...;SharedAccessKey=<base64>".
    ("a connection string with a shared access key", re.compile(r"(?i)SharedAccessKey=[A-Za-z0-9+/=]{8}")),
    # ADO.NET / ODBC / JDBC connection strings: "Server=...;User Id=...;Password=...;".
    ("a connection string with a password", re.compile(r"(?i)(?<![A-Za-z0-9])(?:password|pwd)[ \t]{0,3}=[ \t]{0,3}[^;\s'\"]")),
    ("an Azure shared access signature", re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{20}")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30}")),
    # Fine-grained personal access tokens: github_pat_<22 characters>_<59 characters>.
    ("a GitHub fine-grained token", re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{30}")),
    ("a Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10}")),
    ("a JSON web token", re.compile(rf"(?<![{_TOKEN}])eyJ[{_TOKEN}]{{8,}}\.eyJ[{_TOKEN}]{{8,}}\.[{_TOKEN}]{{8}}")),
    ("an AWS secret access key",
     re.compile(r"(?i)aws.{0,20}?(?:secret|key).{0,5}?[\"'=: ]{1,5}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")),
    # STS credentials pasted as JSON or as CLI/credentials-file lines:
    # {"AccessKeyId": "ASIA...", "SecretAccessKey": "...", "SessionToken": "..."}.
    ("AWS temporary credentials",
     re.compile(r"(?i)(?<![A-Za-z0-9])(?:aws_)?(?:secret_?access_?key|session_?token|security_?token)[\"']?"
                r"[ \t]{0,5}[:=][ \t]{0,5}[\"']?[A-Za-z0-9/+=]{16}")),
    ("a password in a URL",
     re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^/\s:@]{1,256}:[^/\s@]{1,256}@")),
]
# A literal every pattern above contains: one cheap pass finds the candidates, and the patterns
# run only on the strings and lines it finds (a test keeps this list a superset).
_TRIGGER = re.compile(r"AKIA|ASIA|AGPA|AIDA|AROA|ANPA|-----BEGIN |AccountKey=|SharedAccessKey=|password|pwd|sig="
                      r"|gh[pousr]_|github_pat_|xox|eyJ|aws|secret|session|security|://", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    name = _SEPARATORS.sub("", key).lower()
    return any(name.endswith(suffix) for suffix in SECRET_KEY_SUFFIXES)


def secret_in(text: str) -> str | None:
    """What kind of credential ``text`` contains, or None."""
    if not _TRIGGER.search(text):
        return None
    for what, pattern in SECRET_VALUE_PATTERNS:
        if pattern.search(text):
            return what
    return None


def find_secrets(data: Any, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Yield (field path, what was found) for every suspected secret in parsed data.
    Iterative: the depth of the data is bounded by the loader, but a walk should not rely on it."""
    stack: list[tuple[Any, tuple]] = [(data, loc)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key, value in reversed(list(node.items())):
                child = where + (key,)
                stack.append((value, child))
                if isinstance(key, str) and is_secret_key(key) and value not in (None, "", [], {}):
                    stack.append((_KeyHit(key), child))
        elif isinstance(node, list):
            stack.extend((item, where + (i,)) for i, item in reversed(list(enumerate(node))))
        elif isinstance(node, _KeyHit):
            yield where, f"field {node.key!r} looks like a credential"
        elif isinstance(node, str):
            what = secret_in(node)
            if what:
                yield where, f"value looks like {what}"


class _KeyHit:
    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key


def find_secrets_in_text(text: str) -> Iterator[tuple[int, str]]:
    """Yield (1-based line, what was found) for suspected secrets anywhere in a file's text,
    comments included; one finding per line."""
    checked = 0                      # lines up to here were judged whole: never scan a line twice
    line, pos = 1, 0
    for match in _TRIGGER.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        if line <= checked:
            continue
        checked = line
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        what = secret_in(text[start:end if end != -1 else len(text)])
        if what:
            yield line, f"text looks like {what}"

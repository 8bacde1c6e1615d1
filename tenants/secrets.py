"""Refuse anything that looks like a credential in a document users commit to git.

Requests travel through e-mail, tickets and repositories; a key pasted into one is a leaked key.
Both keys (``password: ...``) and values (an AWS access key id anywhere) are inspected.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

SECRET_KEY_NAMES = re.compile(
    r"(?i)^(?:.*[_-])?(password|passwd|pwd|secret|secret[_-]?key|private[_-]?key|api[_-]?key|access[_-]?key"
    r"|client[_-]?secret|token|auth[_-]?token|connection[_-]?string|credentials?)$"
)

SECRET_VALUE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}")),
    ("an Azure shared access signature", re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{20,}")),
    ("a GitHub token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("an AWS secret access key", re.compile(r"(?i)aws.{0,20}?(?:secret|key).{0,5}?[\"'=: ]+[A-Za-z0-9/+]{40}\b")),
    ("a password in a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
]


def find_secrets(data: Any, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Yield (field path, what was found) for every suspected secret."""
    if isinstance(data, dict):
        for key, value in data.items():
            child = loc + (key,)
            if isinstance(key, str) and SECRET_KEY_NAMES.match(key) and value not in (None, "", [], {}):
                yield child, f"field {key!r} looks like a credential"
            yield from find_secrets(value, child)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from find_secrets(item, loc + (index,))
    elif isinstance(data, str):
        for what, pattern in SECRET_VALUE_PATTERNS:
            if pattern.search(data):
                yield loc, f"value looks like {what}"
                break

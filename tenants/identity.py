"""Who is the same person: names compared by meaning, not by bytes.

An approver typed as "Sato Hanako", "sato hanako ", "Ｓａｔｏ　Ｈａｎａｋｏ" (full-width letters and an
ideographic space) or with a zero-width space inside is one person. The comparison key is Unicode
NFKC (compatibility forms: widths, ligatures, ideographic space), invisible format characters
(category Cf: zero-width space and joiners, BOM) removed, case folded, and white space collapsed
and trimmed — the "NFKC_Casefold" idea of Unicode UAX #15 / UAX #31 identifier matching. Cross-script
look-alikes (Cyrillic "а" for Latin "a") are not folded: that needs the UTS #39 confusables data,
and the design's answer to identity is declared principals with signatures (DESIGN.md §4).
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def person_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", text.casefold())
    return _SPACE.sub(" ", text).strip()


def same_person(a: str, b: str) -> bool:
    return person_key(a) == person_key(b)

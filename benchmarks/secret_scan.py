"""Benchmark the secret scanner (govcloud.tenants.secrets) on multi-megabyte inputs.

    .venv/bin/python benchmarks/secret_scan.py [--megabytes 4]

The scanner runs while `request apply` holds the workspace lock, so it must be linear in its
input whatever the input is. For each shape below it times the field walk (one string value of
the given size, as a long `description`) and the text scan (the same text as a file, comments
included) at size/4, size/2 and size. Linear time shows as a constant microseconds-per-kilobyte
column; the old scanner's URL pattern was quadratic (a 200 kB run of letters took seconds).
Prints JSON; exit 1 when a shape grows worse than linearly (time at full size more than 8x the
time at a quarter, leaving room for noise) or when the planted secret is not found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from govcloud.tenants.secrets import find_secrets, find_secrets_in_text  # noqa: E402

SECRET = "ghp_" + "A1b2C3d4E5" * 4

# Inputs that defeat naive patterns: long runs a pattern's prefix matches at every position.
SHAPES = {
    "prose": lambda n: ("住民記録システムの申請 description text, " * (n // 40 + 1))[:n],
    "letters": lambda n: "a" * n,                            # URL scheme prefix at every position
    "url-like": lambda n: ("http:" * (n // 5 + 1))[:n],       # scheme-ish runs without //
    "userinfo": lambda n: ("x://" + "u" * 200 + ":") * (n // 205 + 1),
    "jwt-prefix": lambda n: ("eyJ" * (n // 3 + 1))[:n],       # JSON-web-token start everywhere
    "aws-words": lambda n: ("aws secret key " * (n // 15 + 1))[:n],
    "password=": lambda n: ("password=;" * (n // 10 + 1))[:n],
    "many-lines": lambda n: ("akiaxxxx # comment\n" * (n // 19 + 1))[:n],
    "base64": lambda n: ("QUJD" * (n // 4 + 1))[:n],
}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=4.0)
    args = parser.parse_args()
    size = int(args.megabytes * 1024 * 1024)
    report, ok = {"megabytes": args.megabytes, "shapes": {}}, True
    for name, make in SHAPES.items():
        rows = {}
        for fraction in (4, 2, 1):
            n = size // fraction
            text = make(n)[:n]
            planted = text + "\n" + SECRET + "\n"
            walk = timed(lambda: list(find_secrets({"spec": {"description": text}})))
            scan = timed(lambda: list(find_secrets_in_text(text)))
            found = any("GitHub" in what for _, what in find_secrets_in_text(planted)) and \
                any("GitHub" in what for _, what in find_secrets({"d": planted}))
            rows[n] = {"walk_s": round(walk, 4), "text_s": round(scan, 4),
                       "us_per_kb": round((walk + scan) / (n / 1024) * 1e6, 2), "planted_found": found}
            ok &= found
        quarter, full = rows[size // 4], rows[size]
        growth = (full["walk_s"] + full["text_s"]) / max(quarter["walk_s"] + quarter["text_s"], 1e-4)
        rows["growth_quarter_to_full"] = round(growth, 2)
        ok &= growth <= 8
        report["shapes"][name] = rows
    report["linear"] = ok
    print(json.dumps(report, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

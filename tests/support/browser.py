"""Where the browser tests find Chromium and how they start it: Debian's package, headless, with
nothing that phones home (the guide's flags), driven by Playwright through `executable_path`
(never `playwright install`, which downloads its own browser)."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("GOVCLOUD_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync"]
MISSING = f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package (apt-get install chromium)"

"""Installing govcloud must not put generic top-level modules (network, templates, ...) into
site-packages: everything lives under the one `govcloud` namespace."""

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_has_only_the_govcloud_namespace(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("govcloud-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("govcloud-")}
    assert tops == {"govcloud"}
    for sub in ("tenants", "templates", "network", "policies", "stacks"):
        assert f"govcloud/{sub}/__init__.py" in names
    assert "govcloud/tenants/catalogues/systems.yaml" in names
    for asset in ("templates/report.html.j2", "assets/report.css", "assets/report.js", "data/labels.yaml"):
        assert f"govcloud/report/{asset}" in names     # the report renders from these at run time
    assert not any(n.startswith("govcloud/tenants/active/") for n in names)  # sample data stays out

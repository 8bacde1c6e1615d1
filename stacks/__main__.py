"""Entry point when the Pulumi CLI runs this project (Pulumi.yaml: `main: stacks/`)."""

try:
    import govcloud  # noqa: F401
except ModuleNotFoundError:
    # `pulumi install` installs requirements.txt: the hashed locks, in pip's hash-checking mode,
    # which cannot name this checkout (a folder has no single file to hash). Install the checkout
    # itself as `make setup` does: editable, without dependencies (the lock brought them) and
    # without an isolated build (which would fetch an unlocked setuptools). Then read the new .pth
    # file, which the interpreter would otherwise only read at its next start.
    import site
    import subprocess
    import sys
    from pathlib import Path

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "-e", str(Path(__file__).resolve().parent.parent)], check=True)
    for folder in site.getsitepackages():
        site.addsitedir(folder)

import pulumi

from govcloud.stacks.program import build, network_inputs
from govcloud.tenants.registry import load_registry
from govcloud.workspace import find_workspace

workspace = find_workspace()
registry = load_registry(workspace)
build(pulumi.get_stack(), registry, network_inputs(workspace, registry))

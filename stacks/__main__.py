"""Entry point when the Pulumi CLI runs this project (Pulumi.yaml: `main: stacks/`)."""

import pulumi

from govcloud.stacks.program import build
from govcloud.tenants.registry import load_registry
from govcloud.workspace import find_workspace

build(pulumi.get_stack(), load_registry(find_workspace()))

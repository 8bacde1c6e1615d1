"""Entry point when the Pulumi CLI runs this project (Pulumi.yaml: `main: stacks/`)."""

import pulumi

from govcloud.stacks.program import build, network_inputs
from govcloud.tenants.registry import load_registry
from govcloud.workspace import find_workspace

workspace = find_workspace()
registry = load_registry(workspace)
build(pulumi.get_stack(), registry, network_inputs(workspace, registry))

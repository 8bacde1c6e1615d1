"""The real path: drive the same stacks with the Pulumi CLI through the Automation API.

The Automation API shells out to the ``pulumi`` CLI and its provider plugins; on a machine
without them, ``govcloud plan`` gives the offline plan instead.
"""

from __future__ import annotations

import shutil
from typing import Callable

from govcloud.diagnostics import UsageError
from govcloud.workspace import Workspace

INSTALL_HINT = (
    "the Pulumi CLI is not installed (no `pulumi` on PATH). Install it — "
    "https://www.pulumi.com/docs/iac/download-install/ (Linux: `curl -fsSL https://get.pulumi.com | sh`, "
    "macOS: `brew install pulumi/tap/pulumi`) — log in with `pulumi login`, and run this again. "
    "Without the CLI, `govcloud plan --stack NAME` plans the stack offline."
)


def require_cli() -> str:
    path = shutil.which("pulumi")
    if path is None:
        raise UsageError(INSTALL_HINT)
    return path


def select_stack(ws: Workspace, stack: str, org: str | None = None):
    from pulumi import automation as auto

    require_cli()
    name = f"{org}/{stack}" if org else stack
    # LocalWorkspace runs the project in ws.root: Pulumi.yaml (main: stacks/) picks the program.
    return auto.create_or_select_stack(stack_name=name, work_dir=str(ws.root))


def preview(ws: Workspace, stack: str, *, org: str | None = None, on_output: Callable[[str], None] = print,
            policy_packs: list[str] | None = None):
    target = select_stack(ws, stack, org)
    return target.preview(on_output=on_output, policy_packs=policy_packs or None, diff=True)


def up(ws: Workspace, stack: str, *, org: str | None = None, on_output: Callable[[str], None] = print,
       policy_packs: list[str] | None = None):
    target = select_stack(ws, stack, org)
    return target.up(on_output=on_output, policy_packs=policy_packs or None)

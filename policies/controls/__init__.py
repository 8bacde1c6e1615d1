"""One plain function per control of policies/catalogue.yaml.

Standard library only: checkov custom checks, the Pulumi CrossGuard pack and `govcloud check`
all call these same functions, each from its own environment.

- resource controls: ``fn(inputs: dict, ctx: dict) -> str | None`` (a failure message or None);
  ctx carries ``type``, ``zone``, ``cloud``, ``tenant``;
- stack controls: ``fn(resources: list[dict], ctx: dict) -> list[str]`` (failure messages) over
  every resource of a stack, for "the account must have X" controls.
"""

from __future__ import annotations

from typing import Callable

RESOURCE: dict[str, Callable] = {}
STACK: dict[str, Callable] = {}
CLOUD_PREFIXES = {"aws": ("aws:", "pulumi:providers:aws"), "azure": ("azure-native:", "pulumi:providers:azure-native")}


def applies(cloud: str, types: list[str], zones: list[str] | None, resource_type: str, zone: str | None) -> bool:
    """Whether a resource control judges this resource: the one rule every adapter uses."""
    if zones is not None and zone not in zones:
        return False
    if cloud != "any" and not resource_type.startswith(CLOUD_PREFIXES[cloud]):
        return False
    return "*" in types or resource_type in types


def resource_control(control_id: str):
    def register(fn):
        RESOURCE[control_id] = fn
        return fn
    return register


def stack_control(control_id: str):
    def register(fn):
        STACK[control_id] = fn
        return fn
    return register


def load_all() -> None:
    from . import aws, azure, common  # noqa: F401  (registration; relative so checkov can import by path)

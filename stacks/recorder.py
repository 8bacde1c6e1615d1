"""The offline plan engine's core: run a stack program in-process under Pulumi's mock runtime and
record every registration as a plan document shaped like ``pulumi stack export``.

Pulumi's own ``MockMonitor`` keeps only (urn, id, state) and silently overwrites a duplicate URN.
The recording monitor also keeps what a real deployment records — parent, provider, dependencies,
property dependencies — refuses a duplicate URN as the engine does, and keeps secrets marked
(their values never reach a plan file).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func, wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

SECRET_SIG_KEY = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig
STACK_TYPE = "pulumi:pulumi:Stack"
DRAIN_SECONDS = 10.0


class DuplicateUrnError(Exception):
    pass


# URNs constructed in the current offline run. Checked when a resource is *constructed*, which is
# synchronous: a registration reaches the monitor asynchronously and, under the mock runtime, a
# second resource with the same URN may never be delivered at all.
_CONSTRUCTED: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("govcloud_constructed", default=None)
_original_resource_init = pulumi.Resource.__init__


def _recording_init(self, t, name, *args, **kwargs):
    seen = _CONSTRUCTED.get()
    if seen is not None and t != STACK_TYPE:
        opts = kwargs.get("opts", args[2] if len(args) > 2 else None)
        parent = getattr(opts, "parent", None) if opts is not None else None
        # Same rule as the engine (and MockMonitor.make_urn): the parent's own type, then ours.
        parent_type = getattr(parent, "_govcloud_type", None) or STACK_TYPE
        qualified = f"{parent_type}${t}"
        key = f"{qualified}::{name}"
        if key in seen:
            raise DuplicateUrnError(f"Duplicate resource URN '{key}'; try giving it a unique name")
        seen.add(key)
    self._govcloud_type = t
    _original_resource_init(self, t, name, *args, **kwargs)


pulumi.Resource.__init__ = _recording_init


@dataclass
class Registration:
    urn: str
    type: str
    custom: bool
    id: str
    inputs: dict
    parent: str
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]


@dataclass
class RecordingMonitor(pulumi_mocks.MockMonitor):
    mocks: pulumi_mocks.Mocks
    registrations: dict[str, Registration] = field(default_factory=dict)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        pulumi_mocks.MockMonitor.__init__(self, self.mocks)

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != STACK_TYPE and urn in self.registrations:
            message = f"Duplicate resource URN '{urn}'; try giving it a unique name"
            # Recorded as well as raised: an exception in a registration thread does not always
            # reach the program, and a plan with a duplicate URN must never be written.
            self.errors.append(message)
            raise DuplicateUrnError(message)
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            self.registrations[urn] = Registration(urn, STACK_TYPE, False, "", {}, "", "", [], {})
            return response
        inputs = rpc.deserialize_properties(request.object)
        prop_deps = {k: sorted(v.urns) for k, v in sorted(request.propertyDependencies.items()) if v.urns}
        self.registrations[urn] = Registration(
            urn=urn,
            type=request.type,
            custom=bool(request.custom),
            id=response.id if request.custom else "",
            inputs=inputs,
            parent=request.parent,
            provider=request.provider,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies=prop_deps,
        )
        return response

    def ReadResource(self, request):  # noqa: N802
        response = super().ReadResource(request)
        # Reads (StackReference, get()) are recorded like `pulumi stack export` records them:
        # external resources that the stack depends on but does not manage.
        self.registrations[response.urn] = Registration(
            response.urn, request.type, True, request.id, {}, request.parent, request.provider, [], {}
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.split("::")[2] == STACK_TYPE:
            self.stack_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def redact(value: Any) -> Any:
    """Secrets keep Pulumi's secret signature with a digest instead of the value, as in an
    encrypted ``stack export``: checks can see *that* something is secret, never what it is."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            digest = hashlib.sha256(json.dumps(value.get("value"), sort_keys=True, default=str).encode()).hexdigest()
            return {SECRET_SIG_KEY: SECRET_SIG, "ciphertext": f"redacted:sha256:{digest[:16]}"}
        return {k: redact(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.Resource):  # resource references
        return {SECRET_SIG_KEY: rpc._special_resource_sig, "urn": str(getattr(value, "_urn_value", ""))}
    return str(value)


def run_program(program: Callable[[], None], *, project: str, stack: str, mocks: pulumi_mocks.Mocks,
                config: dict[str, str], secret_keys: list[str] | None = None) -> RecordingMonitor:
    """Run ``program`` as stack ``stack`` and return the monitor with everything it registered.

    Each run gets a fresh ``contextvars`` context, so Pulumi's global settings, root stack
    resource and config never leak from one stack into the next in the same worker process.
    """
    monitor = RecordingMonitor(mocks)

    def _run() -> None:
        from pulumi.runtime import config as runtime_config
        from pulumi.runtime import settings as runtime_settings

        # As pulumi.runtime.test does: forget outputs a previous (possibly failed) program left.
        runtime_settings.SETTINGS.outputs.clear()
        _CONSTRUCTED.set(set())

        runtime_config.set_all_config(dict(config), secret_keys or [])
        pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)
        root = pulumi.runtime.settings.get_root_resource()

        def body() -> None:
            program()

        _sync_await(run_pulumi_func(body))
        _sync_await(wait_for_rpcs())
        # Stack outputs registered by pulumi.export() are flushed when the stack finishes.
        if root is not None and hasattr(root, "outputs") and root.outputs:
            outputs = {}
            for key, value in root.outputs.items():
                outputs[key] = _sync_await(pulumi.Output.from_input(value).future(with_unknowns=True))
            monitor.stack_outputs = outputs

    def _isolated() -> None:
        # A fresh event loop per stack: tasks a failed program leaves behind would otherwise wake
        # up in the next stack's run and register into its monitor (Pulumi's SETTINGS is global).
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            _run()
        finally:
            # Let registrations still in flight reach the monitor (bounded): a run must never end
            # with a resource constructed but unrecorded, or a duplicate URN unnoticed.
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=DRAIN_SECONDS))
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
            asyncio.set_event_loop(None)

    contextvars.Context().run(_isolated)
    if monitor.errors:
        raise DuplicateUrnError("; ".join(monitor.errors))
    return monitor

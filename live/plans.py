"""The plan documents live commands compare against: planned now, through the content-hash cache,
so they always match the workspace (unchanged stacks cost nothing)."""

from __future__ import annotations

from typing import Callable

from govcloud.diagnostics import UsageError
from govcloud.plans import tenant_stack
from govcloud.tenants.registry import Registry, load_registry
from govcloud.workspace import Workspace


def fleet(ws: Workspace, names: list[str] | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[Registry, dict[str, dict], list[dict]]:
    """What every live command starts from, with the workspace read once: the registry, the current
    plans (stack -> plan document) and the AWS tenants (all of them, or `names`).
    ``progress(done, total)``: stacks planned so far."""
    reg = load_registry(ws)
    plans = current_plans(ws, reg, progress)
    return reg, plans, aws_tenants(ws, reg, plans, names)


def current_plans(ws: Workspace, reg: Registry, progress: Callable[[int, int], None] | None = None) -> dict[str, dict]:
    """stack name -> plan document, for the foundation, network and every tenant stack."""
    from govcloud.stacks import planner
    from govcloud.stacks.program import network_inputs

    stacks = planner.select_stacks(reg, all_stacks=True)
    out_dir = ws.plans_dir
    planned = [0]

    def one_more(_result) -> None:
        planned[0] += 1
        if progress:
            progress(planned[0], len(stacks))

    run = planner.run_plans(ws, stacks, out_dir, jobs=planner.default_jobs(), use_cache=True, prune=True,
                            network=network_inputs(ws, reg), progress=one_more)
    if run.failed:
        raise UsageError("; ".join(f"stack {r.stack} failed to plan: {r.error}" for r in run.failed))
    return {plan["govcloud"]["stack"]: plan for _, plan in planner.iter_plans(out_dir)}


def aws_tenants(ws: Workspace, reg: Registry, plans: dict[str, dict], names: list[str] | None = None) -> list[dict]:
    """What live commands need to know of each AWS tenant: name, zone, region, and its account as
    the stack creates it (computed from the tenant and the stack's config, the same function the
    stack uses), plus its plan for replaying the baseline."""
    from govcloud.stacks.planner import read_stack_config
    from govcloud.templates.base import aws_account, settings_from_config

    if names:
        unknown = [n for n in names if n not in reg.tenants]
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], list(reg.tenants), n=1)
            raise UsageError(f"no tenant {unknown[0]!r}" + (f"; did you mean {close[0]!r}?" if close else ""))
    out = []
    for name, tenant in sorted(reg.tenants.items()):
        if names and name not in names:
            continue
        if tenant.spec.cloud != "aws":
            if names:
                raise UsageError(f"tenant {name} runs on {tenant.spec.cloud}: live commands read AWS accounts")
            continue
        plan = plans.get(tenant_stack(name))
        if plan is None:
            raise UsageError(f"no plan for tenant {name}: run govcloud plan --tenant {name}")
        try:
            settings = settings_from_config(read_stack_config(ws, tenant_stack(name)))
        except ValueError as exc:
            raise UsageError(f"stack {tenant_stack(name)}: {exc}") from None
        account = aws_account(tenant, settings)
        out.append({"name": name, "zone": tenant.spec.zone, "region": tenant.spec.region,
                    "environment": tenant.spec.environment,
                    "accountId": tenant.status.account_id if tenant.status else None,
                    "email": account.email, "accountName": account.name, "tags": account.tags,
                    "role": account.role, "plan": plan})
    return out

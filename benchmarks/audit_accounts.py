"""Benchmark the live audit (`govcloud audit`) against the dev cloud: one account, both Japan
regions, every readable control; then many accounts with bounded concurrency.

    .venv/bin/python benchmarks/audit_accounts.py [--root WS] [--repeat 5] [--accounts 50] [--workers 8]

--root: a workspace whose dev cloud runs (`govcloud dev-cloud start`); without it a scratch copy of
the sample workspace is made and its dev cloud started (seeding takes minutes on a loaded machine)
and stopped at the end. Plans come from the workspace's cache and are not timed: what is timed is
`govcloud.live.audit.audit_tenants`, the live part (resolving the account, AssumeRole, every reader
in ap-northeast-1 and ap-northeast-3, the SCPs from the management account, the evidence sweep of
every other region, judging).

- one account: the first audit in the process (cold: boto3 loads each service model once) and the
  median of --repeat more (warm, as every account after the first of a fleet run);
- fleet: --accounts audits of the seeded accounts (round robin) in one call with --workers threads,
  reported as accounts per minute. The dev cloud's faults are permanent errors, not a rate limit,
  so throttling is not simulated here; botocore's adaptive retry mode paces real AWS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def scratch_workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="govcloud-audit-bench-")) / "ws"
    shutil.copytree(REPO / "tenants", root / "tenants", ignore=shutil.ignore_patterns("__pycache__", "*.py", "catalogues"))
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, root / settings.name)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="workspace with a running dev cloud (default: a scratch one)")
    parser.add_argument("--tenant", default="131016-juki-prod")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=0, help="fleet run: this many account audits (0: skip)")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)

    from govcloud.app.live import start_dev_cloud, stop_dev_cloud
    from govcloud.live.audit import audit_tenants
    from govcloud.live.clients import Account, Endpoint
    from govcloud.live.plans import fleet
    from govcloud.workspace import Workspace

    root = args.root or scratch_workspace()
    os.environ["GOVCLOUD_ROOT"] = str(root)
    ws = Workspace(root)
    started = start_dev_cloud(ws)
    print(f"dev cloud at {started.state['url']} ({'already running' if started.already_running else 'started and seeded'})")
    try:
        state = started.state
        _, _, tenants = fleet(ws)
        for t in tenants:
            t["accountId"] = state["accounts"][t["name"]]
        mgmt = Account(Endpoint(state["url"], "ap-northeast-1", None, state["accessKey"], state["secretKey"]))
        one = [t for t in tenants if t["name"] == args.tenant]
        if not one:
            print(f"no tenant {args.tenant}", file=sys.stderr)
            return 2
        times = []
        for _ in range(1 + args.repeat):
            t0 = time.perf_counter()
            result = audit_tenants(mgmt, one, None)
            times.append(time.perf_counter() - t0)
            if result.incomplete:
                print(f"incomplete: {[(s, str(f)) for t in result.incomplete for s, f in t.failures]}", file=sys.stderr)
                return 1
        controls = len(result.controls)
        print(f"one account ({args.tenant}), both Japan regions, {controls} controls, {result.run.evaluated} evaluations: "
              f"cold {times[0]:.2f} s, warm median {statistics.median(times[1:]):.2f} s (min {min(times[1:]):.2f} s, "
              f"{args.repeat} runs)")
        from govcloud.live.readers import ALLOWED_REGIONS, READERS, read_account

        parts = {}
        for label, names in (("readers in both Japan regions and the SCPs", tuple(n for n in READERS if n != "elsewhere")),
                             ("sweep of the forbidden regions", ("elsewhere",))):
            acct = mgmt.assume(one[0]["accountId"], "govcloud-audit")
            t0 = time.perf_counter()
            read_account(acct, one[0]["accountId"], one[0]["region"], names, regions=ALLOWED_REGIONS, mgmt=mgmt)
            parts[label] = time.perf_counter() - t0
        print("  of which (warm): " + ", ".join(f"{label} {t:.2f} s" for label, t in parts.items()))
        if args.accounts:
            batch = [dict(tenants[i % len(tenants)]) for i in range(args.accounts)]
            t0 = time.perf_counter()
            result = audit_tenants(mgmt, batch, None, workers=args.workers)
            elapsed = time.perf_counter() - t0
            print(f"fleet: {args.accounts} account audits, {args.workers} workers: {elapsed:.1f} s, "
                  f"{args.accounts / elapsed * 60:.0f} accounts/minute, {len(result.incomplete)} incomplete")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
    finally:
        if not started.already_running:
            stop_dev_cloud(ws)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What "every write verifies the ledger first" costs at fleet scale.

    .venv/bin/python benchmarks/ledger_fleet.py --tenants 3482

Builds a scratch workspace whose ledger is consistent and as large as asked: N applied requests
(one tenant each, real municipality codes, /25 networks in the two AWS My Number pools), a history
of 3 entries per request (platform approval, municipality approval, apply) in the current v2
format, tenant documents anchored to their entries, allocations and applied records. Then, each
as a fresh process through the real CLI:

- `govcloud history verify`: chain, anchors, address plan against the tenant documents;
- `govcloud request approve` (and a second approval): a write, which runs the same checks first,
  then commits history and address plan through the journal.

Prints seconds and peak memory per command as JSON; exits 1 if a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from ipaddress import IPv4Network
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from plan_fleet import STANDARD_SYSTEMS, VENDORS, municipality_codes, timed  # noqa: E402

POOLS = [("aws-apne1-mynumber", "ap-northeast-1", IPv4Network("10.16.0.0/14")),
         ("aws-apne3-mynumber", "ap-northeast-3", IPv4Network("10.32.0.0/14"))]


def build(root: Path, n: int) -> None:
    sys.path.insert(0, str(REPO))
    from govcloud import yamlio
    from govcloud.tenants import history, ledger, workflow
    from govcloud.tenants.models import AddressPlan, TenantRequest

    for name in ("Pulumi.yaml", "Pulumi.network.yaml"):
        shutil.copy(REPO / name, root / name)
    tenants_dir = root / "tenants"
    for sub in ("vendors", "municipalities", "requests/examples"):
        shutil.copytree(REPO / "tenants" / sub, tenants_dir / sub)
    (tenants_dir / "active").mkdir()
    (tenants_dir / "requests" / "applied").mkdir()
    os.environ["GOVCLOUD_NOW"] = "2026-05-01T09:00:00Z"
    hist = history.History(())
    allocations = []
    blocks = [list(pool.subnets(new_prefix=25)) for _, _, pool in POOLS]
    per_pool = len(blocks[0])
    if n > per_pool * len(POOLS):
        raise SystemExit(f"at most {per_pool * len(POOLS)} tenants fit the two pools at /25")
    for i, code in enumerate(municipality_codes(n)):
        system = STANDARD_SYSTEMS[i % len(STANDARD_SYSTEMS)]
        pool_name, region, _ = POOLS[i // per_pool]
        cidr = str(blocks[i // per_pool][i % per_pool])
        request_name = f"bench-{code}-{system}"
        text = yamlio.dump({"apiVersion": "govcloud/v1", "kind": "TenantRequest",
                            "metadata": {"name": request_name},
                            "spec": {"vendor": VENDORS[i % 3], "system": system, "usage": "dedicated",
                                     "municipalities": [code], "cloud": "aws", "region": region,
                                     "environments": ["prod"], "network": {"prefixLength": 25}}})
        req = TenantRequest.model_validate(yamlio.load_text(text, "bench")[0])
        digest = ledger.request_digest(req)
        hist, _ = hist.with_event("request.approved", "p", {"request": request_name, "digest": digest,
                                                             "role": "platform", "by": "p"})
        hist, _ = hist.with_event("request.approved", "m", {"request": request_name, "digest": digest,
                                                             "role": "municipality", "by": "m", "municipality": code})
        name = f"{code}-{system}-prod"
        hist, entry = hist.with_event("request.applied", "bench", {"request": request_name, "digest": digest,
                                                                   "tenants": {name: cidr}})
        planned = type("Planned", (), {"name": name, "environment": "prod", "cidr": cidr})
        tenant = workflow.build_tenant(req, digest, planned, entry["hash"], entry["time"])
        (tenants_dir / "active" / f"{name}.yaml").write_text(workflow.render_document(tenant), encoding="utf-8")
        (tenants_dir / "requests" / "applied" / f"{request_name}.yaml").write_text(text, encoding="utf-8")
        allocations.append({"tenant": name, "pool": pool_name, "cidr": cidr})
    plan_data = yamlio.load_file(REPO / "tenants" / "ipam.yaml")[0]
    plan_data["status"] = {"allocations": allocations}
    plan = AddressPlan.model_validate(plan_data)
    (tenants_dir / "history.jsonl").write_text(hist.render(), encoding="utf-8")
    from govcloud.tenants import ipam
    plan = ipam.with_history_head(ipam._with_allocations(plan, plan.status.allocations), hist.head)
    (tenants_dir / "ipam.yaml").write_text(workflow.render_plan(plan), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=3482)
    args = parser.parse_args()
    govcloud = str(Path(sys.executable).parent / "govcloud")
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        root = Path(tmp)
        build(root, args.tenants)
        env = {**os.environ, "GOVCLOUD_ROOT": str(root), "GOVCLOUD_ACTOR": "bench"}
        example = "tenants/requests/examples/hachioji-juki.yaml"
        keys = Path(__file__).resolve().parent.parent / "samples" / "keys"     # the sample principals' keys
        runs = {
            "history verify": [govcloud, "history", "verify"],
            "request approve (platform)": [govcloud, "request", "approve", example, "--key", str(keys / "yamada-taro")],
            "request approve (municipality)": [govcloud, "request", "approve", example, "--key",
                                               str(keys / "hachioji-takahashi")],
            "history verify (after)": [govcloud, "history", "verify"],
        }
        results: dict = {"tenants": args.tenants, "history entries": 3 * args.tenants}
        for label, cmd in runs.items():
            result = timed(cmd, root, env=env)          # exits 1 with the output if a command fails
            results[label] = {"seconds": round(result["seconds"], 2), "peak_mib": round(result["peak_mib"], 1)}
        print(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the offline plan engine on a synthetic fleet.

    .venv/bin/python benchmarks/plan_fleet.py --tenants 200

Builds a scratch workspace with N tenants over real municipality codes (../shared/data), then
times `govcloud plan --all` as a user runs it (a fresh process each time, so start-up counts):

- cold, 1 job and 2 jobs (empty cache): stacks and resources per second, and the speed-up;
- warm: nothing changed, everything from the content-hash cache;
- one tenant changed: exactly one stack is re-planned.

Peak memory is the resident memory of the whole process tree (CLI, forkserver and workers),
sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "municipalities.csv"
STANDARD_SYSTEMS = ["juki", "koseki", "kokuho", "kaigo", "kotei-shisanzei", "kojin-juminzei", "jido-teate", "shugaku"]
VENDORS = ["asuka-systems", "hikari-solutions", "minato-data"]


def municipality_codes(n: int) -> list[str]:
    if SHARED.exists():
        rows = list(csv.DictReader(SHARED.open(encoding="utf-8")))
        codes = [r["code"] for r in rows if r["kind"] not in ("prefecture", "ward")]
    else:  # the product's own copy of the code list
        lines = (REPO / "tenants/catalogues/municipality-codes.csv").read_text(encoding="utf-8").splitlines()
        codes = [l.split(",")[0] for l in lines[3:] if not l.split(",")[3].startswith("prefecture")]
    return codes[:n]


def build_workspace(root: Path, n: int) -> None:
    sys.path.insert(0, str(REPO))
    from govcloud import yamlio
    from govcloud.tenants.models import Tenant

    for name in ("Pulumi.yaml", "Pulumi.network.yaml"):
        shutil.copy(REPO / name, root / name)
    (root / "tenants" / "active").mkdir(parents=True)
    for sub in ("vendors", "municipalities"):
        shutil.copytree(REPO / "tenants" / sub, root / "tenants" / sub)
    shutil.copy(REPO / "tenants" / "ipam.yaml", root / "tenants" / "ipam.yaml")
    for i, code in enumerate(municipality_codes(n)):
        cloud = "azure" if i % 4 == 3 else "aws"  # a realistic mix: most tenants on AWS
        region = {"aws": ["ap-northeast-1", "ap-northeast-3"], "azure": ["japaneast", "japanwest"]}[cloud][i % 8 // 7]
        system = STANDARD_SYSTEMS[i % len(STANDARD_SYSTEMS)]
        name = f"{code}-{system}-prod"
        tenant = Tenant.model_validate({
            "apiVersion": "govcloud/v1", "kind": "Tenant", "metadata": {"name": name},
            "spec": {"request": f"bench-{i}", "vendor": VENDORS[i % 3], "system": system, "usage": "dedicated",
                     "municipalities": [code], "cloud": cloud, "region": region, "environment": "prod",
                     "zone": "mynumber", "network": {"cidr": f"10.{128 + i // 256}.{i % 256}.0/24"}},
        })
        data = tenant.model_dump(mode="json", by_alias=True, exclude_none=True)
        (root / "tenants" / "active" / f"{name}.yaml").write_text(yamlio.dump(data), encoding="utf-8")


def tree_rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (forkserver workers included)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss[int(proc.name)] = int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree)


def timed(cmd: list[str], cwd: Path, ok: tuple[int, ...] = (0,), stdout_to: Path | None = None,
          env: dict | None = None) -> dict:
    """Run cmd as a user would; sample the process tree's memory every 50 ms. stdout goes to
    stdout_to when given (large reports), else it is returned with stderr."""
    started = time.perf_counter()
    sink = stdout_to.open("w") if stdout_to else subprocess.PIPE
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=sink, stderr=subprocess.PIPE, text=True, env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.05)
    finally:
        if stdout_to:
            sink.close()
    seconds = time.perf_counter() - started
    output, stderr = ("" if stdout_to else proc.stdout.read()), proc.stderr.read()
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{output[-2000:]}{stderr[-2000:]}")
    return {"seconds": seconds, "peak_mib": peak / 1024, "output": output.strip(), "stderr": stderr.strip(),
            "rc": proc.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the scratch workspace")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    govcloud = str(Path(sys.executable).parent / "govcloud")
    scratch = Path(tempfile.mkdtemp(prefix="govcloud-bench-"))
    try:
        build_workspace(scratch, args.tenants)
        stacks = args.tenants + 2
        figures: dict[str, dict] = {}
        for jobs in (1, 2):
            shutil.rmtree(scratch / ".govcloud", ignore_errors=True)
            figures[f"cold_{jobs}_jobs"] = timed([govcloud, "plan", "--all", "-j", str(jobs), "--out", f"plans-{jobs}"], scratch)
        identical = all((scratch / "plans-1" / p.name).read_bytes() == p.read_bytes() for p in (scratch / "plans-2").glob("*.json"))
        figures["warm"] = timed([govcloud, "plan", "--all", "-j", "2", "--out", "plans-2"], scratch)
        # One vendor publishes a new API from one tenant: only that stack may be planned again.
        changed = sorted((scratch / "tenants" / "active").glob("*.yaml"))[args.tenants // 2]
        from govcloud import yamlio

        doc, _ = yamlio.load_file(changed)
        doc["spec"]["apis"]["publishes"].append({"name": "bench-api", "port": 443, "protocol": "https"})
        changed.write_text(yamlio.dump(doc), encoding="utf-8")
        figures["one_tenant_changed"] = timed([govcloud, "plan", "--all", "-j", "2", "--out", "plans-2"], scratch)

        resources = sum(json.loads(p.read_text())["govcloud"]["summary"]["resources"]
                        for p in (scratch / "plans-2").glob("*.json") if p.name != "index.json")
        cold1, cold2 = figures["cold_1_jobs"]["seconds"], figures["cold_2_jobs"]["seconds"]
        report = {
            "tenants": args.tenants, "stacks": stacks, "resources": resources,
            "cold_1_job_s": round(cold1, 2), "cold_2_jobs_s": round(cold2, 2),
            "resources_per_s_1_job": round(resources / cold1, 1), "resources_per_s_2_jobs": round(resources / cold2, 1),
            "speedup_2_jobs": round(cold1 / cold2, 2),
            "warm_s": round(figures["warm"]["seconds"], 2),
            "one_tenant_changed_s": round(figures["one_tenant_changed"]["seconds"], 2),
            "one_tenant_changed_output": figures["one_tenant_changed"]["output"].splitlines()[-1],
            "peak_mib_1_job": round(figures["cold_1_jobs"]["peak_mib"]), "peak_mib_2_jobs": round(figures["cold_2_jobs"]["peak_mib"]),
            "plans_identical_1_vs_2_jobs": identical,
        }
        if args.json:
            print(json.dumps(report, indent=1, ensure_ascii=False))
        else:
            for key, value in report.items():
                print(f"{key:28} {value}")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark the network controller on the whole country.

    .venv/bin/python benchmarks/network_country.py [--session | --plans]

Every municipality of ../shared/data/municipalities.csv (1,741) with three sites (one per zone)
and a security model; tenants over the 20 standard systems: the 20 designated cities run
dedicated tenants (prod and staging) whose systems consume their own juki API, every other
municipality is served by shared vendor tenants (8 vendors per system). Times intent → compile
(Cloud WAN + Virtual WAN, written to disk as `network compile` does) → load → verify, peak
memory, and re-verification after one tenant changes: the whole pipeline again, with the
verifier reusing the previous run's per-tenant results (and a full verification of the same
change, which must agree).

With ``--session`` the country is written as a workspace on disk (one YAML document per file) and
kept proven by a NetworkSession (govcloud/app/network.py): cold, again with nothing changed, and
after one tenant document changes on disk (load + intent + compile + re-verify: the target is
under 1 s), next to a fresh full verification of the changed workspace, which must agree.

With ``--plans`` it also measures what `govcloud network verify` does by default: the network
stack and every tenant stack are planned once into a scratch workspace's plan cache (timed, not
part of the target), then a fresh process verifies the country from the cached plans (cold: new
interpreter, intent + inventory + reading every plan + the plan reader + the verifier) and its peak
memory is reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "municipalities.csv"
sys.path.insert(0, str(REPO))

from govcloud.network.compile import compile_network  # noqa: E402
from govcloud.network.fabric import load_fabrics  # noqa: E402
from govcloud.network.intent import build_intent  # noqa: E402
from govcloud.network.pipeline import write_compiled  # noqa: E402
from govcloud.network.verify import verify  # noqa: E402
from govcloud.tenants.catalogue import load_catalogue  # noqa: E402
from govcloud.tenants.models import Municipality, Tenant  # noqa: E402
from govcloud.tenants.registry import Registry  # noqa: E402

MODELS = ["alpha", "alpha-prime", "beta", "beta-prime"]
VENDORS_PER_SYSTEM = 8
QUOTAS = {  # approved increases a fleet this size needs (both are adjustable quotas)
    "cloudwan-attachments-per-core-network": 10000,
    "sg-security-groups-per-interface": 16,
}


def rows() -> list[dict]:
    if SHARED.exists():
        return [r for r in csv.DictReader(SHARED.open(encoding="utf-8")) if r["kind"] not in ("prefecture", "ward")]
    lines = (REPO / "tenants/catalogues/municipality-codes.csv").read_text(encoding="utf-8").splitlines()[2:]
    return [r for r in csv.DictReader(lines) if r["kind"] != "prefecture"]


def connection_details(code: str, connection: str, n: int) -> dict:
    """What a real municipality document gives for each site, so the network stack creates its
    attachment (without them it demands the id in `govcloud:attachmentIds`, and refuses rightly:
    a site the WAN does not attach is not a site the proof may assume)."""
    if connection in ("vpn", "lgwan"):  # the customer gateway: a documentation address (RFC 5737), a private ASN
        return {"gateway": {"address": f"198.51.{100 + n // 65536 % 2}.{n % 256}" if n % 256 else "198.51.100.254",
                            "asn": 64512 + n % 1000}}
    if connection == "directconnect":
        return {"directConnectGatewayArn": f"arn:aws:directconnect::111122223333:dx-gateway/{n:08x}-0000-4000-8000-{code}000000"}
    return {"expressRouteCircuitPeeringId": f"/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/"
                                            f"rg-govcloud-er/providers/Microsoft.Network/expressRouteCircuits/er-{code}/"
                                            "peerings/AzurePrivatePeering"}


def build_registry(seed: int = 7) -> Registry:
    rng = random.Random(seed)
    municipalities: dict[str, Municipality] = {}
    site_block = iter(range(1 << 20))
    for r in rows():
        sites = []
        for zone, connection in (("mynumber", "directconnect" if rng.random() < 0.7 else "expressroute"),
                                 ("lgwan", "lgwan"), ("internet", "vpn")):
            n = next(site_block)
            sites.append({"name": f"site-{zone}", "zone": zone, "connection": connection,
                          "cidrs": [f"10.{128 + n // 1024}.{(n % 1024) // 4}.{(n % 4) * 64}/26"],
                          **connection_details(r["code"], connection, n)})
        municipalities[r["code"]] = Municipality.model_validate({
            "apiVersion": "govcloud/v1", "kind": "Municipality", "metadata": {"name": r["code"]},
            "spec": {"code": r["code"], "name": r["name"], "prefecture": r["prefecture"],
                     "securityModel": rng.choice(MODELS), "sites": sites}})
    systems = [s.id for s in load_catalogue().systems.values() if s.kind == "standard"]
    cities = [r["code"] for r in rows() if r["kind"] == "designated_city"]
    others = [c for c in municipalities if c not in set(cities)]
    tenants: dict[str, Tenant] = {}
    block = iter(range(1 << 20))

    def add(name: str, system: str, usage: str, munis: list[str], vendor: str, env: str, apis: dict) -> None:
        n = next(block)
        cloud = "aws" if n % 4 else "azure"
        tenants[name] = Tenant.model_validate({
            "apiVersion": "govcloud/v1", "kind": "Tenant", "metadata": {"name": name},
            "spec": {"request": name, "vendor": vendor, "system": system, "usage": usage, "municipalities": munis,
                     "cloud": cloud, "region": "ap-northeast-1" if cloud == "aws" else "japaneast", "environment": env,
                     "zone": "mynumber", "network": {"cidr": f"10.{n // 256}.{n % 256}.0/24"}, "apis": apis}})

    for env in ("prod", "staging"):
        for city in cities:
            for system in systems:
                apis = ({"publishes": [{"name": "juki-api", "port": 443}]} if system == "juki"
                        else {"consumes": [{"tenant": f"{city}-juki", "api": "juki-api"}]})
                add(f"{city}-{system}-{env}", system, "dedicated", [city], f"vendor-{system}", env, apis)
        for system in systems:
            for v in range(VENDORS_PER_SYSTEM):
                served = others[v::VENDORS_PER_SYSTEM]
                add(f"v{v}-{system}-{env}", system, "shared", served, f"v{v}", env, {})
    return Registry(municipalities, {}, tenants, None)


def pipeline(reg: Registry, out: Path, previous=None) -> dict:
    t0 = time.perf_counter()
    intent = build_intent(reg, [])
    t1 = time.perf_counter()
    compiled = compile_network(intent, ("aws-cloudwan", "azure-vwan"), quota_overrides=QUOTAS)
    write_compiled(out, compiled)
    t2 = time.perf_counter()
    (fabric,) = load_fabrics(out)
    report = verify(fabric, previous=previous)
    t3 = time.perf_counter()
    return {"intent_s": t1 - t0, "compile_s": t2 - t1, "verify_s": t3 - t2, "total_s": t3 - t0,
            "state": report.state, "reverified": report.reverified,
            "attachments": len(intent.attachments), "flows": len(intent.flows), "reachable": len(report.reachable),
            "violations": len(report.violations), "unreachable_declared": len(report.unreachable_declared)}


def scratch_workspace(root: Path, reg: Registry | None = None):
    """Stack settings as the sample's, plus an Entra ID group for every synthetic vendor (an Azure
    tenant stack refuses a vendor without one, as it should)."""
    import shutil
    import uuid

    import yaml

    from govcloud.workspace import Workspace

    (root / "tenants").mkdir(parents=True, exist_ok=True)
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, root / settings.name)
    if reg is not None:
        project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
        groups = project["config"]["govcloud:azureVendorPrincipalIds"]["value"]
        for vendor in sorted({t.spec.vendor for t in reg.tenants.values()}):
            groups.setdefault(vendor, str(uuid.uuid5(uuid.NAMESPACE_URL, f"govcloud-benchmark-vendor/{vendor}")))
        (root / "Pulumi.yaml").write_text(yaml.safe_dump(project, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Workspace(root)


def plan_country(reg: Registry, root: Path, jobs: int) -> dict:
    from govcloud.stacks import planner
    from govcloud.stacks.program import network_inputs

    ws = scratch_workspace(root, reg)
    started = time.perf_counter()
    network = network_inputs(ws, reg, QUOTAS)
    stacks = [("network", None), *((f"tenant-{n}", reg.tenants[n]) for n in sorted(reg.tenants))]
    run = planner.run_plans(ws, stacks, root / "plans", jobs=jobs, network=network)
    if run.failed:
        raise SystemExit(f"planning failed: {run.failed[0].stack}: {run.failed[0].error}")
    return {"stacks": len(stacks), "plan_s": round(time.perf_counter() - started, 1),
            "from_cache": sum(1 for r in run.results if r.cached)}


def verify_from_plans(root: Path) -> dict:
    """In this process: everything `network verify` does after the plans exist."""
    from govcloud.app.network import configured_attachment_ids, offline_stack_outputs
    from govcloud.network.fabric import fabrics_from_documents
    from govcloud.network.plans import documents_from_plans, load_plans
    from govcloud.workspace import Workspace

    started = time.perf_counter()
    reg = build_registry()
    fixture = time.perf_counter() - started
    t0 = time.perf_counter()
    intent = build_intent(reg, [])
    compiled = compile_network(intent, ("aws-cloudwan", "azure-vwan"), quota_overrides=QUOTAS)
    t1 = time.perf_counter()
    plans = load_plans(root / "plans")
    t2 = time.perf_counter()
    ws = Workspace(root)
    docs = documents_from_plans(plans, compiled.files, configured_attachment_ids(ws), stack_outputs=offline_stack_outputs)
    (fabric,) = fabrics_from_documents(docs)
    t3 = time.perf_counter()
    report = verify(fabric)
    t4 = time.perf_counter()
    return {"fixture_s": round(fixture, 2), "inventory_s": round(t1 - t0, 2), "read_plans_s": round(t2 - t1, 2),
            "plan_reader_s": round(t3 - t2, 2), "verify_s": round(t4 - t3, 2), "total_s": round(t4 - t0, 2),
            "plans": len(plans), "violations": len(report.violations), "reachable": len(report.reachable),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def plans_main(args) -> None:
    import subprocess

    reg = build_registry()
    root = Path(args.plans_dir or tempfile.mkdtemp(prefix="govcloud-country-plans-"))
    prep = plan_country(reg, root, args.jobs)
    proc = subprocess.run([sys.executable, __file__, "--verify-plans", str(root)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    cold = json.loads(proc.stdout)
    print(json.dumps({"planning (once, cached)": prep, "verify from cached plans (fresh process)": cold},
                     indent=1, ensure_ascii=False))


def write_workspace(reg: Registry, root: Path) -> None:
    """The country as a workspace on disk, one document per file as `govcloud` keeps them."""
    import shutil

    import yaml

    def dump(path: Path, model) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.dump(model.model_dump(mode="json", by_alias=True, exclude_none=True), Dumper=DUMPER,
                                  allow_unicode=True, sort_keys=False), encoding="utf-8")

    for code, muni in reg.municipalities.items():
        dump(root / "tenants" / "municipalities" / f"{code}.yaml", muni)
    for name, tenant in reg.tenants.items():
        dump(root / "tenants" / "active" / f"{name}.yaml", tenant)
    shutil.copy(REPO / "tenants" / "ipam.yaml", root / "tenants" / "ipam.yaml")
    for settings in REPO.glob("Pulumi*.yaml"):
        shutil.copy(settings, root / settings.name)


def _dumper():
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


DUMPER = _dumper()


def publish_kaigo_api(root: Path, name: str, port: int = 8443) -> None:
    """The one-tenant change: the tenant's document on disk starts publishing an API (or moves
    it to another port)."""
    import yaml

    path = root / "tenants" / "active" / f"{name}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    publishes = doc["spec"].setdefault("apis", {}).setdefault("publishes", [])
    publishes[:] = [p for p in publishes if p["name"] != "kaigo-api"] + [{"name": "kaigo-api", "port": port}]
    path.write_text(yaml.dump(doc, Dumper=DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")


def session_main(args) -> None:
    """What a person waits for after editing one tenant: the workspace kept proven by a
    NetworkSession (documents parsed again only when changed, readers and verifier reusing what
    the change did not touch), against a fresh full verification of the same workspace."""
    from govcloud.app.network import NetworkSession
    from govcloud.workspace import Workspace

    reg = build_registry()
    name = sorted(t for t in reg.tenants if t.endswith("-kaigo-prod"))[0]
    with tempfile.TemporaryDirectory(prefix="govcloud-country-ws-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_workspace(reg, root)
        written_s = time.perf_counter() - started
        ws = Workspace(root)
        session = NetworkSession(ws, quotas=QUOTAS)
        cpu: dict[str, float] = {}

        def timed(label: str, fn):
            started = time.process_time()
            out = fn()
            cpu[label] = time.process_time() - started
            return out

        cold = timed("cold", session.verify)
        unchanged = timed("unchanged", session.verify)
        publish_kaigo_api(root, name)
        again = timed("again", session.verify)
        full = timed("full", NetworkSession(ws, quotas=QUOTAS).verify)
        # The machine is shared: the same one-tenant change repeated (the API moves port each
        # time), each checked against the first full run's shape, gives a distribution.
        repeats = []
        for i in range(args.repeat):
            publish_kaigo_api(root, name, 9000 + i)
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            run = session.verify()
            repeats.append((time.perf_counter() - started_wall, time.process_time() - started_cpu, run.reverified))

    def figures(run, label) -> dict:
        # Wall time on a shared machine includes waiting for a core; CPU time of this process is
        # what the work costs.
        return {**{k: round(v, 3) for k, v in run.seconds.items()}, "cpu_s": round(cpu[label], 3),
                "documents_parsed": run.parsed,
                "tenants_reverified": run.reverified, "violations": sum(len(r.violations) for r in run.reports),
                "reachable": sum(len(r.reachable) for r in run.reports)}

    def summary(run):
        return [(sorted((v.invariant, v.layer, v.source, v.destination, v.message) for v in r.violations),
                 sorted((x.source, x.destination, x.protocol, str(x.port)) for x in r.reachable),
                 sorted(r.unreachable_declared), sorted(r.matrix.items())) for r in run.reports]

    report = {"municipalities": len(reg.municipalities), "tenants": len(reg.tenants), "changed_tenant": name,
              "workspace_written_s": round(written_s, 2), "cold": figures(cold, "cold"),
              "nothing_changed": figures(unchanged, "unchanged"), "one_tenant_changed": figures(again, "again"),
              "full_after_change": figures(full, "full"),
              "incremental_equals_full": summary(again) == summary(full),
              "one_tenant_changed_repeated": {
                  "runs": len(repeats),
                  "wall_s_min_median_max": [round(x, 3) for x in _spread([r[0] for r in repeats])],
                  "cpu_s_min_median_max": [round(x, 3) for x in _spread([r[1] for r in repeats])],
                  "tenants_reverified": sorted({r[2] for r in repeats})} if repeats else None,
              "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(report, indent=1, ensure_ascii=False))


def _spread(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return ordered[0], ordered[len(ordered) // 2], ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plans", action="store_true", help="plan the country once, then verify from the cached plans")
    parser.add_argument("--plans-dir", help="keep the scratch workspace and plans here (reused: the cache)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--session", action="store_true",
                        help="the country as a workspace on disk: one tenant file changes, the session re-verifies")
    parser.add_argument("--repeat", type=int, default=10, help="with --session: repeat the one-tenant change N times")
    parser.add_argument("--verify-plans", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.session:
        session_main(args)
        return
    if args.verify_plans:
        print(json.dumps(verify_from_plans(Path(args.verify_plans))))
        return
    if args.plans:
        plans_main(args)
        return
    started = time.perf_counter()
    reg = build_registry()
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="govcloud-country-") as tmp:
        out = Path(tmp)
        full = pipeline(reg, out)
        # One tenant changes: a designated city's kaigo tenant starts publishing an API.
        name = sorted(t for t in reg.tenants if t.endswith("-kaigo-prod"))[0]
        tenant = reg.tenants[name]
        apis = tenant.spec.apis.model_copy(update={"publishes": [*tenant.spec.apis.publishes,
                                                                  *tenant.spec.apis.__class__.model_validate({"publishes": [{"name": "kaigo-api", "port": 8443}]}).publishes]})
        changed = Registry(reg.municipalities, reg.vendors, {**reg.tenants, name: tenant.model_copy(
            update={"spec": tenant.spec.model_copy(update={"apis": apis})})}, None)
        again = pipeline(changed, out, previous=full["state"])
        check = pipeline(changed, Path(tmp) / "full")  # full verification of the same change: same verdict
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "municipalities": len(reg.municipalities), "tenants": len(reg.tenants), "attachments": full["attachments"],
        "declared_flows": full["flows"], "reachable_triples": full["reachable"], "violations": full["violations"],
        "unreachable_declared": full["unreachable_declared"],
        "intent_s": round(full["intent_s"], 2), "compile_s": round(full["compile_s"], 2), "verify_s": round(full["verify_s"], 2),
        "compile_and_verify_s": round(full["total_s"], 2),
        "one_tenant_changed_s": round(again["total_s"], 2), "one_tenant_changed_verify_s": round(again["verify_s"], 2),
        "tenants_reverified": again["reverified"], "changed_tenant": name,
        "incremental_equals_full": (again["violations"], again["reachable"]) == (check["violations"], check["reachable"]),
        "peak_rss_mib": round(peak_mib), "fixture_build_s": round(build_s, 2),
    }
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()

"""Benchmark the report on the whole country.

    .venv/bin/python benchmarks/report_country.py [--json] [--no-browser] [--out build/report-country.html]

Fixture: the whole-country network of benchmarks/network_country.py (1,741 municipalities, three
sites each, 1,120 tenants over the 20 standard systems, ~6,300 attachments, ~70,000 reachable
triples). Plans: the sample workspace's tenant plans (real plan engine output) cloned once per
country tenant of the same cloud, with the tenant's name substituted, and six tenants broken the
way benchmarks/check_fleet.py breaks them, so the findings section has something to show. Planning
1,120 stacks is the plan benchmark's business (benchmarks/plan_fleet.py), not this one's.

Timed (targets from issue 14): report generation — the same steps as `govcloud report --plans DIR`:
prove the network (from the compiled configuration here, the plans being clones; `govcloud report`
proves it from the plans, measured by network_country.py --plans), run the controls over every plan, gather the fleet, render — under 10 s; the
HTML file under 15 MB; the page interactive in headless Chromium (navigation to the script having
built the drawing and wired the matrix) under 3 s. Also timed: opening the largest matrix cell and
a "can A reach B" search.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.check_fleet import break_tenants  # noqa: E402
from benchmarks.network_country import QUOTAS, build_registry  # noqa: E402
from govcloud.report.model import to_json  # noqa: E402
from govcloud.report.render import render_html  # noqa: E402
from govcloud.report.service import build_report, snapshot  # noqa: E402
from govcloud.report.workspaces import plan_workspace  # noqa: E402
from govcloud.tenants.registry import load_registry  # noqa: E402
from govcloud.workspace import Workspace  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
                 "--disable-component-update", "--disable-sync"]


def country_workspace(root: Path, broken: int = 6) -> tuple[Workspace, object, Path]:
    """A workspace folder (no documents: the registry is in memory) and a folder of plans."""
    (root / "tenants").mkdir(parents=True)
    reg = build_registry()
    sample_ws = Workspace(REPO)
    samples = {}
    for doc in plan_workspace(sample_ws, load_registry(sample_ws)):
        meta = doc["govcloud"]
        if meta.get("tenant") and meta.get("zone") == "mynumber":
            samples.setdefault(meta["cloud"], (meta["tenant"], json.dumps(doc, ensure_ascii=False)))
    plans = root / "plans"
    plans.mkdir()
    for name, tenant in sorted(reg.tenants.items()):
        sample_name, text = samples[tenant.spec.cloud]
        (plans / f"tenant-{name}.json").write_text(text.replace(sample_name, name), encoding="utf-8")
    break_tenants(plans, broken)
    return Workspace(root), reg, plans


def _cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def generate(ws: Workspace, reg, plans_dir: Path, out: Path, lang: str = "ja") -> dict:
    """Wall time, and CPU time of this process and of the findings worker: on a shared machine
    the wall time includes waiting for a core, the CPU times do not."""
    cpu_before = _cpu()
    started = time.perf_counter()
    # The plans are clones of one sample tenant's plan (planning 1,120 real stacks takes half an
    # hour), so the network side is proven from the compiled configuration here; the proof from
    # real plans is measured by benchmarks/network_country.py --plans.
    current = snapshot(ws, reg=reg, plans_dir=plans_dir, quota_overrides=QUOTAS, network_from_compiled=True)
    gathered = time.perf_counter()
    report = build_report(current, lang=lang)
    built = time.perf_counter()
    html = render_html(report)
    out.write_text(html, encoding="utf-8")
    rendered = time.perf_counter()
    cpu_after = _cpu()
    json_text = to_json(report, indent=None)
    return {"generate_s": round(rendered - started, 2),
            "generate_cpu_main_s": round(cpu_after[0] - cpu_before[0], 2),
            "generate_cpu_worker_s": round(cpu_after[1] - cpu_before[1], 2), "prove_and_load_s": round(gathered - started, 2),
            "findings_and_model_s": round(built - gathered, 2), "render_s": round(rendered - built, 2),
            "html_mb": round(len(html.encode()) / 1e6, 2), "json_mb": round(len(json_text.encode()) / 1e6, 2),
            "tenants": len(report.fleet.tenants), "municipalities": len(report.fleet.municipalities),
            "attachments": len(report.proof.attachments), "reachable": len(report.proof.reachable),
            "findings": len(report.findings.rows), "failed_mandatory": report.findings.failed_mandatory,
            "stacks": report.findings.stacks}


def browse(page_file: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else (errors.append("request " + route.request.url), route.abort()))
        started = time.perf_counter()
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=30000)
        wall = time.perf_counter() - started
        interactive = page.evaluate("performance.now()")
        cells = page.locator("#matrix button.cell")
        biggest = max(range(cells.count()), key=lambda i: int(cells.nth(i).inner_text()))
        t0 = time.perf_counter()
        cells.nth(biggest).click()
        page.wait_for_selector("#cell-entries details.entry")
        cell_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        page.fill("#reach-from", "site:011002:site-mynumber")
        page.fill("#reach-to", "011002")
        page.click("#reach-search button[type=submit]")
        page.wait_for_selector("#reach-verdict")
        search_s = time.perf_counter() - t0
        browser.close()
    return {"interactive_s": round(interactive / 1000, 2), "load_wall_s": round(wall, 2), "open_cell_s": round(cell_s, 2),
            "search_s": round(search_s, 2), "browser_errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--out", type=Path, help="keep the page here (default: a temporary folder)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="govcloud-report-country-"))
    try:
        t0 = time.perf_counter()
        ws, reg, plans = country_workspace(tmp / "ws")
        fixture_s = time.perf_counter() - t0
        out = (args.out or tmp / "report.html").resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        result = {"fixture_s": round(fixture_s, 2), **generate(ws, reg, plans, out)}
        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        result["load_average_1m"] = round(os.getloadavg()[0], 1)
        if not args.no_browser and CHROMIUM.exists():
            result.update(browse(out))
        result["targets_met"] = (result["generate_s"] < 10 and result["html_mb"] < 15
                                 and result.get("interactive_s", 0) < 3 and not result.get("browser_errors"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:22} {value}")
    if not result["targets_met"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The report in a real browser: headless Chromium from Debian's packages, driven by Playwright.

`make test` installs the `chromium` package; these tests skip (saying why) only where it is
absent. Every request the page makes is intercepted: anything but the page itself (file:) or an
inline data: URL fails the test. Screenshots go to build/test-artifacts/report/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.browser import ARGS, CHROMIUM
from tests.conftest import REPO
from tests.report.conftest import govcloud
from tests.report.test_report_service import AUDIT, DRIFT

ARTIFACTS = REPO / "build" / "test-artifacts" / "report"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make test` installs "
                                                                "Debian's chromium package (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A page with every console error, page error and outside request recorded."""

    def __init__(self, browser, path: Path):
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.route("**/*", self._route)
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready=true]", timeout=20000)

    def _route(self, route):
        url = route.request.url
        if url == self.url or url.startswith("data:"):
            route.continue_()
        else:
            self.problems.append(f"request left the page: {url}")
            route.abort()

    def shot(self, name: str, selector: str | None = None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        (self.page.locator(selector) if selector else self.page).screenshot(path=str(target))
        assert target.stat().st_size > 5000
        return target


@pytest.fixture(scope="module")
def change_page(changed, tmp_path_factory) -> Path:
    head, base = changed
    live = tmp_path_factory.mktemp("live")
    (live / "audit.json").write_text(json.dumps(AUDIT))
    (live / "drift.json").write_text(json.dumps(DRIFT))
    out = live / "report.html"
    govcloud(head, "report", "--base", str(base), "--live", str(live / "audit.json"), "--live", str(live / "drift.json"),
             "--out", str(out), "--lang", "ja")
    return out


def test_sample_change_report_in_chromium(browser, change_page):
    p = Page(browser, change_page)
    page = p.page
    assert page.evaluate("document.documentElement.lang") == "ja"
    # the three questions a reviewer must answer from the page alone
    answers = page.locator("#review-answers")
    assert "132012-juki-prod" in answers.inner_text() and "132012-juki-staging" in answers.inner_text()
    assert "2 件" in page.locator("#answer-mynumber").inner_text()
    p.shot("sample-summary-ja")
    page.click("#lang-switch")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#h-summary").inner_text() == "Summary"
    assert "2 new path(s) reach the My Number zone" in page.locator("#answer-mynumber").inner_text()
    for section in ("summary", "network", "reachability", "findings", "change", "live"):
        node = page.locator(f"#{section}")
        assert node.is_visible() and node.inner_text().strip()
        p.shot(f"sample-{section}-en", f"#{section}")
    # the change: per stack, with the detail folded away
    assert page.locator("#change-stacks tbody tr").count() == 3
    assert not page.locator("#change-detail table").first.is_visible()
    # the live section: what drifted and which invariant it breaks
    assert "internet-never-reaches-mynumber" in page.locator("#drift").inner_text()
    # the drawing: tables (segments), the inspection function and the inter-cloud link
    svg = page.locator("#net-view svg")
    assert svg.locator("g.tbl").count() >= 8 and svg.locator("g.hub").count() == 2
    assert "132012-juki-prod" in svg.text_content()
    assert not [pr for pr in p.problems]


def test_matrix_cell_opens_paths_and_search_answers(browser, change_page):
    p = Page(browser, change_page)
    page = p.page
    cell = page.locator('#matrix button.cell[data-src="internet"][data-dst="mynumber"]')
    assert cell.inner_text() == "1"
    cell.click()
    entries = page.locator("#cell-entries details.entry")
    assert entries.count() == 1
    entries.first.locator("summary").click()
    hops = entries.first.locator("ol.path li").all_inner_texts()
    assert hops[0] == "271004-denshi-shinsei-prod (source)" and hops[-1] == "tenant minato-data-kokuho-prod"
    assert any("inspection function" in h for h in hops)
    p.shot("sample-cell-open", "#reachability")
    # can A reach B: yes, with the path; no, verified
    page.fill("#reach-from", "271004-denshi-shinsei-prod")
    page.fill("#reach-to", "minato-data-kokuho-prod")
    page.click("#reach-search button[type=submit]")
    assert "1" in page.locator("#reach-verdict").inner_text()
    assert page.locator("#reach-answer details.entry").count() == 1
    page.fill("#reach-from", "site:132012:shiyakusho-internet")
    page.fill("#reach-to", "131016-juki-prod")
    page.click("#reach-search button[type=submit]")
    verdict = page.locator("#reach-verdict").inner_text()
    assert "site:132012:shiyakusho-internet" in verdict and "131016-juki-prod" in verdict
    assert page.locator("#reach-answer details.entry").count() == 0
    page.fill("#reach-from", "nobody-at-all")
    page.click("#reach-search button[type=submit]")
    assert "nobody-at-all" in page.locator("#reach-answer").inner_text()
    assert not p.problems


def test_keyboard_reaches_a_matrix_cell_and_enter_opens_it(browser, change_page):
    p = Page(browser, change_page)
    page = p.page
    page.locator("body").focus()
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cell')"):
            break
    else:
        pytest.fail("Tab never reached a matrix cell")
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    heading = page.locator("#cell-entries h3").inner_text()
    assert heading and label.split(":")[0].split(" → ")[0] in ("mynumber", "lgwan", "internet")
    # screen readers: every header cell says what it heads
    assert page.evaluate("document.querySelectorAll('th:not([scope])').length") == 0
    assert page.evaluate("document.querySelectorAll('table').length") >= 10
    assert not p.problems


@pytest.mark.slow
def test_whole_country_report_in_chromium(browser, tmp_path):
    """1,741 municipalities, ~6,300 attachments, ~70,000 reachable triples: aggregated, filterable."""
    import sys

    sys.path.insert(0, str(REPO))
    from benchmarks.report_country import country_workspace, generate

    ws, reg, plans = country_workspace(tmp_path / "ws")
    out = tmp_path / "country.html"
    figures = generate(ws, reg, plans, out, lang="en")
    assert figures["municipalities"] == 1741 and figures["reachable"] > 50000 and figures["html_mb"] < 15
    p = Page(browser, out)
    page = p.page
    svg = page.locator("#net-view svg")
    assert svg.locator("g.grp").count() < 200          # aggregated, not six thousand boxes
    p.shot("country-network", "#network")
    page.fill("#net-filter", "011002")
    # (the page's CSP forbids eval, so no wait_for_function: the filter is debounced, poll for it)
    for _ in range(50):
        if "site:011002:site-mynumber" in page.locator("#net-view svg").text_content():
            break
        page.wait_for_timeout(100)
    assert "site:011002:site-mynumber" in page.locator("#net-view svg").text_content()
    assert page.locator("#net-shown").inner_text().startswith("showing ")
    p.shot("country-network-filtered", "#network")
    page.select_option("#net-group", "prefecture")
    page.fill("#net-filter", "")
    page.wait_for_timeout(300)
    assert "北海道" in page.locator("#net-view svg").text_content()
    page.click("#zoom-in")
    cells = page.locator("#matrix button.cell")
    biggest = max(range(cells.count()), key=lambda i: int(cells.nth(i).inner_text()))
    cells.nth(biggest).click()
    assert page.locator("#cell-entries details.entry").count() == 100        # paged, with "show more"
    page.locator("#cell-entries button.more").click()
    assert page.locator("#cell-entries details.entry").count() == 200
    page.fill("#cell-entries input.entry-filter", "011002-juki-prod")
    filtered = page.locator("#cell-entries details.entry summary").all_inner_texts()
    assert filtered and all("011002-juki-prod" in text for text in filtered)
    p.shot("country-reachability", "#reachability")
    assert page.locator("#findings-by-control tbody tr").count() >= 2
    assert not p.problems

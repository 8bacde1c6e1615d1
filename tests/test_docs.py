"""The README is the front door; the reference manual in docs/ is built by MkDocs with --strict.

mkdocs.yml turns every link, anchor and navigation problem into a warning (its `validation`
section), and --strict makes a warning fail the build ("Aborted with N warnings in strict mode"),
so a broken link or a page left out of the navigation fails here, not on a reader's screen.
README.md is not part of the MkDocs site (it lives outside docs_dir), so its links are checked
here directly, with the same Markdown parser MkDocs uses (Python-Markdown).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import markdown

from tests.conftest import REPO

README = REPO / "README.md"
DOCS = REPO / "docs"
# What the front door may grow to before the reference belongs in docs/ again (issue 18: it was a
# 1,031-line manual).
README_MAX_LINES = 200


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    # The installed .venv's mkdocs (the lock's "docs" extra), never one from PATH.
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=config.parent, capture_output=True, text=True, timeout=300)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _render(path: Path) -> _Collector:
    # toc gives headings the ids MkDocs gives them (its default slugify), so anchors can be checked.
    html = markdown.markdown(path.read_text(encoding="utf-8"), extensions=["tables", "toc", "fenced_code"])
    collector = _Collector()
    collector.feed(html)
    return collector


def _relative_links(path: Path) -> list[str]:
    out = []
    for link in _render(path).links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("#"):
            continue   # another site, mailto:, or a place on the same page
        out.append(link)
    return out


def _fenced_lines(path: Path) -> list[str]:
    """Lines inside the ``` blocks of a Markdown file."""
    lines, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            lines.append(line)
    return lines


def test_the_manual_builds_strict(tmp_path):
    result = mkdocs_build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, f"mkdocs build --strict failed (see mkdocs.yml, docs/):\n{result.stdout}{result.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()


def test_a_broken_link_anchor_or_page_outside_the_nav_fails_the_build(tmp_path):
    # The configuration itself is under test: with strict off or a validation level back at its
    # default ("info" for anchors and omitted files) these would pass in silence.
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8")
                     + "\n[gone](no-such-page.md) and [nowhere](tour.md#no-such-heading)\n", encoding="utf-8")
    (tmp_path / "docs" / "stray.md").write_text("# Not in the nav\n", encoding="utf-8")
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    # Each one a warning (at "info" MkDocs still logs it, and --strict lets it pass).
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    for expected in ("'no-such-page.md'", "'#no-such-heading'", 'not included in the "nav"'):
        assert any(expected in line for line in warnings), f"no warning for {expected}:\n{log}"
    assert "stray.md" in log and "Aborted with 3 warnings in strict mode" in log, log


def test_every_relative_link_of_the_readme_names_a_file_that_exists():
    links = _relative_links(README)
    assert any(link.startswith("docs/") for link in links), "the README must say where to read on (docs/)"
    broken = []
    for link in links:
        parts = urlsplit(link)
        target = (README.parent / unquote(parts.path)).resolve()
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif parts.fragment and target.suffix == ".md" and parts.fragment not in _render(target).ids:
            broken.append(f"{link}: no heading with id '{parts.fragment}' in {target.relative_to(REPO)}")
    assert not broken, "README.md links to what is not there:\n" + "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme_and_the_manuals_home():
    # The README's "where to read on" table and docs/index.md's table are the maps (mkdocs.yml's nav
    # is checked by the build); a page only the site's sidebar knows is easy to miss.
    for page in (README, DOCS / "index.md"):
        linked = {(page.parent / unquote(urlsplit(link).path)).resolve() for link in _relative_links(page)}
        missing = sorted(str(p.relative_to(REPO)) for p in DOCS.glob("*.md")
                         if p.resolve() not in linked and p != page)
        assert not missing, f"pages of docs/ that {page.relative_to(REPO)} does not link: {missing}"


def test_the_readme_is_the_front_door():
    text = README.read_text(encoding="utf-8")
    code = _fenced_lines(README)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for command in ("demo", "test"):
        assert any(re.match(rf"make {command}\b", line) for line in code), f"README: `make {command}` in a code block"
        assert re.search(rf"^{command}:", makefile, re.M), f"Makefile has no `{command}` target"
    assert "## Five-minute tour" in text and "## Where to read on" in text
    lines = text.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move reference material into docs/"


def test_the_readmes_commands_are_in_the_manual():
    # The README's tour is a short copy of docs/tour.md: a command shown there must be in the manual too,
    # so the two cannot drift apart in silence.
    manual = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    commands = [line for line in _fenced_lines(README) if line.startswith("govcloud ")]
    assert commands
    missing = [line for line in commands if line not in manual]
    assert not missing, f"README commands that no docs/ page shows: {missing}"

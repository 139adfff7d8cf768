"""The documentation site as a reader sees it, in Chromium: opened from disk, every link leads
to a page; served on loopback, the reference shows cross-references as links (no raw roles)
and defaults as values, and the teaching page renders.

The site is built once here with ``mkdocs build --strict`` (about 30 s). Besides the pages,
its objects inventory (what mkdocstrings registered) must hold every public name.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import clipdrop_widgets

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
                           "--site-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text("utf-8"))
    return parser


def test_every_link_of_the_site_works_opened_from_disk(site: Path):
    # 404.html is for web servers only (they show it at any address): its links are absolute.
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    parsed = {page: _parse(page) for page in pages}
    broken = []
    for page, links in parsed.items():
        for link in links.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "#", "data:", "mailto:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.is_file():  # a folder would show as a listing from disk
                broken.append(f"{page.relative_to(site)} -> {link}")
            elif parts.fragment.startswith("clipdrop_widgets.") and \
                    parts.fragment not in parsed[target].ids:
                broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert not broken, broken[:20]
    assert len(pages) > 30


def _inventory(path: Path) -> set[str]:
    raw = path.read_bytes()
    header_end = 0
    for _ in range(4):  # four text lines, then the zlib-compressed entries
        header_end = raw.index(b"\n", header_end) + 1
    entries = zlib.decompress(raw[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in entries.splitlines()}


def test_the_objects_inventory_has_every_public_name(site: Path):
    names = _inventory(site / "objects.inv")
    missing = [n for n in clipdrop_widgets.__all__ if f"clipdrop_widgets.{n}" not in names]
    assert not missing


def test_the_reference_and_the_teaching_page_in_chromium(browser, served, shot):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{served}/reference/client.html", wait_until="load")
        text = page.inner_text("article")
        assert not re.search(r":(class|meth|func|attr|data|mod):`", text)
        assert "timeout=(10.0, 120.0)" in text  # the value, not the constant's name
        assert "C.DEFAULT_TIMEOUT" not in text
        link = page.locator("article a.autorefs", has_text="BudgetExceededError").first
        link.click()
        page.wait_for_url(re.compile(r"errors\.html#clipdrop_widgets\.BudgetExceededError$"))
        page.goto(f"{served}/reference/client.html#clipdrop_widgets.Client", wait_until="load")
        shot("reference-client", page)
        page.goto(f"{served}/teaching.html", wait_until="load")
        assert page.locator("h1").inner_text().startswith("Teaching")
        assert "practice counter" in page.inner_text("article")
        shot("teaching", page)
    finally:
        context.close()


def test_the_site_opened_from_disk_navigates_in_chromium(browser, site: Path):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto((site / "index.html").as_uri(), wait_until="load")
        page.locator("article a", has_text="Teaching").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/teaching.html")
        assert page.locator("h1").inner_text().startswith("Teaching")
    finally:
        context.close()

"""MkDocs hooks: the changelog and the benchmarks are pages of the site; links between
notebooks point at their pages.

``CHANGELOG.md`` and ``benchmarks/`` live beside ``docs/`` (the benchmarks' figures are
reproduced by the scripts next to them). The changelog page shows ``CHANGELOG.md``; the
benchmarks' Markdown files are added to the site as ``benchmarks/README.md`` (the section's
index) and ``benchmarks/results/*.md`` with the pictures beside them; their links into
``docs/images`` are pointed at the site's ``images/``.

The notebooks link to each other by file name (``01_text_to_image.ipynb``), which works in
JupyterLab, on GitHub and on Binder. On the site each notebook is a page of its own
(``notebooks/01_text_to_image.html``), so those links are rewritten to the pages here. A link to a
notebook that is not a page is reported as a warning, which ``mkdocs build --strict`` turns
into a failed build.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.notebook_links")

_BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
_CHANGELOG = _BENCHMARKS.parent / "CHANGELOG.md"
_BENCHMARK_FILES = {".md", ".png", ".jpg", ".jpeg", ".svg", ".gif"}
_DOCS_IMAGES = re.compile(r"\]\(((?:\.\./)+)docs/images/")
_LINK = re.compile(r'href="(?P<name>[0-9]{2}_[A-Za-z0-9_-]+\.ipynb)(?P<anchor>#[^"]*)?"')


def on_page_content(html, page, config, files):
    src = page.file.src_uri
    if not (src.startswith("notebooks/") and src.endswith(".ipynb")):
        return html

    def point_at_page(match: re.Match[str]) -> str:
        target = files.get_file_from_path(posixpath.join("notebooks", match["name"]))
        if target is None:
            log.warning("%s links to %s, which is not a page of the site", src, match["name"])
            return match.group(0)
        return f'href="{target.url_relative_to(page.file)}{match["anchor"] or ""}"'

    return _LINK.sub(point_at_page, html)


def on_files(files, config):
    for path in sorted(_BENCHMARKS.rglob("*")):
        if path.suffix.lower() not in _BENCHMARK_FILES or "out" in path.parts:
            continue
        uri = posixpath.join("benchmarks", path.relative_to(_BENCHMARKS).as_posix())
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "changelog.md":  # CHANGELOG.md, from the repository root
        return _CHANGELOG.read_text().replace("](docs/", "](")
    if page.file.src_uri.startswith("benchmarks/"):  # ../docs/images/x.png -> ../images/x.png
        return _DOCS_IMAGES.sub(lambda m: "](" + m[1] + "images/", markdown)
    return markdown

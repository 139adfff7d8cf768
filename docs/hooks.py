"""MkDocs hook: links between notebooks point at their pages on the site.

The notebooks link to each other by file name (``01_text_to_image.ipynb``), which works in
JupyterLab, on GitHub and on Binder. On the site each notebook is a page of its own
(``notebooks/01_text_to_image/``), so those links are rewritten to the pages here. A link to a
notebook that is not a page is reported as a warning, which ``mkdocs build --strict`` turns
into a failed build.
"""

from __future__ import annotations

import logging
import posixpath
import re

log = logging.getLogger("mkdocs.hooks.notebook_links")

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

"""The scripts the Studio's Voila page asks for at once, in its head (``<link rel="preload">``).

Voila's page learns which scripts it needs only as it runs them: its bundle's chunks once
``voila.js`` has run, the widget extensions' entry files once those have run, the entries'
chunks after that, and more of Voila's chunks once the kernel connects. That is four or five
rounds of requests, each waiting on the one before, while the page's own script work waits
on them in turn (issue 22: a timeline of one preheated start spent about a third of its time
waiting on scripts it could have had). The Studio's template (``share/voila/templates/
clipdrop``) names every one of them in the page's head, in the order the page uses them, so
the browser fetches them while it runs the first.

The list is recorded from a real page load (`record`, run by
``tests/browser/make_preload.py``) together with the build it was recorded from: Voila's
version and each front-end extension's entry file (its name carries a hash of that build).
`page_config_hook`, set as Voila's ``page_config_hook`` by the launcher, adds the list to the
page's configuration only when the installed build is that one; otherwise the page loads as
Voila's own page does, without preloads (a script preloaded and never used is only waste,
but a list from another build would be mostly that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .page import href_safe, page_config_keys

__all__ = ["RECORD", "PAGE_CONFIG_KEY", "build_of", "preload_paths", "page_config_hook",
           "record"]

#: The recorded list: ``{"build": build_of(...), "scripts": [path, ...]}``, each path relative
#: to the server's base URL (``voila/static/5764.voila.js``).
RECORD = Path(__file__).parent.with_name("share") / "voila" / "preload.json"
#: The key of the page configuration that carries the preloads (absolute paths) to the template.
PAGE_CONFIG_KEY = "clipdropPreload"


def build_of(page_config: dict[str, Any]) -> dict[str, Any]:
    """The build a page configuration describes: Voila's version and, for each front-end
    extension the page loads, its entry file."""
    return {"voila": page_config.get("appVersion"),
            "extensions": {ext.get("name"): ext.get("load")
                           for ext in page_config.get("federated_extensions") or []}}


def preload_paths(page_config: dict[str, Any], *, record_file: Path | None = None) -> list[str]:
    """The recorded scripts (paths relative to the base URL), or ``[]`` when the record
    (``record_file``, default `RECORD`) is missing, unreadable or of another build than
    ``page_config``'s."""
    try:
        recorded = json.loads((record_file or RECORD).read_text(encoding="utf-8"))
        scripts = recorded["scripts"]
        if recorded["build"] != build_of(page_config):
            return []
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [s for s in scripts if isinstance(s, str) and _safe_path(s)]


def page_config_hook(page_config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Voila's ``page_config_hook``: ``page_config`` with the page's own front end
    (`page.page_config_keys`) where it fits; otherwise with `PAGE_CONFIG_KEY` set to the
    preloads' absolute paths (under Voila's ``baseUrl``) when the recorded build is the
    installed one."""
    base = str(kwargs.get("base_url") or page_config.get("baseUrl") or "/")
    base = base if base.endswith("/") else base + "/"
    own = page_config_keys(page_config, base)
    if own:  # the page's own front end (launcher/page.py): Voila's scripts are not loaded
        return {**page_config, **own}
    paths = preload_paths(page_config)
    if not paths:
        return page_config
    return {**page_config, PAGE_CONFIG_KEY: [base + p for p in paths]}


def record(page_url: str, page_config: dict[str, Any], script_urls: Iterable[str], *,
           record_file: Path | None = None) -> list[str]:
    """Write ``record_file`` (default `RECORD`) from one page load: the page's address, the
    ``page_config`` it ran with and ``script_urls`` (full URLs, in the order the page asked
    for them). Only scripts of the page's own server under its base URL are kept; the page's
    ``voila-style.js`` (in the head, before the preloads) is left out; ``voila.js`` comes
    first. Returns the paths."""
    page = urlsplit(page_url)
    base = str(page_config.get("baseUrl") or "/")
    base = base if base.endswith("/") else base + "/"
    paths: list[str] = []
    for url in script_urls:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if (parts.scheme, parts.netloc) != (page.scheme, page.netloc) or not path.startswith(base):
            continue
        path = path[len(base):]
        if path.split("?")[0].endswith("/voila-style.js") or path in paths:
            continue
        if _safe_path(path):
            paths.append(path)
    paths.sort(key=lambda p: p != "voila/static/voila.js")  # stable: the rest keep their order
    text = json.dumps({"build": build_of(page_config), "scripts": paths}, indent=1)
    (record_file or RECORD).write_text(text + "\n", encoding="utf-8")
    return paths


def _safe_path(path: str) -> bool:
    """A path the template may put in an ``href``: Voila's static files or extensions only."""
    return path.startswith(("voila/static/", "voila/labextensions/")) and href_safe(path)

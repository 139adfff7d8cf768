"""Which front end the Studio's Voila page runs: its own small one, or Voila's.

Voila's own page starts a JupyterLab application (4.8 MB of scripts) to show the notebook's
outputs; for the Studio, whose outputs are widgets, that was most of a preheated start
(issue 22, ``benchmarks/results/studio_start.md``). The Studio's template
(``share/voila/templates/clipdrop``) can instead load ``studio-page.js`` (built from
``js/src/studio-page.js``): ipywidgets' own widget manager, connected to the page's kernel,
the other widget libraries loaded from the very JupyterLab extensions Voila's page loads.

It is used only where it fits: the widget specs it was built for (``studio-page.json``) are
the kernel side's (``ipywidgets``), and the files are there. Otherwise, or with
``CLIPDROP_STUDIO_PAGE=voila`` in the launcher's environment, the page is Voila's own.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["STATIC", "PAGE_ENV", "fits", "page_config_keys", "version_tag"]

#: The template's static folder, served by Voila at ``voila/templates/clipdrop/static/``.
STATIC = Path(__file__).parent.with_name("share") / "voila" / "templates" / "clipdrop" / "static"
#: ``voila`` here (read by the launcher's Voila) selects Voila's own front end.
PAGE_ENV = "CLIPDROP_STUDIO_PAGE"
_URL = "voila/templates/clipdrop/static/"
_OWN_MANAGERS = {"@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager7",
                 "@voila-dashboards/widgets-manager8"}


def _kernel_specs() -> dict[str, str]:
    from ipywidgets import _version

    return {"@jupyter-widgets/base": _version.__jupyter_widgets_base_version__,
            "@jupyter-widgets/controls": _version.__jupyter_widgets_controls_version__}


def fits(*, static: Path | None = None) -> bool:
    """Whether the page's own front end can show this environment's widgets: its files are
    in ``static`` (default `STATIC`) and built for the widget specs ipywidgets speaks, and
    `PAGE_ENV` does not ask for Voila's."""
    if os.environ.get(PAGE_ENV, "").strip().lower() == "voila":
        return False
    static = static or STATIC
    try:
        built = json.loads((static / "studio-page.json").read_text(encoding="utf-8"))
        present = all((static / name).is_file() for name in ("studio-page.js", "studio-page.css"))
        return present and built["specs"] == _kernel_specs()
    except (OSError, ValueError, KeyError, TypeError, ImportError, AttributeError):
        return False


def page_config_keys(page_config: dict[str, Any], base: str) -> dict[str, Any]:
    """What the template needs to load the page's own front end (``base``: the server's base
    URL, ending in ``/``): its script and stylesheet, and the widget extensions' entry files to
    fetch at once. ``{}`` when it does not fit."""
    if not fits():
        return {}
    root = str(page_config.get("fullLabextensionsUrl") or base + "voila/labextensions")
    entries = [f"{root.rstrip('/')}/{ext.get('name')}/{str(ext.get('load')).lstrip('./')}"
               for ext in page_config.get("federated_extensions") or []
               if ext.get("name") not in _OWN_MANAGERS and ext.get("load")]
    return {"clipdropPage": base + _URL + "studio-page.js?v=" + version_tag("studio-page.js"),
            "clipdropPageCss": base + _URL + "studio-page.css?v=" + version_tag("studio-page.css"),
            "clipdropPreload": [e for e in entries if href_safe(e)]}


@functools.lru_cache(maxsize=8)
def version_tag(name: str) -> str:
    """A hash of the static file ``name`` (12 hex digits), put in its address as ``?v=``: a
    browser never runs a copy cached before an upgrade, and the server (tornado's static
    handler) lets it cache this one for good."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def href_safe(url: str) -> bool:
    """Whether ``url`` may go into an ``href`` of the template as it is: no quote, angle
    bracket, backslash, space or newline, and no ``..``."""
    return not any(c in url for c in "\"'<>\\ \n") and ".." not in url

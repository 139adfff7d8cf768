"""One lock for every change to widget state that can come from more than one thread.

Three kinds of thread change the kernel side of these widgets:

* the main shell, running notebook cells;
* the apps' and sweeps' worker threads, showing results and progress;
* in ipykernel 7 and later, the thread of a kernel *subshell*: JupyterLab 4.4 and later send
  the messages of widget comms to a subshell by default (``commsOverSubshells``), and, until
  that subshell exists for a given widget, to the main shell. Messages from two widgets can
  then be handled at the same time, in either order.

`UI_LOCK` is held for each of those changes to the widgets an app reads when it runs, so a run
sees one consistent state (a prompt box and the text linked to it agree) and a result shown by
a worker never interleaves with what the page sends.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import ipywidgets as widgets

__all__ = ["UI_LOCK", "lock_page_updates"]

#: Held for every widget change made from a worker thread or a page message, and the main
#: thread's changes to the same widgets: one lock for all apps, as a Studio's apps share a
#: history. Re-entrant.
UI_LOCK = threading.RLock()


def lock_page_updates(widget: widgets.Widget) -> None:
    """Apply the page's state updates to ``widget`` (typing, choosing) under `UI_LOCK`.

    ipywidgets applies a page update with ``set_state``, observers included; with it held, a
    run started by another message (on another thread) never reads a half-applied update.
    """
    if getattr(widget.set_state, "_cdw_locked", False):
        return
    apply = widget.set_state

    @functools.wraps(apply)
    def locked(sync_data: dict[str, Any]) -> None:
        with UI_LOCK:
            apply(sync_data)

    locked._cdw_locked = True  # type: ignore[attr-defined]
    widget.set_state = locked  # type: ignore[method-assign]

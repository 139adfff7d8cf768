"""PageHelper: accessibility for an app's part of the page, where the widgets fall short.

ipywidgets gives a slider's handle no accessible name, hides the label of a menu without a
description, and shows images without ``alt``; an HTML status line is not announced; and a
canvas is only pixels to a screen reader. The axe-core audit of the Studio
(``tests/browser/test_browser_a11y.py``) found each. One invisible helper per app fixes them
in the browser (``a11y.js``): names for unnamed controls (from their visible label, title or
placeholder), ``alt`` from an image's title, ``role="status"`` with ``aria-live="polite"``
on the status line (class ``cdw-status``), and the text alternatives Python gives for the
stage's picture and compare frame. It changes attributes only, never what is drawn.
"""

from __future__ import annotations

import anywidget
import traitlets

from ._esm import esm_source
from ._ui import Layout

__all__ = ["LIVE_CLASS", "PageHelper", "STATUS_CLASS"]

#: The class of an app's status line: the helper makes it a polite live region.
STATUS_CLASS = "cdw-status"
#: The class of another line whose changes are announced (a photo's facts and warnings).
LIVE_CLASS = "cdw-live"


class PageHelper(anywidget.AnyWidget):
    """Invisible; put one inside an app's stage (class ``cdw-stage``). Traits (synced):

    * ``picture`` (str, default ``""``): the text alternative of the stage's painter: what it
      shows and what is painted (e.g. ``"Photo, 1500x2000 pixels, 12 % masked"``), put
      before the painter's own how-to-draw words.
    * ``compare`` (str, default ``""``): the text alternative of the compare frame.

    `focus_stage` moves the keyboard focus to the stage (after Keep, Discard, Send to).
    """

    _esm = esm_source("a11y.js")

    picture = traitlets.Unicode("").tag(sync=True)
    compare = traitlets.Unicode("").tag(sync=True)

    def __init__(self) -> None:
        super().__init__(layout=Layout(width="0", height="0", margin="0",
                                               overflow="hidden"))

    def focus_stage(self) -> None:
        """Move the keyboard focus to the stage's painter (none: the app's Run button), once
        it is visible: after Keep, Discard or Send to, whose button is gone from view."""
        self.send({"focus": "stage"})

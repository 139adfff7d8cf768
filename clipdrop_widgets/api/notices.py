"""Notices: things the toolkit did for you that you should know about.

They are `warnings.warn` calls with the [`ClipdropNotice`][clipdrop_widgets.ClipdropNotice]
category, so notebooks
show them once and tests can catch them; the apps show them in their status line. A notice
points at the user's line that caused it, never at this package's internals.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["ClipdropNotice", "notify"]

#: The whole package (this module sits in ``api/``): frames there are ours, not the user's.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class ClipdropNotice(UserWarning):
    """Something the toolkit changed or chose for you (an inverted sketch, a thresholded mask)."""


def _outside_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside this package (2 = notify's caller)."""
    frame = sys._getframe(2)  # notify's caller
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level if frame is not None else 2


def notify(message: str) -> None:
    """Show ``message`` as a [`ClipdropNotice`][clipdrop_widgets.ClipdropNotice], attributed to the
    user's code."""
    warnings.warn(message, ClipdropNotice, stacklevel=_outside_stacklevel())

"""Notices: things the toolkit did for you that you should know about.

They are :class:`warnings.warn` calls with the :class:`ClipdropNotice` category, so notebooks
show them once and tests can catch them; the apps show them in their status line.
"""

from __future__ import annotations

import warnings

__all__ = ["ClipdropNotice", "notify"]


class ClipdropNotice(UserWarning):
    """Something the toolkit changed or chose for you (an inverted sketch, a thresholded mask)."""


def notify(message: str, *, stacklevel: int = 3) -> None:
    """Show ``message`` as a :class:`ClipdropNotice`."""
    warnings.warn(message, ClipdropNotice, stacklevel=stacklevel)

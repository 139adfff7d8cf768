"""The offline local engine: the ClipDrop HTTP contract, served on this machine.

- [`LocalEngine`][clipdrop_widgets.LocalEngine] answers requests in Python, independent of any
  socket, its work on a bounded pool (503 with ``Retry-After`` past it);
- [`serve`][clipdrop_widgets.serve] puts it on a loopback HTTP server run by tornado
  (``python -m clipdrop_widgets serve``);
- `LocalEngineAdapter` mounts it on a ``requests`` session (``local://engine/...``).

Every answer carries ``x-clipdrop-engine: local-preview``: its images are offline previews.
``serve`` and ``ServerHandle`` load tornado on first use, so the in-process engine does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .adapter import LocalEngineAdapter
from .core import EngineResponse, LocalEngine

if TYPE_CHECKING:
    from .server import ServerHandle, serve

__all__ = ["LocalEngine", "EngineResponse", "serve", "ServerHandle", "LocalEngineAdapter"]


def __getattr__(name: str) -> Any:
    if name in ("serve", "ServerHandle"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The offline local engine: the ClipDrop HTTP contract, served on this machine.

- [`LocalEngine`][clipdrop_widgets.LocalEngine] answers requests in Python, independent of any
  socket;
- [`serve`][clipdrop_widgets.serve] puts it on a loopback HTTP server (``python -m clipdrop_widgets
  serve``);
- `LocalEngineAdapter` mounts it on a ``requests`` session (``local://engine/...``).

Every answer carries ``x-clipdrop-engine: local-preview``: its images are offline previews.
"""

from .adapter import LocalEngineAdapter
from .core import EngineResponse, LocalEngine
from .server import ServerHandle, serve

__all__ = ["LocalEngine", "EngineResponse", "serve", "ServerHandle", "LocalEngineAdapter"]

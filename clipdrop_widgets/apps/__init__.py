"""The apps: one per operation, each with its inputs, a prompt, Run, Cancel, a status line and
a compare view; and the :class:`Studio` holding all five in tabs.

* :class:`TextToImageApp`, :class:`SketchToImageApp`, :class:`CleanupApp`,
  :class:`TextInpaintingApp`, :class:`ReplaceBackgroundApp`;
* :class:`Studio`: the five in tabs, one client, one history, credits and an API key box.

Every app takes a client (default ``Client()``: the local engine without a key) and runs its
requests in a worker thread; ``app.run()``, ``app.wait()``, ``app.cancel()``, ``app.status``
and ``app.result`` drive it from code.
"""

from __future__ import annotations

from ._base import App
from .cleanup import CleanupApp
from .replace_background import ReplaceBackgroundApp
from .sketch_to_image import SketchToImageApp
from .studio import Studio
from .text_inpainting import TextInpaintingApp
from .text_to_image import TextToImageApp

__all__ = ["App", "TextToImageApp", "SketchToImageApp", "CleanupApp", "TextInpaintingApp",
           "ReplaceBackgroundApp", "Studio"]

"""The apps: one per operation, each with its inputs, a prompt, Run, Cancel, a status line and
a compare view; and the [`Studio`][clipdrop_widgets.Studio] holding all eleven in tabs.

* [`TextToImageApp`][clipdrop_widgets.TextToImageApp],
  [`SketchToImageApp`][clipdrop_widgets.SketchToImageApp],
  [`CleanupApp`][clipdrop_widgets.CleanupApp],
  [`TextInpaintingApp`][clipdrop_widgets.TextInpaintingApp],
  [`ReplaceBackgroundApp`][clipdrop_widgets.ReplaceBackgroundApp],
  [`RemoveBackgroundApp`][clipdrop_widgets.RemoveBackgroundApp],
  [`UncropApp`][clipdrop_widgets.UncropApp], [`UpscaleApp`][clipdrop_widgets.UpscaleApp],
  [`ReimagineApp`][clipdrop_widgets.ReimagineApp],
  [`PortraitDepthApp`][clipdrop_widgets.PortraitDepthApp],
  [`PortraitNormalsApp`][clipdrop_widgets.PortraitNormalsApp];
* [`Studio`][clipdrop_widgets.Studio]: the eleven in grouped tabs, one client, one history,
  credits and an API key box.

Every app takes a client (default ``Client()``: the local engine without a key) and runs its
requests in a worker thread; ``app.run()``, ``app.wait()``, ``app.cancel()``, ``app.status``
and ``app.result`` drive it from code.
"""

from __future__ import annotations

from ._base import App
from .cleanup import CleanupApp
from .portrait import PortraitDepthApp, PortraitNormalsApp
from .reimagine import ReimagineApp
from .remove_background import RemoveBackgroundApp
from .replace_background import ReplaceBackgroundApp
from .sketch_to_image import SketchToImageApp
from .studio import Studio
from .text_inpainting import TextInpaintingApp
from .text_to_image import TextToImageApp
from .uncrop import UncropApp
from .upscale import UpscaleApp

__all__ = ["App", "TextToImageApp", "SketchToImageApp", "CleanupApp", "TextInpaintingApp",
           "ReplaceBackgroundApp", "RemoveBackgroundApp", "UncropApp", "UpscaleApp",
           "ReimagineApp", "PortraitDepthApp", "PortraitNormalsApp", "Studio"]

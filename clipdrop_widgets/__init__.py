"""clipdrop-widgets: Jupyter widgets for the ClipDrop image APIs, with an offline local engine.

>>> from clipdrop_widgets import Client
>>> client = Client()            # no key: the local engine, offline previews
>>> result = client.text_to_image("a red fox in the snow")

Names load lazily (PEP 562), so ``import clipdrop_widgets`` stays fast: the widgets,
OpenCV and matplotlib are imported only when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "__version__",
    # API layer
    "Client",
    "Result",
    "ImageInput",
    "ClipdropNotice",
    "ENDPOINTS",
    "Session",
    "read_record",
    # errors
    "ClipdropError",
    "ConfigurationError",
    "ConfigurationTypeError",
    "NotFoundError",
    "StateError",
    "InputError",
    "BudgetExceededError",
    "CancelledError",
    "InvalidResponseError",
    "APIConnectionError",
    "APITimeoutError",
    "AnswerLostError",
    "APIStatusError",
    "BadRequestError",
    "MissingAPIKeyError",
    "OutOfCreditsError",
    "InvalidAPIKeyError",
    "NotAcceptableError",
    "RateLimitError",
    "ServerError",
    "RunDirBusyError",
    "RunDirMismatchError",
    "RunLogError",
    # local engine
    "LocalEngine",
    "serve",
    # widgets and apps
    "SketchPad",
    "MaskPainter",
    "PromptBox",
    "CompareSlider",
    "HistoryStrip",
    "TextToImageApp",
    "SketchToImageApp",
    "CleanupApp",
    "TextInpaintingApp",
    "ReplaceBackgroundApp",
    "RemoveBackgroundApp",
    "UncropApp",
    "UpscaleApp",
    "ReimagineApp",
    "PortraitDepthApp",
    "PortraitNormalsApp",
    "App",
    "Studio",
    # prompt exploration
    "Sweep",
    "PromptExplorer",
    "export_html",
    # workshop gateway
    "GatewayDashboard",
    "serve_gateway",
    "Ledger",
]

_LAZY: dict[str, str] = {
    "Client": ".api.client",
    "Result": ".api.result",
    "ImageInput": ".api.inputs",
    "ClipdropNotice": ".api.notices",
    "Session": ".api.session",
    "read_record": ".api.records",
    "ENDPOINTS": ".contract.endpoints",
    "LocalEngine": ".engine",
    "serve": ".engine",
    "SketchPad": ".widgets",
    "MaskPainter": ".widgets",
    "PromptBox": ".widgets",
    "CompareSlider": ".widgets",
    "HistoryStrip": ".widgets",
    "TextToImageApp": ".apps",
    "SketchToImageApp": ".apps",
    "CleanupApp": ".apps",
    "TextInpaintingApp": ".apps",
    "ReplaceBackgroundApp": ".apps",
    "RemoveBackgroundApp": ".apps",
    "UncropApp": ".apps",
    "UpscaleApp": ".apps",
    "ReimagineApp": ".apps",
    "PortraitDepthApp": ".apps",
    "PortraitNormalsApp": ".apps",
    "Studio": ".apps",
    "App": ".apps",
    "Sweep": ".explore.sweep",
    "PromptExplorer": ".explore.explorer",
    "export_html": ".explore.report",
    "GatewayDashboard": ".gateway",
    "serve_gateway": ".gateway",
    "Ledger": ".gateway",
}
_LAZY.update(
    (name, ".contract.errors")
    for name in __all__
    if name.endswith("Error")
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'clipdrop_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .api.client import Client
    from .api.inputs import ImageInput
    from .api.notices import ClipdropNotice
    from .api.records import read_record
    from .api.result import Result
    from .api.session import Session
    from .apps import (
        App,
        CleanupApp,
        PortraitDepthApp,
        PortraitNormalsApp,
        ReimagineApp,
        RemoveBackgroundApp,
        ReplaceBackgroundApp,
        SketchToImageApp,
        Studio,
        TextInpaintingApp,
        TextToImageApp,
        UncropApp,
        UpscaleApp,
    )
    from .contract.endpoints import ENDPOINTS
    from .contract.errors import (
        AnswerLostError,
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        BadRequestError,
        BudgetExceededError,
        CancelledError,
        ClipdropError,
        ConfigurationError,
        ConfigurationTypeError,
        InputError,
        InvalidAPIKeyError,
        InvalidResponseError,
        MissingAPIKeyError,
        NotAcceptableError,
        NotFoundError,
        OutOfCreditsError,
        RateLimitError,
        RunDirBusyError,
        RunDirMismatchError,
        RunLogError,
        ServerError,
        StateError,
    )
    from .engine import LocalEngine, serve
    from .explore.explorer import PromptExplorer
    from .explore.report import export_html
    from .explore.sweep import Sweep
    from .gateway import GatewayDashboard, Ledger, serve_gateway
    from .widgets import CompareSlider, HistoryStrip, MaskPainter, PromptBox, SketchPad

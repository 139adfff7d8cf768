"""A workshop gateway: one ClipDrop key for the room, a budget and a fair share per seat.

- [`Ledger`][clipdrop_widgets.Ledger] holds the seats (hashed keys, credits) in SQLite;
- [`serve_gateway`][clipdrop_widgets.serve_gateway] serves the five ClipDrop paths to seat keys,
  calling the service with the room's key (or the local engine, to rehearse offline);
- [`GatewayDashboard`][clipdrop_widgets.GatewayDashboard] shows the teacher the seats, their spend
  and requests, live.

``clipdrop-widgets gateway seats add|list|revoke|topup`` and ``gateway serve`` are the command
line (`cli`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .ledger import Ledger, Seat
from .server import GatewayHandle, serve_gateway

__all__ = ["Ledger", "Seat", "serve_gateway", "GatewayHandle", "GatewayDashboard"]


def __getattr__(name: str) -> Any:  # the dashboard pulls in ipywidgets and matplotlib
    if name == "GatewayDashboard":
        return importlib.import_module(".dashboard", __name__).GatewayDashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from .dashboard import GatewayDashboard

"""Inside a JupyterHub user's server: the workshop gateway and the user's hub token, found in
the environment, so ``Client()`` and ``Studio()`` need no key.

The hub sets ``$JUPYTERHUB_API_TOKEN`` (the user's own token) and ``$JUPYTERHUB_USER`` in every
user's server; the teacher sets ``$CLIPDROP_HUB_GATEWAY`` to the gateway's address (in the
hub's ``c.Spawner.environment``, or ``singleuser.extraEnv`` on Zero to JupyterHub). Only that
explicit variable lets the hub token leave the server: it is never sent to an address the
teacher did not name. Precedence: explicit arguments (a key or a ``base_url``), then
``$CLIPDROP_API_KEY`` or ``$CLIPDROP_API_URL``, then the hub gateway.

``$JUPYTERHUB_USER`` names the seat only until the gateway answers: `check_hub_seat` replaces
it with the name the gateway charges for the token (its owner, as the hub says).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from .secret import Secret, clean_key

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["HUB_GATEWAY_ENV", "HubSeatConfig", "check_hub_seat", "hub_seat", "hub_seat_config"]

#: The gateway's address in a hub user's server (set by the teacher in the hub's config).
HUB_GATEWAY_ENV = "CLIPDROP_HUB_GATEWAY"


@dataclass(frozen=True)
class HubSeatConfig:
    """Where a hub user's calls go: the gateway's ``url``, the hub ``user`` name, the
    ``token`` (a `Secret`: no repr shows it)."""

    url: str
    user: str
    token: Secret


def hub_seat_config() -> HubSeatConfig | None:
    """The gateway and hub token from the environment, or ``None`` outside such a server."""
    url = os.environ.get(HUB_GATEWAY_ENV, "").strip()
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "").strip()
    if not url or not token:
        return None
    user = os.environ.get("JUPYTERHUB_USER", "").strip() or "?"
    return HubSeatConfig(url.rstrip("/"), user, Secret(token))


def hub_seat(url: str | None, key: Secret | None, *,
             given: bool) -> tuple[str | None, Secret | None, str | None]:
    """A client's server, key and hub user: ``url`` and ``key`` as configured (``given``: by
    argument) become the gateway and the hub token when nothing was given and no key is in the
    environment. The hub user is named whenever the key is this server's hub token sent to
    the gateway (so `Client.copy` keeps it)."""
    config = hub_seat_config()
    if config is None:
        return url, key, None
    if not given and key is None:
        return config.url, clean_key(config.token.reveal()), config.user
    mine = (key is not None and key.reveal() == config.token.reveal()
            and (url or "").rstrip("/") == config.url)
    return url, key, config.user if mine else None


def check_hub_seat(client: Client, *, timeout: float = 10.0) -> str | None:
    """Ask the gateway for ``client``'s hub seat (``GET /gateway/v1/seat``, free): sets
    ``client.remaining_credits`` and ``client.hub_user`` (the seat's name: the token's owner);
    returns the gateway's refusal (a 403 naming the group or roster, a 502 when the hub did
    not answer it), or a note that the gateway could not be reached or did not answer, or
    ``None`` when the seat answered. ``timeout`` in seconds (default 10: longer than the
    gateway's own wait for the hub, so its answer naming the hub arrives first)."""
    key = client._key
    if client.hub_user is None or key is None:
        return None
    try:
        answer = client._session.get(f"{client.base_url}/gateway/v1/seat", timeout=timeout,
                                     headers={"x-api-key": key.reveal()})
    except requests.Timeout:
        return f"the workshop gateway at {client.base_url} did not answer within {timeout:g} s"
    except requests.RequestException:
        return f"the workshop gateway at {client.base_url} could not be reached"
    if answer.status_code == 200:
        seat = answer.json()
        client.remaining_credits = float(seat["credits_remaining"])
        client.hub_user = str(seat.get("label") or client.hub_user)
        client._key_state = "verified"
        return None
    try:
        why = str(answer.json()["error"])
    except (ValueError, KeyError, TypeError):
        why = f"the workshop gateway answered {answer.status_code}"
    if answer.status_code in (401, 403):
        client._key_state = "rejected"
    return key.redact(why)

"""The session a Studio's page reopened, remembered for the next page of the same launch.

`clipdrop-widgets studio` (and any notebook that makes ``Studio(session_dir=FOLDER)``) builds
the Studio on the folder it was launched with. A person who picked an earlier session in the
header's **Reopen** menu and then reloaded the page got the launch folder back, with 0 results,
and their session seemed gone. So the choice is written down, in ``reopened.json`` of the
package's data folder (launch folder -> chosen folder), and a Studio launched on a folder
that is still empty opens the chosen one instead; choosing the launch folder again forgets it.
A launch folder that has results of its own is never replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock

from ..api.session import MANIFEST_NAME, Session, data_dir
from ..api.storage import write_atomic

__all__ = ["REOPENED_NAME", "forget", "remember", "reopened"]

#: The file, in the data folder, that maps launch folders to the sessions reopened there.
REOPENED_NAME = "reopened.json"


def _file() -> Path:
    return data_dir() / REOPENED_NAME


def _key(folder: str | os.PathLike[str]) -> str:
    return str(Path(folder).expanduser().resolve())


def _read() -> dict[str, str]:
    try:
        found = json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _update(launch: str | os.PathLike[str], chosen: str | None) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        mapping = _read()
        if chosen is None:
            if mapping.pop(_key(launch), None) is None:
                return
        else:
            mapping[_key(launch)] = chosen
        write_atomic(path, json.dumps(mapping, indent=1).encode())


def remember(launch: str | os.PathLike[str], chosen: str | os.PathLike[str]) -> None:
    """A page of the Studio launched on ``launch`` reopened ``chosen``; choosing ``launch``
    itself forgets the choice."""
    if _key(launch) == _key(chosen):
        forget(launch)
    else:
        _update(launch, _key(chosen))


def forget(launch: str | os.PathLike[str]) -> None:
    """No reopened session for ``launch`` any more."""
    _update(launch, None)


def reopened(launch: str | os.PathLike[str]) -> Path | None:
    """The session to show for a Studio launched on ``launch``: the one reopened there last,
    while ``launch`` has no result of its own and that session still exists; else ``None``."""
    chosen = _read().get(_key(launch))
    if chosen is None or not (Path(chosen) / MANIFEST_NAME).is_file():
        return None
    try:
        if len(Session(launch)) > 0:
            return None
    except ValueError:  # not a session folder (other files): leave it to the Studio to say
        return None
    return Path(chosen)

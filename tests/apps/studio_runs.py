"""Running a Studio's apps from Python in the app tests (no browser)."""

from __future__ import annotations

from clipdrop_widgets import Result, Studio


def made(studio: Studio, prompt: str = "a red fox in the snow") -> Result:
    """Run ``studio``'s Text to image with ``prompt`` and return its result (within 30 s)."""
    app = studio.apps["text_to_image"]
    app.prompt.value = prompt
    app.run()
    assert app.wait(30) and app.result is not None, app.status
    return app.result

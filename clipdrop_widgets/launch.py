"""Running the toolkit outside a notebook: the five-operation demo and the Studio launcher."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ._constants import API_KEY_ENV

__all__ = ["demo", "studio_notebook", "launch_studio"]

STUDIO_SOURCE = "from clipdrop_widgets import Studio\n\nStudio()"


def _demo_inputs() -> dict[str, Image.Image | np.ndarray]:
    """A sketch, a photo-like picture with an object, and its mask: made here, nothing fetched."""
    sketch = Image.new("L", (512, 512), 0)
    d = ImageDraw.Draw(sketch)
    d.ellipse((140, 120, 380, 400), outline=255, width=6)  # an owl's body
    d.ellipse((185, 180, 245, 240), outline=255, width=5)
    d.ellipse((275, 180, 335, 240), outline=255, width=5)
    d.line((60, 420, 460, 420), fill=255, width=8)  # the branch
    y, x = np.mgrid[0:384, 0:512]
    sky = np.dstack([90 + x * 60 // 512, 140 + y * 60 // 384, 200 + 0 * x]).astype(np.uint8)
    photo = Image.fromarray(sky, "RGB")
    ImageDraw.Draw(photo).rectangle((0, 280, 512, 384), fill=(70, 120, 60))
    ImageDraw.Draw(photo).ellipse((220, 200, 300, 300), fill=(200, 40, 40))  # the object
    mask = np.zeros((384, 512), bool)
    mask[190:310, 210:310] = True
    return {"sketch": sketch, "photo": photo, "mask": mask}


def demo(out_dir: str | os.PathLike[str], *, client: object | None = None) -> list[Path]:
    """Run all five operations (default: on the local engine) and write inputs and results.

    Returns the result files written in ``out_dir`` (created if missing).
    """
    from .client import Client

    c = client if client is not None else Client()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = _demo_inputs()
    inputs["sketch"].save(out / "input_sketch.png")
    inputs["photo"].save(out / "input_photo.png")
    Image.fromarray(inputs["mask"].astype(np.uint8) * 255).save(out / "input_mask.png")
    runs = {
        "text_to_image": lambda: c.text_to_image("a red fox in a snowy forest at sunset"),
        "sketch_to_image": lambda: c.sketch_to_image(inputs["sketch"], "an owl on a branch"),
        "cleanup": lambda: c.cleanup(inputs["photo"], inputs["mask"]),
        "text_inpainting": lambda: c.text_inpainting(inputs["photo"], inputs["mask"],
                                                     "a yellow balloon"),
        "replace_background": lambda: c.replace_background(inputs["photo"],
                                                           "a beach at night"),
    }
    written = []
    for name, run in runs.items():
        result = run()  # type: ignore[no-untyped-call]
        written.append(Path(result.save(out / name)))
        print(result.summary())
    return written


def studio_notebook(directory: str | os.PathLike[str]) -> Path:
    """Write a one-cell notebook showing ``Studio()`` into ``directory``; returns its path."""
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "studio",
                   "metadata": {}, "outputs": [], "source": STUDIO_SOURCE}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = Path(directory) / "studio.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    return path


def launch_studio(*, lab: bool = False, port: int = 8866, host: str = "127.0.0.1",
                  open_browser: bool = False) -> int:
    """Serve the Studio with Voila (default) or JupyterLab until Ctrl-C; returns the exit code.

    Without ``CLIPDROP_API_KEY`` the Studio runs on the local engine (offline previews).
    """
    tool = "jupyter-lab" if lab else "voila"
    exe = shutil.which(tool, path=os.pathsep.join([str(Path(sys.executable).parent),
                                                   os.environ.get("PATH", "")]))
    if exe is None:
        print(f"{tool} is not installed: pip install 'clipdrop-widgets[studio]'",
              file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="clipdrop-studio-"))
    notebook = studio_notebook(work)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / "config"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    browser = [] if open_browser else ["--no-browser"]
    if lab:
        cmd = [exe, "--ip", host, f"--port={port}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={work}", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *browser]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        where = f"http://{host}:{port}/lab/tree/studio.ipynb (the token is printed below)"
    else:
        cmd = [exe, str(notebook), f"--port={port}", f"--Voila.ip={host}",
               "--Voila.port_retries=0", "--show_tracebacks=False", *browser]
        where = f"http://{host}:{port}/"
    source = "the ClipDrop service" if os.environ.get(API_KEY_ENV) else \
        f"the local engine (offline previews; set {API_KEY_ENV} for the service)"
    print(f"clipdrop-widgets Studio on {source}: open {where}", flush=True)
    try:
        return subprocess.call(cmd, env=env, cwd=work)
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)

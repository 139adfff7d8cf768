"""Seconds from opening the Studio's page in Voila to a usable Run button, cold and preheated,
before and after the launcher's start-up flags, side by side.

    .venv/bin/python benchmarks/bench_studio_start.py [--rounds 3] [--before-code DIR]
        [--before-as-launched] [--before-without-preload] [--before-voila-page]
        [--modes cold,preheated]
        [--json out.json]

Serves the launcher's Studio notebook (``clipdrop_widgets.cli.studio_notebook``, a session
folder in a temporary folder) with Voila on loopback, as ``clipdrop-widgets studio`` does (its
``clipdrop`` template and its ``voila.py``), in four ways:

* ``cold``: Voila's default mode (the page's request starts a kernel and runs the notebook);
* ``preheated``: the launcher's ``--preheat_kernel=True --pool_size=1``: a kernel has already
  run the notebook; the page takes it and the pool refills;
* each of them ``before`` (without the launcher's `VOILA_FAST_START` flags; with
  ``--before-code DIR``, also with the ``clipdrop_widgets`` of ``DIR``, a checkout of the code
  before, put first on the kernels' ``PYTHONPATH``, and its Voila template; with
  ``--before-as-launched`` too, with DIR's own launcher flags and ``voila.py`` (those of its
  ``VOILA_FAST_START``, ``VOILA_CONFIG``, ``VOILA_PRELOAD`` it has): "before" is then DIR's
  ``clipdrop-widgets studio`` as it was; with
  ``--before-without-preload``, this code without the page's preloads; with
  ``--before-voila-page``, this code serving Voila's own page, preloads and all, instead of
  its own front end: ``CLIPDROP_STUDIO_PAGE=voila``) and as it is now.
  ``--modes preheated`` measures only that mode.

The two servers of a pair run at once and their rounds alternate, so both see the same
machine load, and which of the two goes first alternates too (before-now, now-before, ...).
One round = a fresh Chromium page (no cache), ``page.goto`` the Studio, wait
until a ``Run`` button is visible and enabled; the time is measured in Python from just before
``goto`` to the moment the button is found (Playwright polls every frame). Before each
preheated round the benchmark waits until both servers say their pool is filled again (plus
3 s for the notebook to finish in that kernel). Each round is also broken down by the page's
own clock (navigation timing and marks set as the first widget view and the first app
appear): the server's part up to the first byte (in the cold modes: a kernel started and the
notebook run), the HTML with the widget state, the page's scripts and styles, the widget
manager up to the first view, then the app, then a usable Run. Reported, not asserted.
Results: ``benchmarks/results/studio_start.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

from servers import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

import clipdrop_widgets  # noqa: E402
from clipdrop_widgets.cli import (  # noqa: E402
    VOILA_CONFIG,
    VOILA_FAST_START,
    VOILA_LOOPBACK_ONLY,
    VOILA_PRELOAD,
    studio_notebook,
)
from clipdrop_widgets.launcher.page import PAGE_ENV  # noqa: E402

RUN_BUTTON = "button.jupyter-button:has-text('Run'):not([disabled])"


def _launcher_of(code: Path) -> tuple[str, list[str]]:
    """The ``voila.py`` and the Voila flags the launcher of ``code`` (a folder holding
    ``clipdrop_widgets``) wrote and passed, as far as it had them."""
    script = ("import json, clipdrop_widgets.cli as c; print(json.dumps([''.join(getattr(c, n, '')"
              " for n in ('VOILA_CONFIG', 'VOILA_PRELOAD', 'VOILA_STYLESHEET')),"
              " getattr(c, 'VOILA_FAST_START', [])]))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        str(code), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True, cwd=code).stdout
    config, flags = json.loads(out)
    return config, flags


def _voila(notebook: Path, home: Path, port: int, preheat: bool,
           before: Path | None, *, preload: bool = True,
           name: str | None = None, as_launched: bool = False, voila_page: bool = False
           ) -> tuple[subprocess.Popen, Path]:
    """Voila as the launcher runs it; ``before`` (a folder, or ``None`` for the flags only):
    without `VOILA_FAST_START` and the preloads (`VOILA_PRELOAD`), with that folder's
    ``clipdrop_widgets`` first on the path and its Voila template; ``as_launched``: with
    that folder's launcher flags and ``voila.py`` (`_launcher_of`). ``preload=False``: now,
    without the preloads (what ``tests/browser/make_preload.py`` records from).
    ``voila_page``: now, with Voila's own page instead of the page's own front end."""
    name = name or f"{'pre' if preheat else 'cold'}-{'before' if before is not None else 'now'}"
    name = name.replace(", ", "-").replace(" ", "-")
    config, runtime = home / name / "config", home / name / "runtime"
    config.mkdir(parents=True)
    runtime.mkdir()
    now = before is None and preload
    flags = VOILA_FAST_START if before is None else []
    text = VOILA_CONFIG + (VOILA_PRELOAD if now else "")
    if as_launched and before is not None and before.name:
        text, flags = _launcher_of(before)
    (config / "voila.py").write_text(text + VOILA_LOOPBACK_ONLY)
    share = Path(clipdrop_widgets.__file__).with_name("share")  # the clipdrop template
    if before is not None and before.name and (before / "clipdrop_widgets" / "share").is_dir():
        share = before / "clipdrop_widgets" / "share"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(runtime),
               CLIPDROP_WIDGETS_DATA_DIR=str(home), JUPYTER_PATH=str(share))
    env.pop("CLIPDROP_API_KEY", None)
    env.pop(PAGE_ENV, None)
    if voila_page:
        env[PAGE_ENV] = "voila"
    if before is not None and before.name:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(before),
                                                          env.get("PYTHONPATH")]))
    cmd = [str(Path(sys.executable).parent / "voila"), str(notebook), "--no-browser",
           f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
           "--show_tracebacks=False", "--template=clipdrop",
           f"--Voila.connection_dir_root={runtime}"]
    if preheat:
        cmd += ["--preheat_kernel=True", "--pool_size=1"]
    cmd += flags
    log = home / f"voila-{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    return proc, log


def _wait_filled(log: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("is filled with") >= count:
            time.sleep(3.0)
            return
        time.sleep(0.2)
    raise RuntimeError(f"Voila's pool did not fill; log:\n{log.read_text()[-3000:]}")


def _wait_up(port: int, timeout: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/voila.js",
                                   timeout=2).close()
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError("Voila did not start")


#: Installed before the page's own scripts: the page clock's time when the first widget view
#: and the first app appear in the page.
JS_MARKS = """
window.__cdwMarks = {};
new MutationObserver(() => {
  const m = window.__cdwMarks, now = performance.now();
  if (m.widget === undefined && document.querySelector('.jupyter-widgets')) m.widget = now;
  if (m.app === undefined && document.querySelector('.cdw-app')) m.app = now;
}).observe(document, {childList: true, subtree: true});
"""
#: The phases of one start, in seconds, from the page's own clock (navigation start = 0).
JS_PHASES = """() => {
  const nav = performance.getEntriesByType('navigation')[0], m = window.__cdwMarks;
  return {first_byte: nav.responseStart, html: nav.responseEnd,
          assets: nav.domContentLoadedEventEnd, widget: m.widget, app: m.app,
          run: performance.now()};
}"""
#: The breakdown's phases: (name, from mark, to mark).
PHASES = [("server: kernel, notebook, first byte", None, "first_byte"),
          ("page HTML (widget state inlined)", "first_byte", "html"),
          ("page assets (scripts, styles)", "html", "assets"),
          ("widget manager to first view", "assets", "widget"),
          ("first view to the app", "widget", "app"),
          ("the app to a usable Run", "app", "run")]


def measure(browser, port: int, phases: list[dict[str, float]] | None = None) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.add_init_script(JS_MARKS)
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", timeout=120_000, wait_until="commit")
        page.locator(RUN_BUTTON).first.wait_for(state="visible", timeout=120_000)
        took = time.perf_counter() - start
        if phases is not None:
            marks = page.evaluate(JS_PHASES)
            phases.append({name: ((marks[end] or 0) - (marks[begin] or 0 if begin else 0))
                           / 1000 for name, begin, end in PHASES})
        return took
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before-without-preload", action="store_true",
                        help="before is this code without the page's preloads (VOILA_PRELOAD)")
    parser.add_argument("--before-voila-page", action="store_true",
                        help="before is this code serving Voila's own page (its preloads "
                             "too), not the page's own front end")
    parser.add_argument("--before-code", type=Path, default=Path(""),
                        help="a folder holding the clipdrop_widgets package as it was before")
    parser.add_argument("--before-as-launched", action="store_true",
                        help="before runs with DIR's own launcher flags and voila.py")
    parser.add_argument("--modes", default="cold,preheated",
                        help="the modes to measure, comma-separated (default both)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",")]
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {}
    breakdown: dict[str, list[dict[str, float]]] = {}
    before = args.before_code.resolve() if args.before_code.name else Path("")
    with tempfile.TemporaryDirectory(prefix="cdw-bench-start-") as tmp, sync_playwright() as p:
        home = Path(tmp)
        (home / "nb").mkdir()
        notebook = studio_notebook(home / "nb", session_dir=home / "session")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for preheat in [m == "preheated" for m in ("cold", "preheated") if m in modes]:
                kind = "preheated" if preheat else "cold"
                servers = []
                try:
                    for label, code in ((f"{kind}, before", before), (kind, None)):
                        port = free_port()
                        if args.before_voila_page and code is not None:
                            proc, log = _voila(notebook, home, port, preheat, None,
                                               voila_page=True, name=label)
                        elif args.before_without_preload and code is not None:
                            proc, log = _voila(notebook, home, port, preheat, None,
                                               preload=False, name=label)
                        else:
                            proc, log = _voila(notebook, home, port, preheat, code,
                                               as_launched=args.before_as_launched)
                        servers.append((label, port, proc, log))
                        figures[label], breakdown[label] = [], []
                    for _label, port, _proc, _log in servers:
                        _wait_up(port)
                        if not preheat:
                            measure(browser, port)  # warm Python's caches
                    taken = {label: 0 for label, *_rest in servers}  # preheated kernels
                    for i in range(args.rounds):
                        # which side goes first alternates (ABBA): measured, an A/A run
                        # (the same code on both sides) favoured the first of each pair
                        # by about 0.3 s at load 5-8
                        for label, port, _proc, _log in (servers if i % 2 == 0
                                                         else servers[::-1]):
                            if preheat:  # both pools refilled: no kernel starting meanwhile
                                for other, _p, _pr, log in servers:
                                    _wait_filled(log, taken[other] + 1)
                                taken[label] += 1
                            figures[label].append(measure(browser, port, breakdown[label]))
                            print(f"{label} round {i + 1}: {figures[label][-1]:.2f} s",
                                  flush=True)
                finally:
                    for _label, _port, proc, _log in servers:
                        os.killpg(proc.pid, 15)
                        proc.wait(30)
        finally:
            browser.close()
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f}, {os.cpu_count()} cores, {platform.python_version()}"
          "; before: " + ("this code on Voila's own page" if args.before_voila_page
                          else "this code without the preloads" if args.before_without_preload
                          else f"the flags and {before}" if before.name else "the flags only"))
    for mode, times in figures.items():
        print(f"{mode:>20}: median {statistics.median(times):.2f} s, "
              f"range {min(times):.2f}-{max(times):.2f} s over {len(times)} rounds")
    print("\nwhere the time goes (median seconds per phase, the page's own clock):")
    for mode, rounds in breakdown.items():
        parts = ", ".join(f"{name} {statistics.median(r[name] for r in rounds):.2f}"
                          for name, _b, _e in PHASES)
        print(f"{mode:>20}: {parts}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"figures": figures, "breakdown": breakdown,
                                         "load": load}, indent=1))


if __name__ == "__main__":
    main()

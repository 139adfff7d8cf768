"""Where the main thread's time goes in one preheated start of the Studio's Voila page: a
Chromium performance trace per round, summed by kind of work (robust to load: CPU work on the
page's main thread, not wall time).

    .venv/bin/python benchmarks/profile_studio_start.py [--rounds 3] [--before-code DIR]
        [--json out.json]

Serves the launcher's Studio notebook preheated, as ``clipdrop-widgets studio`` does (as
``bench_studio_start.py``'s "now" side; with ``--before-code DIR`` also DIR's code with DIR's
own launcher flags and ``voila.py``, rounds alternating), opens it in a fresh Chromium context
per round with a trace running (``devtools.timeline`` and V8's categories), and stops when a
Run button is visible and enabled. For the page's main thread, from navigation start to that
moment, it reports milliseconds of self time (wall clock) per kind of trace event (script
compile, evaluation and function calls, style recalculation, layout, HTML parsing, garbage
collection, ...), the main thread's busy and idle time, and CPU time (thread time) of the
main thread and of the renderer's other threads. ``--keep-traces DIR`` keeps each trace (open
it in Chrome's Performance panel). Reported, not asserted. Under load, wall-clock figures move
with the machine; compare CPU time, or one event's thread time across traces.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

from bench_studio_start import RUN_BUTTON, _voila, _wait_filled, _wait_up  # noqa: E402
from servers import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

from clipdrop_widgets.cli import studio_notebook  # noqa: E402

CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute",
              "v8", "blink.user_timing", "loading", "disabled-by-default-v8.compile"]
#: Trace event names grouped into the kinds reported.
KINDS = {
    "compile": {"v8.compile", "V8.CompileCode", "v8.compileModule", "V8.CompileLazy",
                "v8.produceCache", "v8.produceModuleCache", "V8.ParseProgram",
                "V8.ParseFunction", "V8.PreParse", "CompileScript", "CompileCode",
                "v8.parseOnBackground", "V8.CompileIgnition", "V8.CompileFullCode",
                "CacheScript", "V8.Compile", "v8.compileLazy", "V8.DeserializeIsolate"},
    "script": {"EvaluateScript", "v8.evaluateModule", "FunctionCall", "v8.run",
               "V8.Execute", "v8.callFunction", "TimerFire", "FireAnimationFrame",
               "EventDispatch", "RunMicrotasks", "v8.callModuleMethodSync",
               "v8.callModuleMethodAsync", "XHRReadyStateChange", "XHRLoad",
               "FireIdleCallback", "v8.runMicrotasks", "V8.RunMicrotasks"},
    "gc": {"MinorGC", "MajorGC", "V8.GCScavenger", "V8.GCFinalizeMC", "V8.GCIncrementalMarking",
           "BlinkGC.AtomicPhase", "ThreadState::performIdleLazySweep",
           "V8.GC_MC_BACKGROUND_MARKING", "GCEvent", "BlinkGC.CompleteSweep", "V8.GCCompactor",
           "V8.GCIncrementalMarkingFinalize", "V8.GCMarkCompactor",
           "V8.GCIncrementalMarkingStart"},
    "style": {"UpdateLayoutTree", "RecalculateStyles", "ParseAuthorStyleSheet",
              "ScheduleStyleRecalculation", "InvalidateLayout"},
    "layout": {"Layout", "UpdateLayerTree", "PrePaint", "Paint", "Layerize", "Commit",
               "CompositeLayers", "UpdateLayer", "PaintImage", "Decode Image",
               "ImageDecodeTask", "Rasterize", "RasterTask"},
    "html": {"ParseHTML"},
}


def _kind(name: str) -> str:
    for kind, names in KINDS.items():
        if name in names:
            return kind
    if name.startswith(("V8.GC", "MinorGC", "MajorGC", "BlinkGC")):
        return "gc"
    if name.startswith(("V8.Compile", "V8.Parse", "v8.compile")):
        return "compile"
    return "other"


def summarise(trace: dict, end_mark: str = "cdw-run") -> dict:
    """Main-thread self time per kind (ms), from navigation start to ``end_mark``."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
               if e.get("ph") == "M" and e.get("name") == "thread_name"}
    nav = [e for e in events if e.get("name") == "navigationStart"]
    marks = [e for e in events if e.get("name") == end_mark]
    # the renderer: the process whose main thread saw the end mark
    mark = marks[-1]
    pid = mark["pid"]
    main = next(t for (p, t), name in threads.items() if p == pid and name == "CrRendererMain")
    starts = [e["ts"] for e in nav if e["pid"] == pid]
    t0 = min(starts) if starts else min(e["ts"] for e in events if e.get("pid") == pid
                                         and e.get("ts"))
    t1 = mark["ts"]
    mine = [e for e in events if e.get("pid") == pid and e.get("tid") == main
            and e.get("ph") == "X" and t0 <= e.get("ts", 0) <= t1]
    mine.sort(key=lambda e: (e["ts"], -e.get("dur", 0)))
    self_time: dict[str, float] = defaultdict(float)
    by_name: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [end, name, child time]
    busy = 0.0

    def close(until: float) -> None:
        while stack and stack[-1][0] <= until:
            _end, name, children, dur = stack.pop()
            own = dur - children
            self_time[_kind(name)] += own
            by_name[name] += own
            if stack:
                stack[-1][2] += dur

    for e in mine:
        close(e["ts"])
        dur = min(e.get("dur", 0), t1 - e["ts"])
        if not stack:
            busy += dur
        stack.append([e["ts"] + dur, e["name"], 0.0, dur])
    close(float("inf"))
    # CPU time (thread time, ``tdur``) of top-level events: the main thread's, and the rest of
    # the renderer's threads (V8's background compilation, the compositor, ...)
    cpu: dict[str, float] = defaultdict(float)
    for (p, tid) in threads:
        if p != pid:
            continue
        spans = sorted((e["ts"], e["ts"] + e.get("dur", 0), e.get("tdur", 0)) for e in events
                       if e.get("pid") == pid and e.get("tid") == tid and e.get("ph") == "X"
                       and t0 <= e.get("ts", 0) <= t1)
        reach = -1.0
        for start, end, tdur in spans:
            if start >= reach:  # top level on its thread
                cpu["main" if tid == main else "other threads"] += tdur
                reach = end
    total = t1 - t0
    out = {kind: ms / 1000 for kind, ms in sorted(self_time.items())}
    out.update({"busy": busy / 1000, "idle": (total - busy) / 1000, "total": total / 1000,
                "cpu_main": cpu["main"] / 1000, "cpu_others": cpu["other threads"] / 1000})
    out["top"] = {n: round(ms / 1000, 1) for n, ms in
                  sorted(by_name.items(), key=lambda kv: -kv[1])[:25]}
    return out


def profile(browser, port: int, trace_file: Path, setup=None) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    if setup is not None:
        setup(page)
    try:
        browser.start_tracing(page=page, path=str(trace_file), categories=CATEGORIES)
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", timeout=120_000, wait_until="commit")
        page.locator(RUN_BUTTON).first.wait_for(state="visible", timeout=120_000)
        took = time.perf_counter() - start
        page.evaluate("performance.mark('cdw-run')")
        browser.stop_tracing()
        summary = summarise(json.loads(trace_file.read_text()))
        summary["wall"] = took
        return summary
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before-code", type=Path, default=Path(""))
    parser.add_argument("--keep-traces", type=Path, help="a folder to keep the traces in")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="cdw-profile-start-") as tmp, \
            sync_playwright() as p:
        home = Path(tmp)
        (home / "nb").mkdir()
        notebook = studio_notebook(home / "nb", session_dir=home / "session")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        servers = []
        try:
            sides = [("now", None)]
            if args.before_code.name:
                sides.insert(0, ("before", args.before_code.resolve()))
            for label, code in sides:
                port = free_port()
                proc, log = _voila(notebook, home, port, True, code, name=f"profile-{label}",
                                   as_launched=True)
                servers.append((label, port, proc, log))
                results[label] = []
            taken = {label: 0 for label, *_rest in servers}
            for _label, port, _proc, _log in servers:
                _wait_up(port)
            for i in range(args.rounds):  # which side goes first alternates (ABBA)
                for label, port, _proc, _log in (servers if i % 2 == 0 else servers[::-1]):
                    for _other, _p, _pr, log in servers:
                        _wait_filled(log, taken[_other] + 1)
                    taken[label] += 1
                    folder = args.keep_traces or home
                    folder.mkdir(parents=True, exist_ok=True)
                    r = profile(browser, port, folder / f"trace-{label}-{i + 1}.json")
                    results[label].append(r)
                    print(f"{label} round {i + 1}: wall {r['wall']:.2f} s, busy "
                          f"{r['busy']:.0f} ms, idle {r['idle']:.0f} ms, CPU main "
                          f"{r['cpu_main']:.0f} ms, others {r['cpu_others']:.0f} ms, " + ", ".join(
                              f"{k} {r.get(k, 0):.0f}" for k in
                              ("compile", "script", "style", "layout", "gc", "html", "other")),
                          flush=True)
        finally:
            browser.close()
            for _label, _port, proc, _log in servers:
                os.killpg(proc.pid, 15)
                proc.wait(30)
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for label, rounds in results.items():
        keys = ("wall", "total", "busy", "idle", "cpu_main", "cpu_others", "compile", "script",
                "style", "layout", "gc", "html", "other")
        print(f"{label:>8} (median of {len(rounds)}): " + ", ".join(
            f"{k} {statistics.median(r.get(k, 0) for r in rounds):.{2 if k == 'wall' else 0}f}"
            for k in keys))
        print("          top self time (last round, ms):",
              json.dumps(rounds[-1]["top"]))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "load": load}, indent=1))


if __name__ == "__main__":
    main()

"""The accessibility audit: axe-core's rules on the Studio, light and dark (issue 22).

axe-core comes from its npm package (``tests/browser/axe``, installed by
``scripts/install-axe``), injected into the page and run on the Studio's element only (the
front end's own page is not ours). Each tab is audited as the user sees it, with a
text-to-image result on the stage; any violation of impact "serious" or "critical" fails,
listed with its rule, its help text and the elements it names. Colour contrast (WCAG AA) is
one of those rules, so this is also the check that both themes are readable. What axe leaves
out is measured on each tab too: the sketch pad's and the painter's edge as painted (WCAG
1.4.11, 3:1 against the page beside it) and every tab name whole (no ellipsis, inside the
window; JupyterLab and Notebook 7 at 1280x800).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from labpage import canvas_rgba, run_all, wait_until
from PIL import Image
from servers import start_voila, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WAIT = 60.0
#: Every app's tab: a title in the bar, or a group's title and one in its inner bar.
TABS = ["Text to image", "Sketch to image", "Cleanup", "Text inpainting", "Replace background",
        ("Cut-out & frame", "Remove background"), ("Cut-out & frame", "Uncrop"),
        ("Size & variations", "Upscale"), ("Size & variations", "Reimagine"),
        ("Portrait", "Portrait depth"), ("Portrait", "Portrait normals")]

STUDIO_CELLS = [
    """\
from IPython.display import display
from clipdrop_widgets import Studio

studio = Studio()
studio.add_class("cdw-test-studio")
for name in studio.apps:   # build every tab now
    studio.apps[name]
t2i = studio.apps["text_to_image"]
t2i.prompt.value = "a lighthouse on a cliff at dusk"
t2i.run()
assert t2i.wait(60) and t2i.result is not None, t2i.status
display(studio)
""",
]

#: axe on one element; only what fails (violations), with the nodes it names.
JS_AXE = """async (selector) => {
  const result = await axe.run(document.querySelector(selector),
                               {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 6).map(n => n.html.slice(0, 160) + ' | ' + n.failureSummary)}));
}"""


@pytest.fixture(autouse=True)
def _axe_installed() -> None:
    if not AXE.is_file():
        message = "axe-core is not installed (bash scripts/install-axe)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the audit must run", pytrace=False)
        pytest.skip(message)


#: The sketch pad's and the painter's boxes shown: how many, or (given an index) that one
#: scrolled into view and a point of its left edge in the window (CSS pixels).
JS_PADS = """([root, index]) => {
  const hosts = [...document.querySelectorAll(
      root + ' .widget-tab-contents .cdw-stage .widget-gridbox > .cdw-ink-host')]
    .filter(h => h.getClientRects().length);
  if (index === null) return hosts.length;
  hosts[index].scrollIntoView({block: 'center', inline: 'center'});
  const r = hosts[index].getBoundingClientRect();
  const y = Math.min(Math.max(r.top + r.height / 2, 0), window.innerHeight - 1);
  return [Math.round(r.left), Math.round(y)];
}"""

#: Every tab name shown in the Studio's bars: cut (an ellipsis) or past the window's edge.
JS_CUT_TABS = """(root) => [...document.querySelectorAll(root + ' .lm-TabBar-tabLabel')]
  .filter(l => l.getClientRects().length)
  .filter(l => l.scrollWidth > l.clientWidth + 1
               || l.getBoundingClientRect().right > window.innerWidth)
  .map(l => l.textContent.trim())"""


def pixel_contrast(a: np.ndarray, b: np.ndarray) -> float:
    hi, lo = sorted((_luminance(list(a)), _luminance(list(b))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def edges_too_faint(page, root: str) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    """How many pad or painter boxes are shown, and those whose left edge, as painted, is
    under 3:1 against the page beside it (WCAG 1.4.11, non-text contrast)."""
    faint = []
    pads = page.evaluate(JS_PADS, [root, None])
    for index in range(pads):
        x, y = page.evaluate(JS_PADS, [root, index])
        row = np.asarray(Image.open(io.BytesIO(page.screenshot(
            clip={"x": x - 4, "y": y, "width": 7, "height": 1}))).convert("RGB"))[0]
        outside, edge = row[0], max(row[3:6], key=lambda p: pixel_contrast(p, row[0]))
        if pixel_contrast(edge, outside) < 3.0:
            faint.append(f"pad edge at x={x}: {tuple(map(int, edge))} on the page's "
                         f"{tuple(map(int, outside))}, "
                         f"{pixel_contrast(edge, outside):.2f}:1")
    return pads, faint


def serious(violations: list[dict[str, object]]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
            for v in violations if v["impact"] in ("serious", "critical")]


def audit_tabs(page, root: str) -> list[str]:  # type: ignore[no-untyped-def]
    """axe on every tab of the Studio under ``root``; the serious or critical findings."""
    page.add_script_tag(path=str(AXE))
    found = []
    edges = 0
    cut: set[str] = set()
    for tab in TABS:
        for title in (tab if isinstance(tab, tuple) else (tab,)):
            page.locator(f"{root} .lm-TabBar-tab:visible",
                         has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")).first.click()
        wait_until(lambda: page.locator(f"{root} .widget-tab-contents .cdw-app:visible")
                   .count() or None, timeout=WAIT, what=f"the {title} tab")
        page.wait_for_timeout(300)  # the tab's canvases are drawn
        found += [f"[{title}] {line}" for line in serious(page.evaluate(JS_AXE, root))]
        # axe leaves out non-text contrast: the pad's and the painter's edge (WCAG 1.4.11)
        shown, faint = edges_too_faint(page, root)
        edges += shown
        found += [f"[{title}] {line}" for line in faint]
        cut.update(page.evaluate(JS_CUT_TABS, root))  # the outer bar and this inner one
    assert edges >= 3, f"the sketch pad and the painters were not found ({edges})"
    return found + [f"tab name cut: {name!r}" for name in sorted(cut)]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_nothing_serious_in_voila(theme: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_notebook(tmp_path / "notebooks" / "a11y.ipynb", STUDIO_CELLS)
    server = start_voila(path, tmp_path / "home", theme=theme, page="studio")
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(server.url(), timeout=120_000)
        page.locator(".cdw-test-studio").wait_for(timeout=120_000)
        found = audit_tabs(page, ".cdw-test-studio")
        found += placeholder_contrast(page, ".cdw-test-studio")
        if theme == "light":
            mask_by_keyboard(page, ".cdw-test-studio")
            focus_stays_after_result_actions(page, ".cdw-test-studio")
    finally:
        context.close()
        server.stop()
    assert not found, f"axe in Voila ({theme}):\n" + "\n".join(found)


#: Each visible prompt's placeholder colour and the page's background (axe skips placeholders).
JS_PLACEHOLDERS = """(root) => [...document.querySelectorAll(root + ' textarea')]
  .filter(t => t.offsetParent && t.placeholder)
  .map(t => [t.placeholder, getComputedStyle(t, '::placeholder').color,
             getComputedStyle(document.body).backgroundColor])"""


def _luminance(rgb: list[float]) -> float:
    return sum(k * ((c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055)
                    ** 2.4) for k, c in zip((0.2126, 0.7152, 0.0722), rgb[:3], strict=True))


def placeholder_contrast(page, root: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Findings 22c F3: the Text to image prompt's placeholder at least 4.5:1 on the page
    (a translucent colour blended over the background first)."""
    page.locator(f"{root} .lm-TabBar-tab", has_text="Text to image").first.click()
    seen = page.evaluate(JS_PLACEHOLDERS, root)
    found = [] if seen else ["no placeholder seen"]
    for text, color, background in seen:
        fg, bg = ([float(v) for v in re.findall(r"[\d.]+", c)] for c in (color, background))
        alpha = fg[3] if len(fg) > 3 else 1.0
        blended = [alpha * f + (1 - alpha) * b for f, b in zip(fg[:3], bg[:3], strict=True)]
        dark, light = sorted((_luminance(blended), _luminance(bg)))
        ratio = (light + 0.05) / (dark + 0.05)
        if ratio < 4.5:
            found.append(f"placeholder {text[:30]!r}: {color} on {background}, {ratio:.2f}:1")
    return found


def mask_by_keyboard(page, root: str) -> None:  # type: ignore[no-untyped-def]
    """Cleanup's mask made with the keyboard only: open "Mask a rectangle by keyboard", type
    the edges, press Mask rectangle; the mask layer shows the rectangle."""
    page.locator(f"{root} .lm-TabBar-tab", has_text="Cleanup").first.click()
    app = page.locator(f"{root} .widget-tab-contents .cdw-app:visible").first
    app.get_by_role("button", name="Mask a rectangle by keyboard").focus()
    page.keyboard.press("Enter")
    left = app.get_by_role("spinbutton", name="Left %")
    left.wait_for(state="visible", timeout=WAIT * 1000)
    left.focus()
    for value in ("10", "20", "60", "70"):  # left, top, right, bottom
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Tab from Bottom % reached Mask rectangle
    layer = app.locator("canvas.cdw-mask-layer").first

    def masked():  # type: ignore[no-untyped-def]
        rgba = canvas_rgba(layer)
        h, w = rgba.shape[:2]
        inside = rgba[int(0.45 * h), int(0.35 * w), 3] > 0
        outside = rgba[int(0.1 * h), int(0.05 * w), 3] == 0
        return True if inside and outside else None

    wait_until(masked, timeout=WAIT, what="the rectangle typed with the keyboard in the mask")


#: Where the keyboard focus is: the tag, its accessible name, the title of its app and what
#: that app's status line (a live region) says.
JS_FOCUS = """() => {
  const e = document.activeElement, app = e.closest('.cdw-app .cdw-app');
  const title = app && app.querySelector('b'), status = app && app.querySelector('.cdw-status');
  return [e.tagName, e.getAttribute('aria-label') || e.innerText || '',
          title ? title.innerText : null, status ? status.innerText : '',
          status ? status.getAttribute('aria-live') : null];
}"""


def focus_stays_after_result_actions(page, root: str) -> None:  # type: ignore[no-untyped-def]
    """Findings 22c F8, keyboard only, in Cleanup (its mask made by `mask_by_keyboard`):
    Ctrl+Enter runs; Enter on Discard, "Send to Text inpainting" and Keep each leaves the
    focus on a stage's photo (never the page: ~20 Tab presses back), and what happened is
    said in that app's status live region."""
    app = page.locator(f"{root} .widget-tab-contents .cdw-app:visible").first
    for action, lands_in, says in [
            ("Discard", "Cleanup", "Result discarded"),  # the mask stays: run again
            ("Send to Text inpainting", "Text inpainting", "then Run"),
            ("Keep", "Cleanup", "then Run")]:  # Cleanup's result is still shown
        if action == "Keep":
            page.locator(f"{root} .lm-TabBar-tab", has_text="Cleanup").first.click()
        else:
            page.keyboard.press("Control+Enter")  # the focus is in Cleanup: run it
        button = app.get_by_role("button", name=action)  # its name starts with the icon
        button.wait_for(state="visible", timeout=WAIT * 1000)
        if action == "Discard":  # the divider says what it moves (F7), not just "Slider"
            divider = app.get_by_role("slider", name="Before/after divider", exact=True)
            wait_until(lambda d=divider: d.count() == 1 or None, timeout=WAIT,
                       what="the divider named")
            # an arrow moves it 1 %, and a screen reader hears where it is, not "0.505";
            # aria-valuenow in step with the words, and at an edge what is shown (walk 22b
            # #14: "0.5" beside "54 %", and "0 %: before on the left" over all after)
            divider.focus()
            start = float(divider.get_attribute("aria-valuenow"))
            page.keyboard.press("ArrowRight")
            page.keyboard.press("ArrowRight")
            wait_until(lambda d=divider: re.fullmatch(
                r"(\d+) %: \1 % before on the left, \d+ % after on the right",
                d.get_attribute("aria-valuetext") or "") or None, timeout=WAIT,
                what="the divider's words")
            said = int(divider.get_attribute("aria-valuetext").split(" ")[0])
            assert said == round(start) + 2, (start, said)
            assert float(divider.get_attribute("aria-valuenow")) == said
            for key, words in (("Home", "0 %: all after"), ("End", "100 %: all before")):
                page.keyboard.press(key)
                wait_until(lambda d=divider, w=words: d.get_attribute("aria-valuetext") == w
                           or None, timeout=WAIT, what=f"the divider's words after {key}")
        button.focus()
        if action == "Discard":  # a 2 px ring in the theme's focus colour (F10; tests/widgets/
            ring = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                 " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }")
            assert ring == ["solid", "2px", "rgb(26, 86, 176)"], ring  # test_theme: >= 4.5:1)
        page.keyboard.press("Enter")

        def landed(where: str = lands_in, words: str = says) -> bool | None:
            tag, _name, title, status, _live = page.evaluate(JS_FOCUS)
            return True if tag == "CANVAS" and title == where and words in status else None

        try:
            wait_until(landed, timeout=WAIT, what=f"the focus on {lands_in}'s stage")
        except TimeoutError:
            found = [str(part)[:80] for part in page.evaluate(JS_FOCUS)]
            raise AssertionError((action, found)) from None
        _tag, name, _title, _status, live = page.evaluate(JS_FOCUS)
        assert name.startswith("Photo, ") and live == "polite", (action, name, live)
    # the photo's facts and "Run will refuse it" are announced too (F12): a live region
    facts = page.locator(f"{root} .widget-tab-contents .cdw-app:visible .cdw-live:visible")
    assert facts.first.get_attribute("aria-live") == "polite"
    assert re.search(r"\d+x\d+", facts.first.inner_text()), facts.first.inner_text()


#: JupyterLab's and Notebook 7's theme names.
JUPYTER_THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@pytest.mark.parametrize("front_end", ["lab", "notebook7"])
def test_axe_finds_nothing_serious_in_jupyter(front_end: str, request) -> None:  # type: ignore[no-untyped-def]
    """The same audit in JupyterLab and Notebook 7, in the light theme, then (one notebook,
    one kernel) after switching the front end to its dark theme."""
    make = request.getfixturevalue("notebook" if front_end == "lab" else "nb7")
    nb = make(f"a11y-{front_end}", STUDIO_CELLS)
    page = nb.page
    # the most common laptop window, where JupyterLab's shrunk tabs cut four names
    page.set_viewport_size({"width": 1280, "height": 800})
    run_all(page, nb.path)
    page.locator(".cdw-test-studio").first.wait_for(timeout=120_000)
    found = []
    for theme, name in JUPYTER_THEMES.items():
        page.evaluate("(theme) => window.jupyterapp.commands.execute("
                      "'apputils:change-theme', {theme})", name)
        page.wait_for_function("(light) => document.body.dataset.jpThemeLight === light",
                               arg=str(theme == "light").lower(), timeout=WAIT * 1000)
        found += [f"({theme}) {line}" for line in audit_tabs(page, ".cdw-test-studio")]
    assert not found, f"axe in {front_end}:\n" + "\n".join(found)

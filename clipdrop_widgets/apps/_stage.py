"""The stage: one large place per app where the picture is painted and its result compared.

Each app used to put its painter in a narrow left column beside a large, mostly empty compare
view, so at 1280x800 Run fell below the fold (issue 22). Now every app has two parts:

* the **stage**: the photo or sketch, painted where it is largest (or, in Uncrop, the photo
  inside the frame the answer will have, its edges dragged: `UncropStage`); after a run the
  result takes its place on the same stage, before and after split by the divider, with Keep,
  Discard and Send to under it (a staging step: `App.keep` works on the result next,
  `App.discard` goes back to the inputs as they were; the history keeps both);
* the **side panel**: the photo chooser, prompt, options, Run, Cancel and the status line.
  In a window narrower than `STACK_BELOW_PX` it stacks under the stage, full width, where
  it is reached by scrolling; nothing is ever wider than the page.

The picture's size follows the window: CSS gives the layer stack (and the compare frame) the
largest width at which its height still fits the window height, less what sits above and
below it (``--cdw-reserve``, larger inside the Studio with its header and tabs). It is shown
at most at its canvas size (1:1), except in a window at least `GROW_FROM_PX` wide, where it
grows to fill the stage. Each layer
keeps its canvas pixels; only its CSS size changes, and the pointer maps through the shown
size (ink.js and ipycanvas scale by the bounding box), so a stroke lands on the pixel under
it. ink.js is untouched: the stroke path is the same at any size.

The picture's aspect ratio is the one fact CSS cannot know: each stage carries its own
``<style>`` setting ``--cdw-paint-ratio`` and ``--cdw-compare-ratio`` for its unique class,
rewritten whenever the photo or the result changes (`Stage.refresh`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import ipywidgets as widgets

from ..widgets import CompareSlider, MaskPainter, SketchPad
from ..widgets._painting import Painter
from ..widgets._ui import Layout
from ..widgets.a11y import PageHelper
from ..widgets.theme import THEME_CSS
from ..widgets.uncrop_stage import UncropStage

__all__ = ["Stage", "STAGE_CSS", "painter_words", "compare_words", "on_stage", "PANEL_PX",
           "STAGE_MIN_PX", "RESERVE_PX", "STUDIO_RESERVE_PX", "GROW_FROM_PX", "STACK_BELOW_PX"]

#: The side panel's width on a wide page (CSS pixels); it may shrink to `PANEL_MIN_PX`
#: (its flex basis: where the line wraps).
PANEL_PX = 340
#: The narrowest the side panel gets before it wraps under the stage (CSS pixels).
PANEL_MIN_PX = 240
#: The narrowest the stage gets beside the panel (CSS pixels).
STAGE_MIN_PX = 300
#: Below this window width (CSS pixels) the side panel stacks under the stage, as wide as it:
#: beside a stage squeezed to 300 pixels its options wrapped into a tall narrow column.
STACK_BELOW_PX = 900

#: What sits above and below the picture in a window (CSS pixels): the app's title, the
#: painter's tools above it and its zoom bar under it (the compare view: its labels above,
#: divider slider, Download, Keep, Discard and Send to under it), and the page's margins.
RESERVE_PX = 200
#: The same inside the Studio, whose header, session line and tabs sit above the app.
STUDIO_RESERVE_PX = 300

#: The row under a result (Keep, Discard, Download, Send to) is as wide as the stage, centred
#: under the picture: as wide as a portrait picture (125 pixels at 1280x800 for a 1:4 photo)
#: it stacked its buttons one per line, below the fold (findings 22c F6). Where it still wraps
#: (Send to's buttons on a second line), the compare frame of a result leaves room for that
#: line too (``--cdw-result-row``; a photo shown before any result keeps its size).
RESULT_ROW_PX = 40

#: From this window width (CSS pixels) the picture may be shown larger than its canvas
#: pixels to fill the stage; below it, it is shown at most at its own size (1:1) and shrinks
#: to fit a smaller window.
GROW_FROM_PX = 1600

#: The edge of the sketch pad and the painter: JupyterLab's secondary text colour (Voila and
#: Notebook 7 use the same variables), translucent, drawn over the picture's border pixels:
#: at least 4.6:1 against the light page (over a white photo) and 4.7:1 against the dark one
#: (over the black pad, on #212121). The fallback is 4.5:1 on white.
EDGE_COLOR = "var(--jp-ui-font-color2, #767676)"

#: The page CSS of the stage layout and the theme (put once into every app's title).
STAGE_CSS = THEME_CSS + f"""<style>
.cdw-app {{ --cdw-reserve: {RESERVE_PX}px; }}
.cdw-app .cdw-app {{ --cdw-reserve: {STUDIO_RESERVE_PX}px; }}
.cdw-body {{ gap: 8px 20px; }}
.cdw-stage {{ flex: 1 1 {STAGE_MIN_PX}px; min-width: 0; max-width: 100%; }}
.cdw-panel {{ flex: 1 1 {PANEL_MIN_PX}px; max-width: min({PANEL_PX}px, 100%); }}
@media (min-width: {GROW_FROM_PX}px) {{ .cdw-app {{ --cdw-grow-px: 100vw; }} }}
@media (max-width: {STACK_BELOW_PX - 0.02}px) {{
  .cdw-stage {{ flex-basis: 100%; }}
  .cdw-panel {{ flex-basis: 100%; max-width: 100%; }} }}
.cdw-stage .widget-gridbox:has(> .cdw-ink-host) {{
  width: min(100%, calc((100vh - var(--cdw-reserve)) * var(--cdw-paint-ratio, 1)),
             max(var(--cdw-paint-px, 512px), var(--cdw-grow-px, 0px))) !important;
  max-width: 100% !important; height: auto !important;
  grid-template-columns: minmax(0, 1fr) !important; grid-template-rows: auto !important; }}
.cdw-stage .widget-gridbox:has(> .cdw-ink-host) > * {{
  width: 100% !important; max-width: 100% !important; height: auto !important; }}
.cdw-stage .widget-gridbox:has(> .cdw-ink-host) > .cdw-ink-host {{ align-self: stretch; }}
.cdw-stage .cdw-uncrop {{
  width: min(100%, calc((100vh - var(--cdw-reserve)) * var(--cdw-paint-ratio, 1)),
             max(var(--cdw-paint-px, 480px), var(--cdw-grow-px, 0px))) !important;
  max-width: 100% !important; }}
.cdw-stage .cdw-uncrop .cdw-uncrop-stage {{ max-width: 100% !important; }}
.cdw-stage .widget-gridbox:has(> .cdw-ink-host), .cdw-stage .cdw-compare,
.cdw-stage .cdw-uncrop {{ align-self: center; }}
.cdw-stage .cdw-zoom-bar {{ justify-content: center !important; }}
.cdw-stage .cdw-compare {{
  width: min(100%, calc((100vh - var(--cdw-reserve) - var(--cdw-result-row, 0px))
                        * var(--cdw-compare-ratio, 1.333)),
             max(var(--cdw-compare-px, 768px), var(--cdw-grow-px, 0px)));
  max-width: 100%; }}
.cdw-stage .cdw-compare > * {{ max-width: 100% !important; }}
.cdw-stage {{ container-type: inline-size; }}
.cdw-stage .cdw-compare {{ overflow: visible; }}
.cdw-stage .cdw-compare > .cdw-staging {{
  width: 100cqw !important; max-width: 100cqw !important;
  align-self: center; justify-content: center; gap: 4px 0; }}
.cdw-stage .cdw-compare canvas {{ width: 100% !important; height: auto !important; }}
.cdw-panel .widget-dropdown, .cdw-panel .widget-text {{ max-width: 100%; }}
/* the pad's and the painter's edge, at least 3:1 against the page in both themes (WCAG
   1.4.11): the black sketch pad was 1.3:1 on the dark page. An outline inside the top layer
   (the one taking the strokes, over the picture): no pixel of the layout moves. */
.cdw-stage .widget-gridbox > .cdw-ink-host {{
  outline: 1px solid {EDGE_COLOR}; outline-offset: -1px; }}
/* every tab name whole: a tab is as wide as its name (at least JupyterLab's tab width) and
   the bar wraps; in JupyterLab at 1280 px the shrunk tabs cut four names with an ellipsis */
.cdw-app .jupyter-widgets.widget-tab > .lm-TabBar .lm-TabBar-content {{ flex-wrap: wrap; }}
.cdw-app .jupyter-widgets.widget-tab > .lm-TabBar .lm-TabBar-tab {{
  flex: 0 0 auto; min-width: var(--jp-widgets-horizontal-tab-width, 144px); }}
</style>"""

_ids = itertools.count(1)


def on_stage(widget: widgets.Widget) -> bool:
    """Whether an app input goes on the stage (a painter, the uncrop frame) rather than into
    the side panel."""
    return isinstance(widget, (Painter, UncropStage))


StageInput = Painter | UncropStage


class Stage(widgets.VBox):
    """The app's stage: its pictures (the photo or sketch painted, or the uncrop frame), or its
    compare view, one at a time.

    Without pictures (text to image, replace background, the photo-only apps) the compare
    view is always shown: the photo until the first result, then photo and result.

    Args:
        painters: the widgets shown while editing (`on_stage`; may be empty).
        compare: the app's compare view, shown with a result.
        on_keep: what Keep does (the app's ``keep``).
        on_discard: what Discard does (the app's ``discard``).
        extras: what joins Keep, Discard and Download in the staging row (the app's
            Send to).

    Attributes:
        keep_button: **Keep**, under a result: work on it next.
        discard_button: **Discard**, under a result: back to the inputs as they were.
        staging: the row holding Keep, Discard, Download and the ``extras``; empty until the
            first result (or until a button is first read): hidden before it, its widget
            models would only lengthen the page's first load (issue 22).
    """

    def __init__(self, painters: Sequence[StageInput], compare: CompareSlider, *,
                 on_keep: Callable[[], object], on_discard: Callable[[], object],
                 extras: Sequence[widgets.Widget] = ()) -> None:
        super().__init__(layout=Layout())
        self.add_class("cdw-stage")
        self._uid = f"cdw-stage-{next(_ids)}"
        self.add_class(self._uid)
        self._painters = list(painters)
        self.compare = compare
        self._ratios = widgets.HTML("", layout=Layout(margin="0", height="0"))
        self._on_keep, self._on_discard = on_keep, on_discard
        self._extras = tuple(extras)
        self._buttons: tuple[widgets.Button, widgets.Button] | None = None
        # Download joins Keep and Discard: one row of what to do with the result.
        compare.detach_download()
        self.staging = widgets.HBox(layout=Layout(
            flex_flow="row wrap", align_items="center", display="none"))
        self.staging.add_class("cdw-staging")  # as wide as the stage allows (STAGE_CSS)
        self._showing = "input"
        # names, live region and the picture's text alternative (widgets/a11y.py)
        self.helper = PageHelper()
        for painter in self._painters:
            painter.on_edit(self.refresh)  # a stroke, another photo, a dragged frame edge
        # whatever the compare view shows now (a new photo, a result): its words, at once
        compare.on_change(self.describe)
        self.children = [self._ratios, self.helper, *self._painters, compare]
        self.show_input()

    @property
    def keep_button(self) -> widgets.Button:
        """**Keep**, under a result (made with the staging row)."""
        return self._staging_buttons()[0]

    @property
    def discard_button(self) -> widgets.Button:
        """**Discard**, under a result (made with the staging row)."""
        return self._staging_buttons()[1]

    def _staging_buttons(self) -> tuple[widgets.Button, widgets.Button]:
        """Keep and Discard, with the staging row filled the first time they are needed."""
        if self._buttons is None:
            keep = widgets.Button(
                description="Keep", icon="check", layout=Layout(width="auto"),
                tooltip="Keep this result and work on it next")
            discard = widgets.Button(
                description="Discard", icon="times", layout=Layout(width="auto"),
                tooltip="Back to the inputs as they were (the history keeps the result)")
            # the pressed button hides with the result: the focus goes to the stage, not the page
            keep.on_click(lambda _b: (self._on_keep(), self.helper.focus_stage()))
            discard.on_click(lambda _b: (self._on_discard(), self.helper.focus_stage()))
            self._buttons = (keep, discard)
            self.staging.children = (keep, discard, self.compare.download_button,
                                     *self._extras)
        return self._buttons

    @property
    def showing(self) -> str:
        """``"input"`` (the painters, or the compare view without a result) or ``"result"``."""
        return self._showing

    def show_input(self) -> None:
        """Show the painters (none: the compare view); Keep and Discard are hidden."""
        self._showing = "input"
        for painter in self._painters:
            painter.layout.display = ""
        self.compare.layout.display = "none" if self._painters else ""
        self.staging.layout.display = "none"
        self.refresh()

    def show_result(self) -> None:
        """Show the compare view in the painters' place, with Keep, Discard and Send to."""
        self._showing = "result"
        self._staging_buttons()
        for painter in self._painters:
            painter.layout.display = "none"
        self.compare.layout.display = ""
        self.staging.layout.display = ""
        self.refresh()

    def refresh(self) -> None:
        """Tell the page the aspect ratios of the painter and the compare frame shown now."""
        frame_w, frame_h = self.compare.frame_size
        rules = [f"--cdw-compare-ratio: {frame_w / frame_h:.4f};",
                 f"--cdw-compare-px: {frame_w}px;"]
        if self._showing == "result":  # room for the row's second line (RESULT_ROW_PX)
            rules.append(f"--cdw-result-row: {RESULT_ROW_PX}px;")
        if self._painters:
            width, height = self._painters[0].display_size
            rules += [f"--cdw-paint-ratio: {width / height:.4f};", f"--cdw-paint-px: {width}px;"]
        css = f"<style>.{self._uid} {{ {' '.join(rules)} }}</style>"
        if self._ratios.value != css:
            self._ratios.value = css
        self.describe()

    def describe(self) -> None:
        """Give the page the words for what the stage's painter and compare frame show."""
        if self._painters:
            self.helper.picture = painter_words(self._painters[0])
        self.helper.compare = compare_words(self.compare)


def painter_words(painter: StageInput) -> str:
    """What a painter (or the uncrop frame) shows and what is painted on it, for a screen
    reader."""
    if isinstance(painter, MaskPainter):
        w, h = painter.image.size
        share = painter.coverage
        masked = ("nothing masked yet" if share == 0 else "under 1 % masked" if share < 0.01
                  else f"{round(share * 100)} % masked")
        return f"Photo, {w}x{h} pixels, {masked}"
    if isinstance(painter, SketchPad):
        n = sum(1 for s in painter.strokes if s.tool != "eraser")
        return f"Sketch, white lines on black, {n} stroke{'' if n == 1 else 's'} drawn"
    if isinstance(painter, UncropStage):
        w, h = painter.photo_width, painter.photo_height
        e = painter.extends
        nw, nh = w + e["left"] + e["right"], h + e["up"] + e["down"]
        sides = ", ".join(f"{side} {value:+d}" for side, value in e.items())
        return (f"Photo, {w}x{h} pixels, in a frame of {nw}x{nh} pixels ({sides}; the "
                "number boxes beside the stage set each side)")
    return "Drawing"


def compare_words(compare: CompareSlider) -> str:
    """What the compare frame shows, for a screen reader."""
    before, after = compare.before, compare.after
    if before is not None and after is not None:
        left, right = compare.labels
        return (f"{left} and {right}, {after.width}x{after.height} pixels, split by a divider "
                "(the slider under the picture moves it)")
    if after is not None:
        return f"Result, {after.width}x{after.height} pixels"
    if before is not None:
        return f"Photo, {before.width}x{before.height} pixels"
    return compare.hint or "Empty"

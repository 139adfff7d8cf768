// Accessibility for an app's part of the page, where the widgets themselves fall short:
// accessible names for ipywidgets controls that have none (slider handles, menus whose label
// is hidden), the pressed state of toggle buttons, text alternatives for images, a live
// region for the status line, and the stage picture's text alternative (what it shows and
// what is painted), given by Python.
// Idempotent: run again (debounced) whenever the app's part of the page changes.

function outermostApp(el) {
  let root = null;
  for (let node = el.closest(".cdw-app"); node; node = node.parentElement &&
       node.parentElement.closest(".cdw-app")) root = node;
  return root;
}

function labelText(field) {
  const doc = field.ownerDocument;
  const label = field.id ? doc.querySelector(`label[for="${CSS.escape(field.id)}"]`) : null;
  if (!label || !label.textContent.trim()) return "";
  const style = doc.defaultView.getComputedStyle(label);
  return style.display === "none" || style.visibility === "hidden" ? "" : label.textContent.trim();
}

// The compare view's slider moves the divider between before and after (findings 22c F7).
const DIVIDER = "Before/after divider";

// What a screen reader says for the divider: the slider's own value text is its number
// ("55.00", in percent: compare.py's slider runs 0 to 100, so aria-valuenow, "55.0", keeps
// in step); this says where it is and how much of each side shows. Before is on the left
// of the divider (compare.py draws it from 0 to the divider): at 0 % all of the picture is
// after, at 100 % all of it before (walk 22b #14).
export function dividerText(value) {
  const at = Math.min(100, Math.max(0, Math.round(Number(value))));
  if (at === 0) return "0 %: all after";
  if (at === 100) return "100 %: all before";
  return `${at} %: ${at} % before on the left, ${100 - at} % after on the right`;
}

// A toggle button's pressed state, which ipywidgets shows only by a class (`mod-active`):
// a screen reader heard "x4, button" for the chosen one and the others alike.
export function sayPressed(button) {
  const pressed = String(button.classList.contains("mod-active"));
  if (button.getAttribute("aria-pressed") !== pressed) button.setAttribute("aria-pressed", pressed);
}

function nameControls(root, watch, watchToggle) {
  for (const button of root.querySelectorAll(".widget-toggle-button")) {
    sayPressed(button);
    watchToggle(button);
  }
  for (const handle of root.querySelectorAll('.cdw-compare [role="slider"]')) {
    if (handle.getAttribute("aria-label") !== DIVIDER) handle.setAttribute("aria-label", DIVIDER);
    sayDivider(handle);
    if (watch) watch(handle);
  }
  for (const handle of root.querySelectorAll('[role="slider"]:not([aria-label])')) {
    const box = handle.closest(".widget-slider");
    const label = box && box.querySelector(".widget-label");
    handle.setAttribute("aria-label", (label && label.textContent.trim()) || "Slider");
  }
  for (const field of root.querySelectorAll("select, input, textarea")) {
    if (field.type === "hidden" || field.type === "file" || field.getAttribute("aria-label")) {
      continue;
    }
    if (labelText(field)) continue;
    const named = field.closest("[title]");
    const first = field.tagName === "SELECT" && field.options.length ? field.options[0].text : "";
    const name = field.title || field.placeholder || (named && named.title) || first.trim();
    if (name) field.setAttribute("aria-label", name);
  }
  for (const img of root.querySelectorAll("img:not([alt])")) img.setAttribute("alt", img.title || "");
  for (const status of root.querySelectorAll(".cdw-status:not([role])")) {
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
  }
  for (const line of root.querySelectorAll(".cdw-live:not([aria-live])")) {
    line.setAttribute("aria-live", "polite");
  }
}

// The slider writes its number into aria-valuetext as it moves: put the words back.
function sayDivider(handle) {
  const text = handle.getAttribute("aria-valuetext");
  if (text === null || text.trim() === "" || Number.isNaN(Number(text))) return;
  handle.setAttribute("aria-valuetext", dividerText(text));
}

function describeStage(stage, model) {
  if (!stage) return;
  const picture = model.get("picture");
  for (const ink of stage.querySelectorAll("canvas.cdw-ink")) {
    if (!ink.dataset.cdwHow) ink.dataset.cdwHow = ink.getAttribute("aria-label") || "";
    const label = picture ? `${picture}. ${ink.dataset.cdwHow}` : ink.dataset.cdwHow;
    if (ink.getAttribute("aria-label") !== label) ink.setAttribute("aria-label", label);
  }
  // the uncrop frame: an image of the photo in its frame (its edges are dragged)
  for (const frame of stage.querySelectorAll(".cdw-uncrop-stage")) {
    if (frame.getAttribute("role") !== "img") frame.setAttribute("role", "img");
    if (picture && frame.getAttribute("aria-label") !== picture) {
      frame.setAttribute("aria-label", picture);
    }
  }
  const compare = model.get("compare");
  for (const frame of stage.querySelectorAll(".cdw-compare canvas")) {
    if (frame.getAttribute("role") !== "img") frame.setAttribute("role", "img");
    if (compare && frame.getAttribute("aria-label") !== compare) {
      frame.setAttribute("aria-label", compare);
    }
  }
}

// Where the keyboard focus goes after Keep, Discard or Send to (their button disappears or
// its tab is left): the stage's painter (the photo or sketch, or the uncrop frame), else the
// app's Run button. The stage may still be hidden (its tab shown only now, the painter's
// display just changed): try again for a few frames until something is visible.
// Python's request comes a kernel round trip after the press, and a busy kernel can take a
// second or more: by then the person may have gone on with Tab or a click. The focus is only
// taken while it is still where the press left it: on the page (the pressed button hidden or
// gone), on a hidden or disabled element, or still in the row of buttons that sent it (the
// staging row, a "Send to" control). Anywhere else it stays (it was pulled back to the stage
// from wherever the person had moved it).
function visible(node) {
  return node.getClientRects().length > 0 && getComputedStyle(node).visibility !== "hidden";
}

export const SENDERS = ".cdw-staging, .cdw-sendto";

// Whether the focus may be moved to the stage now: `active` is the page's focused element.
export function focusFree(active, body, isVisible = visible) {
  if (active == null || active === body) return true;
  if (active.disabled || !isVisible(active)) return true;
  return typeof active.closest === "function" && active.closest(SENDERS) !== null;
}

export function focusStage(el, { tries = 60, doc = document, isVisible = visible,
                                 frame = (fn) => requestAnimationFrame(fn) } = {}) {
  if (!focusFree(doc.activeElement, doc.body, isVisible)) return;
  const stage = el.closest(".cdw-stage");
  const app = stage && stage.closest(".cdw-app");
  if (!app) return;
  const candidates = [...stage.querySelectorAll("canvas.cdw-ink, .cdw-uncrop-stage[tabindex]"),
    ...app.querySelectorAll("button.cdw-run")];
  const target = candidates.find((node) => node.tabIndex >= 0 && isVisible(node) &&
                                           !node.disabled);
  if (target) target.focus();
  else if (tries > 0) frame(() => focusStage(el, { tries: tries - 1, doc, isVisible, frame }));
}

export default {
  render({ model, el }) {
    const onMessage = (msg) => { if (msg && msg.focus === "stage") focusStage(el); };
    model.on("msg:custom", onMessage);
    let root = null;
    let observer = null;
    let pending = null;
    let placing = null;
    const watched = new WeakSet();
    // `say(node)` each time the attribute `name` of a node handed to the returned function
    // changes (each node watched once), and the observer, to disconnect
    const follow = (say, name) => {
      const changes = new MutationObserver((records) => {
        for (const record of records) say(record.target);
      });
      const start = (node) => {
        if (watched.has(node)) return;
        watched.add(node);
        changes.observe(node, { attributes: true, attributeFilter: [name] });
      };
      return [start, changes];
    };
    const [watch, dividers] = follow(sayDivider, "aria-valuetext");
    // a toggle chosen on the page changes only its class (one rebuilt by the kernel is new:
    // the page change below finds it)
    const [watchToggle, toggles] = follow(sayPressed, "class");
    const fix = () => {
      pending = null;
      if (!root) return;
      observer.disconnect(); // our own attribute changes are not news
      nameControls(root, watch, watchToggle);
      describeStage(el.closest(".cdw-stage"), model);
      observer.observe(root, { childList: true, subtree: true });
    };
    const schedule = () => { if (pending === null) pending = requestAnimationFrame(fix); };
    observer = new MutationObserver(schedule);
    // Views are attached after render: wait until this one is in the page.
    const attach = (tries = 600) => {
      placing = null;
      root = outermostApp(el);
      if (root) schedule();
      else if (tries > 0) placing = requestAnimationFrame(() => attach(tries - 1));
    };
    attach();
    model.on("change:picture", schedule);
    model.on("change:compare", schedule);
    return () => {
      model.off("msg:custom", onMessage);
      model.off("change:picture", schedule);
      model.off("change:compare", schedule);
      observer.disconnect();
      dividers.disconnect();
      toggles.disconnect();
      if (pending !== null) cancelAnimationFrame(pending);
      if (placing !== null) cancelAnimationFrame(placing);
    };
  },
};

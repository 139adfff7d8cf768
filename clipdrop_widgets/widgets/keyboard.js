// Keyboard for an app (anywidget ES module, no build step): Ctrl/Cmd+Enter anywhere in the
// app runs it, and Tab is never trapped.
//
// ipycanvas gives every canvas tabindex=0 and a keydown handler that cancels every key,
// Tab included, so focus entered a canvas (the compare view) and could not leave. One
// listener per app, on the document in the capture phase (it runs before the canvas's
// own handler), stops a Tab keydown aimed at such a canvas from reaching it: the browser
// then moves focus as usual. The app's root is the nearest `.cdw-app` around this widget.
// Run is disabled while a run is in flight, and a disabled button drops the focus to the
// page: a keyboard user pressing Run was sent back to the top. When focus is lost that way
// from Run or Cancel, it goes to whichever of the two is enabled (Cancel during the run, Run
// again after it).
// To Python: {type: "run"}.

export const APP_CLASS = "cdw-app";
export const RUN_CLASS = "cdw-run";
export const CANCEL_CLASS = "cdw-cancel";

// What a keydown means for the app `root`: "run", "tab" (let the browser move focus), or null.
export function keyAction(ev, root) {
  if (root === null || !root.contains(ev.target)) return null;
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.altKey) return "run";
  const t = ev.target;
  if (ev.key === "Tab" && t.tagName === "CANVAS" && !t.classList.contains("cdw-ink")) return "tab";
  return null;
}

// The button to give focus to after Run or Cancel changed state, or null: only when focus is
// lost or about to be (on the page's body, or on a button just disabled) and the last element
// focused in the app was one of the two.
export function focusTarget(root, last, active, body) {
  if (root === null || last === null) return null;
  if (active !== null && active !== body && !active.disabled) return null;
  const pair = [root.querySelector(`.${RUN_CLASS}`), root.querySelector(`.${CANCEL_CLASS}`)];
  if (!pair.includes(last)) return null;
  return pair.find((b) => b !== null && !b.disabled) || null;
}

export function createKeyboard({ model, el, doc = document, Observer = MutationObserver }) {
  let last = null;
  let observer = null;
  const root = () => el.closest(`.${APP_CLASS}`);

  function onFocusin(ev) {
    const r = root();
    if (r === null || !r.contains(ev.target)) return;
    last = ev.target;
    if (observer === null) {
      observer = new Observer(() => {
        const target = focusTarget(root(), last, doc.activeElement, doc.body);
        if (target !== null) target.focus();
      });
      observer.observe(r, { subtree: true, attributes: true, attributeFilter: ["disabled"] });
    }
  }

  function onKeydown(ev) {
    const action = keyAction(ev, el.closest(`.${APP_CLASS}`));
    if (action === "tab") {
      ev.stopPropagation(); // not preventDefault: the browser moves focus
    } else if (action === "run") {
      ev.preventDefault();
      ev.stopPropagation(); // not the notebook's own Ctrl+Enter (run the cell again)
      model.send({ type: "run" });
    }
  }
  doc.addEventListener("keydown", onKeydown, true);
  doc.addEventListener("focusin", onFocusin, true);
  return {
    destroy() {
      doc.removeEventListener("keydown", onKeydown, true);
      doc.removeEventListener("focusin", onFocusin, true);
      if (observer !== null) observer.disconnect();
    },
  };
}

export default {
  render({ model, el }) {
    el.classList.add("cdw-keyboard");
    const keyboard = createKeyboard({ model, el });
    return () => keyboard.destroy();
  },
};

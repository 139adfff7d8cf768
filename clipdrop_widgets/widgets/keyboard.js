// Keyboard for an app (anywidget ES module, no build step): Ctrl/Cmd+Enter anywhere in the
// app runs it, and Tab is never trapped.
//
// ipycanvas gives every canvas tabindex=0 and a keydown handler that cancels every key,
// Tab included, so focus entered a canvas (the compare view) and could not leave. One
// listener per app, on the document in the capture phase (it runs before the canvas's
// own handler), stops a Tab keydown aimed at such a canvas from reaching it: the browser
// then moves focus as usual. The app's root is the nearest `.cdw-app` around this widget.
// To Python: {type: "run"}.

export const APP_CLASS = "cdw-app";

// What a keydown means for the app `root`: "run", "tab" (let the browser move focus), or null.
export function keyAction(ev, root) {
  if (root === null || !root.contains(ev.target)) return null;
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.altKey) return "run";
  const t = ev.target;
  if (ev.key === "Tab" && t.tagName === "CANVAS" && !t.classList.contains("cdw-ink")) return "tab";
  return null;
}

export function createKeyboard({ model, el, doc = document }) {
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
  return { destroy() { doc.removeEventListener("keydown", onKeydown, true); } };
}

export default {
  render({ model, el }) {
    el.classList.add("cdw-keyboard");
    const keyboard = createKeyboard({ model, el });
    return () => keyboard.destroy();
  },
};

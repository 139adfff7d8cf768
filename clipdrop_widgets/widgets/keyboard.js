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
// Run must see the inputs the person sees. ipywidgets sends a model's state at most one message
// at a time and holds later changes until the kernel is idle, and JupyterLab may hand two
// widgets' messages to different kernel threads (comms over subshells), in either order: a
// prompt typed and run straight away could run "a lig" of "a lighthouse at dusk". So a press
// of Run (mouse, Enter or Space) and Ctrl/Cmd+Enter become one message that carries every
// input the app keeps (class `cdw-input-<model id>`) as it is on the screen: a text box's
// text, a drop-down's chosen index. The button's own click message is not sent. Strokes drawn
// just before are in the same race: the message waits (up to RUN_WAIT_MS) until every ink
// layer of the app has no stroke awaiting Python's commit (ink.js's `data-cdw-awaiting`);
// further presses meanwhile are ignored.
// To Python: {type: "run", inputs: {modelId: {value: text} | {index: n}}}.

export const APP_CLASS = "cdw-app";
export const RUN_CLASS = "cdw-run";
export const CANCEL_CLASS = "cdw-cancel";
export const INPUT_CLASS_PREFIX = "cdw-input-";
export const RUN_WAIT_MS = 5000; // longest wait for strokes to be committed before Run is sent
const RUN_POLL_MS = 15;

// Finished strokes drawn inside `root` that Python has not committed yet.
export function strokesAwaiting(root) {
  let n = 0;
  for (const c of root.querySelectorAll("canvas.cdw-ink")) n += Number(c.dataset.cdwAwaiting) || 0;
  return n;
}

// Each kept input inside `root` as it is on the screen, by its model id: {value} for a text
// box, {index} for a drop-down.
export function pageInputs(root) {
  const inputs = {};
  for (const box of root.querySelectorAll(`[class*="${INPUT_CLASS_PREFIX}"]`)) {
    const tag = Array.from(box.classList).find((c) => c.startsWith(INPUT_CLASS_PREFIX));
    if (tag === undefined) continue;
    const id = tag.slice(INPUT_CLASS_PREFIX.length);
    const select = box.querySelector("select");
    const input = select === null ? box.querySelector("textarea, input") : null;
    if (select !== null) inputs[id] = { index: select.selectedIndex };
    else if (input !== null) inputs[id] = { value: input.value };
  }
  return inputs;
}

// The enabled Run button a click on `target` presses inside `root`, or null.
export function runPressed(target, root) {
  if (root === null || target === null || typeof target.closest !== "function") return null;
  const button = target.closest(`.${RUN_CLASS}`);
  return button !== null && root.contains(button) && !button.disabled ? button : null;
}

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

export function createKeyboard({ model, el, doc = document, Observer = MutationObserver,
                                 later = setTimeout }) {
  let last = null;
  let observer = null;
  let waiting = false; // a press is waiting for strokes: further presses are ignored
  const root = () => el.closest(`.${APP_CLASS}`);

  // Send the run once the app's strokes are committed (or RUN_WAIT_MS passed), with the
  // inputs as they are then.
  function pressRun() {
    if (waiting) return;
    waiting = true;
    const started = Date.now();
    const attempt = () => {
      const r = root();
      if (r !== null && strokesAwaiting(r) > 0 && Date.now() - started < RUN_WAIT_MS) {
        later(attempt, RUN_POLL_MS);
        return;
      }
      waiting = false;
      if (r !== null) model.send({ type: "run", inputs: pageInputs(r) });
    };
    attempt();
  }

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
      pressRun();
    }
  }

  // Capture phase: before the button's own handler, which would send a click without the inputs.
  function onClick(ev) {
    const r = root();
    if (runPressed(ev.target, r) === null) return;
    ev.preventDefault();
    ev.stopPropagation();
    pressRun();
  }
  doc.addEventListener("keydown", onKeydown, true);
  doc.addEventListener("focusin", onFocusin, true);
  doc.addEventListener("click", onClick, true);
  return {
    destroy() {
      doc.removeEventListener("keydown", onKeydown, true);
      doc.removeEventListener("click", onClick, true);
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

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
// and photos chosen just before are in the same race: the message waits (up to RUN_WAIT_MS)
// until nothing in the app awaits Python (`data-cdw-awaiting`: ink.js's finished strokes not
// yet committed, upload.js's file not yet taken); further presses meanwhile are ignored.
// Apps nest in a Studio, which is an app root too: an element belongs to its nearest root, so
// Ctrl/Cmd+Enter on the Studio's own controls (history, sessions) runs the selected tab's app
// and never re-runs the notebook cell, while keys inside an app stay that app's.
// Pressing Enter twice on Run must not cancel the run: focus moves to Cancel as Run is
// disabled, so a keyboard press of Cancel within CANCEL_GUARD_MS of that move is ignored.
// No key pressed inside an app may reach the notebook's own shortcuts (JupyterLab, Notebook
// 7): Ctrl+Enter on a canvas or on Run re-ran the Studio's cell (a new empty session), B on a
// canvas inserted a cell. Their listener can run before ours, so stopping the event is not
// enough. Lumino's command registry (processKeydownEvent, @lumino/commands) walks up from the
// key's target and gives up at an element carrying `data-lm-suppress-shortcuts`, but it tests
// each element against a binding's selector first, and the notebook's selectors end in
// `:focus` (`.jp-Notebook.jp-mod-commandMode :focus:not(:read-write)`): the focused element
// itself must carry it. So the app root carries it (set as soon as the root is in the page)
// and so does every element of the app that gets focus (set on focusin, before any key).
// Escape inside an app leaves it for the notebook (JupyterLab, Notebook 7): the usual "Esc,
// then navigate cells" habit. The shortcuts being kept away (above), Escape did nothing and
// leaving took Tab presses. So Escape gives focus to the notebook cell around the app (what
// JupyterLab itself focuses in command mode: the notebook enters command mode, that cell
// active), unless something inside the app took it (`preventDefault`, e.g. a menu closing:
// looked at when the key has bubbled up to the document). On an ipycanvas canvas, whose
// handler cancels every key, it is taken in the capture phase like Tab. Outside a notebook
// (Voila, a plain page) there is no cell and Escape is left alone.
// A page whose kernel has gone must not look alive (typing and Run doing nothing, the status
// still "Ready"): the outermost app's keyboard asks Python every PING_MS; when no answer came
// for LOST_AFTER_MS, or a message cannot be sent at all, a banner says the connection is lost
// and what to do; it goes when an answer comes again. The banner is fixed to the bottom of the
// window and lets clicks through: it never moves the page under the pointer nor covers a
// control (a kernel busy running other code for a while shows it too, then it goes).
// A focused button the kernel replaces took the focus with it, to the top of the page:
// ipywidgets' ToggleButtons rebuild every button for each change the kernel makes (its check
// of stale buttons compares their index values with the labels, so it always finds them
// stale), so Space on Upscale's x4 with a photo too big for it (Python moves it to Size) lost
// the focus; a history card's buttons are made anew for the next page's result (each result
// has its own), so a card's Download focused while the page turned lost it too; and a row
// that grows in front is made anew (ipywidgets remakes a box's children from the first one
// changed, e.g. a prompt's tail when Undo comes before Use). While a button has the focus,
// its row is watched; when the button leaves the page, an enabled button like it in the row
// (same words and classes, the nearest to its place), else the enabled button now at its
// place, takes the focus (the new one may come a moment later, up to REPLACED_WAIT_MS).
// Nothing is done when the row itself was remade (a history strip refilled in front by a new
// result) or has no enabled button there. The watch ends when
// the button loses the focus in any other way (Tab, a click elsewhere, even on the page's
// background).
// To Python: {type: "run", inputs: {modelId: {value: text} | {index: n}}}, {type: "ping"};
// from Python: {type: "pong"}.

export const APP_CLASS = "cdw-app";
export const RUN_CLASS = "cdw-run";
export const CANCEL_CLASS = "cdw-cancel";
export const INPUT_CLASS_PREFIX = "cdw-input-";
// Longest wait for the app's strokes and uploads to reach Python before Run is sent anyway:
// longer than upload.js's 120 s without an answer, after which an upload gives up by itself.
export const RUN_WAIT_MS = 130000;
// Longest wait for a button in the place of a focused one the kernel removed (see the top).
export const REPLACED_WAIT_MS = 5000;
export const CANCEL_GUARD_MS = 700;
const RUN_POLL_MS = 15;
export const PING_MS = 1000;
export const LOST_AFTER_MS = 3000;
export const LOST_CLASS = "cdw-connection-lost";
export const LOST_WORDS = "Lost the connection to the kernel: nothing on this page will run " +
  "(the server was restarted, the kernel stopped, or it is busy with other code). Reload the " +
  "page to start again (in JupyterLab or Notebook 7: restart the kernel and run the cell " +
  "again); results made so far are kept in the session folder.";
// The attribute that keeps Lumino's key bindings (the notebook's shortcuts) away.
export const SUPPRESS_ATTRIBUTE = "data-lm-suppress-shortcuts";
// A notebook cell (JupyterLab, Notebook 7): where Escape sends the focus.
export const CELL_CLASS = "jp-Cell";
// How often, and how many times, to look for the app root after render (it is attached later).
const ROOT_POLL_MS = 100;
const ROOT_POLL_TRIES = 300;

// The app root `el` belongs to (its nearest), or null.
export function owner(el) {
  return el !== null && typeof el.closest === "function" ? el.closest(`.${APP_CLASS}`) : null;
}

// Strokes and uploads inside `root` that Python has not taken yet.
export function awaitingPython(root) {
  let n = 0;
  for (const e of root.querySelectorAll("[data-cdw-awaiting]")) n += Number(e.dataset.cdwAwaiting) || 0;
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

// Keep the notebook's shortcuts away from keys pressed inside `root` (see above); true when
// it could (a root, with attributes).
export function suppressShortcuts(root) {
  if (root === null || typeof root.setAttribute !== "function") return false;
  if (root.getAttribute(SUPPRESS_ATTRIBUTE) !== "true") root.setAttribute(SUPPRESS_ATTRIBUTE, "true");
  return true;
}

// The enabled Run button a click on `target` presses inside `root`, or null.
export function runPressed(target, root) {
  if (root === null || target === null || typeof target.closest !== "function") return null;
  const button = target.closest(`.${RUN_CLASS}`);
  return button !== null && owner(button) === root && !button.disabled ? button : null;
}

// What a keydown means for the app `root`: "run", "tab" (let the browser move focus), "leave"
// (Escape: to the notebook cell), or null.
export function keyAction(ev, root) {
  const t = ev.target;
  if (root === null || owner(t) !== root) return null;
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && !ev.altKey) {
    return t.type === "password" ? null : "run"; // the key box takes its key with Enter
  }
  if (ev.key === "Tab" && t.tagName === "CANVAS" && !t.classList.contains("cdw-ink")) return "tab";
  if (ev.key === "Escape" && !(ev.ctrlKey || ev.metaKey || ev.altKey || ev.shiftKey)) return "leave";
  return null;
}

// A text field (a prompt, a number box), where the widget's own view keeps keys to itself.
export function typingField(target) {
  if (target === null || typeof target !== "object") return false;
  if (target.tagName === "TEXTAREA") return true;
  return target.tagName === "INPUT" && !["button", "checkbox", "radio", "range", "file",
    "submit", "reset", "color"].includes(String(target.type || "text").toLowerCase());
}

// The notebook cell holding the app `root` (JupyterLab, Notebook 7), or null (Voila, a page).
export function notebookCell(root) {
  return root !== null && typeof root.closest === "function" ? root.closest(`.${CELL_CLASS}`) : null;
}

// The button to give focus to after Run or Cancel changed state, or null: only when focus is
// lost or about to be (on the page's body, or on a button just disabled) and the last element
// focused in the app was one of the two.
export function focusTarget(root, last, active, body) {
  if (root === null || last === null) return null;
  if (active !== null && active !== body && !active.disabled) return null;
  const own = (b) => (b !== null && owner(b) === root ? b : null);
  const pair = [own(root.querySelector(`.${RUN_CLASS}`)), own(root.querySelector(`.${CANCEL_CLASS}`))];
  if (last === null || !pair.includes(last)) return null;
  return pair.find((b) => b !== null && !b.disabled) || null;
}

// Whether `root` is an outermost app (not an app inside a Studio): the one that watches.
export function outermost(root) {
  return root !== null && (root.parentElement == null || owner(root.parentElement) === null);
}

const BANNER_STYLE = "position:fixed;left:12px;right:12px;bottom:12px;z-index:100000;" +
  "pointer-events:none;padding:8px 12px;border-radius:6px;background:#b00020;color:#fff;" +
  "font:13px/1.4 sans-serif;box-shadow:0 2px 8px rgba(0,0,0,.3)";

// The lost-connection banner shown (`lost`) or not: returns the banner now in the page, or
// null. `shown` is the one shown before (or null).
export function showLost(shown, lost, doc = document) {
  if (!lost) {
    if (shown !== null) shown.remove();
    return null;
  }
  if (shown !== null) return shown;
  const banner = doc.createElement("div");
  banner.className = LOST_CLASS;
  banner.setAttribute("role", "alert");
  banner.setAttribute("style", BANNER_STYLE);
  banner.textContent = LOST_WORDS;
  doc.body.appendChild(banner);
  return banner;
}

// Ask Python every PING_MS and say when the answers stop (see the top). Returns {answered,
// stop}: `answered()` is called for each pong.
export function createWatch({ model, root, doc = document, now = () => Date.now(),
                              every = setInterval, cancel = clearInterval }) {
  let answeredAt = now();
  let broken = false; // a message could not be sent: the kernel is gone
  let banner = null;
  const tick = () => {
    const r = root();
    if (r === null || !outermost(r)) return;
    if (doc.hidden) { // a background tab asks nothing; the clock starts again when shown
      answeredAt = now();
      return;
    }
    try {
      model.send({ type: "ping" });
    } catch (err) {
      broken = true;
    }
    banner = showLost(banner, broken || now() - answeredAt > LOST_AFTER_MS, doc);
  };
  const timer = every(tick, PING_MS);
  return {
    answered() {
      answeredAt = now();
      broken = false;
      banner = showLost(banner, false, doc);
    },
    tick,
    stop() { cancel(timer); banner = showLost(banner, false, doc); },
  };
}

// What a button is, to know the one made in its place: its words and its classes (not the
// chosen toggle's mark).
export function buttonSignature(button) {
  const classes = button.classList ? [...button.classList].filter((c) => c !== "mod-active") : [];
  return `${String(button.textContent || "").trim()}|${classes.sort().join(" ")}`;
}

// The button to give the focus back to after a row of buttons was rebuilt (see the top), or
// null: `button` had the focus, at `index` in `group`, and was `signature`; `active` has the
// focus now. A button like it in the row (the nearest to its place: a row can grow in front,
// as a prompt's Undo does), else the button now at its place.
export function rebuiltButton(button, group, index, active, body, signature = null) {
  if (button.isConnected || !group.isConnected) return null;
  if (active !== null && active !== body && active.isConnected) return null; // moved on
  const usable = (b) => b !== undefined && b.tagName === "BUTTON" && !b.disabled;
  const kids = [...group.children];
  const alike = signature === null ? [] :
    kids.filter((b) => usable(b) && buttonSignature(b) === signature);
  if (alike.length > 0) {
    const off = (b) => Math.abs(kids.indexOf(b) - index);
    return alike.reduce((best, b) => (off(b) < off(best) ? b : best));
  }
  return usable(kids[index]) ? kids[index] : null;
}

export function createKeyboard({ model, el, doc = document, Observer = MutationObserver,
                                 later = setTimeout, watcher = true }) {
  let last = null;
  let observer = null;
  let waiting = false; // a press is waiting for strokes: further presses are ignored
  let moved = null; // {button, at}: focus moved to Cancel by us, when
  let watched = null; // {target, observer}: the focused button and its row's observer
  const root = () => owner(el);

  function send(message) {
    try {
      model.send(message);
    } catch (err) { // the kernel is gone (restarted, shut down): nothing to run on
      console.warn("clipdrop-widgets: Run not sent:", err);
    }
  }

  // Send the run once the app's strokes are committed (or RUN_WAIT_MS passed), with the
  // inputs as they are then.
  function pressRun() {
    if (waiting) return;
    waiting = true;
    const started = Date.now();
    const attempt = () => {
      const r = root();
      if (r !== null && awaitingPython(r) > 0 && Date.now() - started < RUN_WAIT_MS) {
        later(attempt, RUN_POLL_MS);
        return;
      }
      waiting = false;
      if (r !== null) send({ type: "run", inputs: pageInputs(r) });
    };
    attempt();
  }

  function onFocusin(ev) {
    watchButton(null); // whatever had the focus, it has moved on
    const r = root();
    if (r === null || owner(ev.target) !== r) return;
    suppressShortcuts(r);
    suppressShortcuts(ev.target);
    last = ev.target;
    watchButton(ev.target);
    if (observer === null) {
      observer = new Observer(() => {
        const target = focusTarget(root(), last, doc.activeElement, doc.body);
        if (target === null) return;
        target.focus();
        moved = target.classList.contains(CANCEL_CLASS) ? { button: target, at: Date.now() } : null;
      });
      observer.observe(r, { subtree: true, attributes: true, attributeFilter: ["disabled"] });
    }
  }

  // While a button has the focus, give it back if the kernel replaces it in its row
  // (`target` null: stop watching).
  function watchButton(target) {
    if (watched !== null) watched.observer.disconnect();
    watched = null;
    const group = target === null ? null : target.parentElement;
    if (group == null || target.tagName !== "BUTTON") return;
    const index = Array.prototype.indexOf.call(group.children, target);
    const signature = buttonSignature(target);
    let goneAt = null; // when the button was first seen out of the page
    const observer = new Observer(() => {
      if (!target.isConnected && goneAt === null) goneAt = Date.now();
      if (goneAt !== null && Date.now() - goneAt > REPLACED_WAIT_MS) {
        watchButton(null); // nothing came in its place: the focus stays where it fell
        return;
      }
      const again = rebuiltButton(target, group, index, doc.activeElement, doc.body, signature);
      if (again !== null) again.focus({ preventScroll: true }); // focusin watches it next
    });
    observer.observe(group, { childList: true });
    watched = { target, observer };
  }

  // The watched button lost the focus while still in the page (a click on the page's
  // background): it was not rebuilt, the person moved on. A rebuilt one is out of the page
  // by the time this runs (the observer, a microtask, has run first).
  function onFocusout(ev) {
    if (watched === null || ev.target !== watched.target) return;
    const was = watched;
    later(() => { if (watched === was && was.target.isConnected) watchButton(null); }, 0);
  }

  // Escape: focus to the notebook cell around the app; true when there is one.
  function leave() {
    const cell = notebookCell(root());
    if (cell === null || typeof cell.focus !== "function") return false;
    cell.focus({ preventScroll: true });
    return true;
  }

  // Bubble phase: an Escape nothing inside the app took.
  function onKeyBubble(ev) {
    if (ev.defaultPrevented || keyAction(ev, root()) !== "leave") return;
    if (leave()) ev.preventDefault();
  }

  function onKeydown(ev) {
    const action = keyAction(ev, root());
    if (action === "leave" && ev.target.tagName === "CANVAS" && !ev.target.classList.contains("cdw-ink")) {
      ev.stopPropagation(); // never to the canvas's handler, which cancels every key
      if (leave()) ev.preventDefault();
    } else if (action === "leave" && typingField(ev.target)) {
      // ipywidgets' text views stop every key from bubbling out of a prompt: the bubble
      // phase never saw this Escape (leaving took Tab presses). An input method's Escape
      // (cancelling a composition) stays with it.
      if (!ev.isComposing && leave()) ev.preventDefault();
    } else if (action === "tab") {
      ev.stopPropagation(); // not preventDefault: the browser moves focus
    } else if (action === "run") {
      ev.preventDefault();
      ev.stopPropagation(); // not the notebook's own Ctrl+Enter (run the cell again)
      pressRun();
    }
  }

  // Capture phase: before the button's own handler, which would send a click without the inputs.
  // A keyboard press (detail 0) of the Cancel we just gave focus to: the second of a double
  // Enter on Run, ignored. A mouse click always cancels.
  function onClick(ev) {
    const r = root();
    if (moved !== null && ev.detail === 0 && Date.now() - moved.at < CANCEL_GUARD_MS &&
        typeof ev.target.closest === "function" && ev.target.closest(`.${CANCEL_CLASS}`) === moved.button) {
      ev.preventDefault();
      ev.stopPropagation();
      return;
    }
    if (runPressed(ev.target, r) === null) return;
    ev.preventDefault();
    ev.stopPropagation();
    pressRun();
  }
  let tries = 0;
  const markRoot = () => {
    if (!suppressShortcuts(root()) && ++tries < ROOT_POLL_TRIES) later(markRoot, ROOT_POLL_MS);
  };
  markRoot();
  doc.addEventListener("keydown", onKeydown, true);
  doc.addEventListener("keydown", onKeyBubble, false);
  doc.addEventListener("focusin", onFocusin, true);
  doc.addEventListener("focusout", onFocusout, true);
  doc.addEventListener("click", onClick, true);
  const watch = watcher ? createWatch({ model, root, doc }) : null;
  const onMessage = (msg) => { if (msg && msg.type === "pong" && watch !== null) watch.answered(); };
  if (typeof model.on === "function") model.on("msg:custom", onMessage);
  return {
    destroy() {
      if (watch !== null) watch.stop();
      if (typeof model.off === "function") model.off("msg:custom", onMessage);
      doc.removeEventListener("keydown", onKeydown, true);
      doc.removeEventListener("keydown", onKeyBubble, false);
      doc.removeEventListener("click", onClick, true);
      doc.removeEventListener("focusin", onFocusin, true);
      doc.removeEventListener("focusout", onFocusout, true);
      if (observer !== null) observer.disconnect();
      watchButton(null);
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

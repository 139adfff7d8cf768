// The Studio's page in Voila: the notebook's widgets, live, without Voila's JupyterLab front end.
//
// Voila's own page ("lab" template) starts a JupyterLab application to show one notebook's
// outputs: 4.8 MB of scripts (renderers, MathJax, CodeMirror's languages, both themes' plugins)
// compiled and run before the first widget appears, most of the preheated Studio's start
// (benchmarks/results/studio_start.md). This script does what that application does for a page
// whose outputs are widgets, and nothing else:
//
// * connect to the kernel Voila started for the page (its id is in the page's configuration);
// * ask the kernel for every widget's state, through ipywidgets' own manager
//   (`ManagerBase._loadFromKernel`, the `jupyter.widget.control` comm), and follow the kernel's
//   new widgets as they are opened;
// * render each cell output Voila wrote into the page: widget views in place, HTML and text as
//   they are;
// * load the other widget libraries (ipycanvas, anywidget) from their JupyterLab extensions,
//   the very files Voila's page loads, sharing this bundle's `@jupyter-widgets/base` with them
//   through webpack's share scope, as JupyterLab does;
// * say so, instead of "Loading widget..." for ever, when the page's kernel is gone (the
//   server restarted, or culled it, before the page connected), as Voila's page does;
// * shut the kernel down when the page is left, as Voila's page does.
//
// The styles are Voila's (`voila-style.js` in the head, both themes) and the widgets' own
// (bundled beside this file as studio-page.css). Built by `js/build.mjs`
// (`npm ci && node build.mjs` in js/); the launcher uses it only for the ipywidgets it was
// built against (`clipdrop_widgets/launcher/page.py`).

import * as base from "@jupyter-widgets/base";
import * as controls from "@jupyter-widgets/controls";
import { ManagerBase } from "@jupyter-widgets/base-manager";
import { KernelConnection } from "@jupyterlab/services/lib/kernel/default";
import { getKernelModel } from "@jupyterlab/services/lib/kernel/restapi";
import { ServerConnection } from "@jupyterlab/services/lib/serverconnection";
import { Panel, Widget } from "@lumino/widgets";
import semver from "semver";

import "@jupyter-widgets/base/css/index.css";
import "@jupyter-widgets/controls/css/widgets-base.css";

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";

// ipywidgets 8 sets a description's `title` to the model's tooltip even when there is none:
// every label without one showed the tooltip "null" on hover ("Left %", "Size", ...).
controls.DescriptionView.prototype.updateTooltip = function updateTooltip() {
  if (this.label) this.label.title = this.model.get("tooltip") ?? "";
};
const BUILT_WITH = { base: BASE_VERSION, controls: CONTROLS_VERSION };

function config() {
  const node = document.getElementById("jupyter-config-data");
  return node ? JSON.parse(node.textContent || "{}") : {};
}

function join(...parts) {
  return parts.map((p, i) => (i ? String(p).replace(/^\/+/, "") : String(p)))
    .map((p, i, all) => (i < all.length - 1 ? p.replace(/\/+$/, "") : p)).join("/");
}

// ---- other widget libraries, from their JupyterLab extensions ------------------------------

/** webpack's share scope, with this bundle's modules in it. */
function shareScope() {
  const scope = {};
  const provide = (name, version, module) => {
    scope[name] = scope[name] || {};
    scope[name][version] = {
      get: () => Promise.resolve(() => module), from: "clipdrop-widgets", eager: true, loaded: 1,
    };
  };
  provide("@jupyter-widgets/base", BUILT_WITH.base, base);
  provide("@jupyter-widgets/controls", BUILT_WITH.controls, controls);
  return scope;
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${url}`));
    script.async = true;
    script.src = url;
    document.head.appendChild(script);
  });
}

/** The widget modules the page's extensions register: name -> [{version, exports}]. */
async function loadExtensions(cfg) {
  const registered = new Map();
  const registry = {
    registerWidget(data) {
      if (!registered.has(data.name)) registered.set(data.name, []);
      registered.get(data.name).push({ version: data.version, exports: data.exports });
    },
  };
  const scope = shareScope();
  const root = cfg.fullLabextensionsUrl || join(cfg.baseUrl || "/", "voila/labextensions");
  const own = new Set(["@jupyter-widgets/jupyterlab-manager",
    "@voila-dashboards/widgets-manager7", "@voila-dashboards/widgets-manager8"]);
  const extensions = (cfg.federated_extensions || []).filter((e) => !own.has(e.name));
  await Promise.all(extensions.map(async (ext) => {
    try {
      await loadScript(join(root, ext.name, ext.load));
      const container = window._JUPYTERLAB[ext.name];
      await container.init(scope);
      if (ext.style) (await container.get(ext.style))();
      if (!ext.extension) return;
      const module = (await container.get(ext.extension))();
      const exported = module && module.__esModule ? module.default : module;
      for (const plugin of Array.isArray(exported) ? exported : [exported]) {
        const needs = plugin.requires || [];
        if (needs.length === 1 && needs[0] === base.IJupyterWidgetRegistry) {
          await plugin.activate({}, registry);
        }
      }
    } catch (error) {
      console.error(`clipdrop-widgets: the extension ${ext.name} did not load`, error);
    }
  }));
  return registered;
}

// ---- the widget manager -------------------------------------------------------------------

class PageManager extends ManagerBase {
  constructor(kernel, extensions) {
    super();
    this.kernel = kernel;
    this._extensions = extensions;
    kernel.registerCommTarget(this.comm_target_name, (comm, msg) =>
      this.handle_comm_open(new base.shims.services.Comm(comm), msg));
  }

  async loadClass(className, moduleName, moduleVersion) {
    let module;
    if (moduleName === "@jupyter-widgets/base") module = base;
    else if (moduleName === "@jupyter-widgets/controls") module = controls;
    else {
      const versions = (await this._extensions).get(moduleName) || [];
      const range = semver.valid(moduleVersion) ? `^${moduleVersion}` : moduleVersion;
      const best = semver.maxSatisfying(versions.map((v) => v.version), range || "*");
      const found = versions.find((v) => v.version === best);
      if (!found) {
        throw new Error(`No version of ${moduleName} matching ${moduleVersion} is installed ` +
          `(found: ${versions.map((v) => v.version).join(", ") || "none"})`);
      }
      module = typeof found.exports === "function" ? await found.exports() : await found.exports;
    }
    const cls = module[className];
    if (!cls) throw new Error(`Class ${className} not found in module ${moduleName}`);
    return cls;
  }

  async _create_comm(targetName, modelId, data, metadata, buffers) {
    const comm = this.kernel.createComm(targetName, modelId);
    if (data || metadata) comm.open(data, metadata, buffers);
    return new base.shims.services.Comm(comm);
  }

  async _get_comm_info() {
    const reply = await this.kernel.requestCommInfo({ target_name: this.comm_target_name });
    return reply.content.status === "ok" ? reply.content.comms : {};
  }
}

// ---- the page's outputs -------------------------------------------------------------------

function textOutput(text, mime) {
  const pre = document.createElement("pre");
  pre.textContent = text;
  const box = document.createElement("div");
  box.className = "lm-Widget jp-RenderedText jp-OutputArea-output";
  box.setAttribute("data-mime-type", mime);
  box.appendChild(pre);
  return box;
}

const GONE = "This page's kernel is gone (the server was restarted, or it closed the kernel " +
  "of a page left idle). Reload the page to start again: your results are in the session folder.";
/** Widget outputs still waiting for their widget: told when the kernel is gone. */
const waiting = new Set();

function kernelGone() {
  for (const panel of waiting) {
    panel.node.textContent = GONE;
    panel.addClass("cdw-page-kernel-gone");
    panel.node.setAttribute("role", "alert");
  }
  waiting.clear();
}

async function renderWidget(manager, source, panel) {
  if (!waiting.has(panel)) return; // told the kernel is gone
  waiting.delete(panel);
  try {
    const model = await manager.get_model(source.model_id);
    const view = await manager.create_view(model);
    panel.node.textContent = "";
    panel.addWidget(view.luminoWidget);
    view.luminoWidget.disposed.connect(() => panel.hide());
  } catch (error) {
    panel.node.textContent = "Error displaying widget";
    panel.addClass("jupyter-widgets");
    console.error(error);
  }
}

function renderOutputs(managerReady) {
  const scripts = document.querySelectorAll('script[type="application/vnd.voila.cell-output+json"]');
  for (const script of scripts) {
    const container = script.parentElement;
    if (!container) continue;
    let output;
    try {
      output = JSON.parse(script.textContent || "null");
    } catch (error) {
      continue;
    }
    container.removeChild(script);
    const data = (output && output.data) || {};
    if (data[WIDGET_VIEW] && data[WIDGET_VIEW].model_id) {
      const panel = new Panel();
      panel.addClass("jp-OutputArea-output");
      panel.node.textContent = "Loading widget...";
      Widget.attach(panel, container);
      waiting.add(panel);
      managerReady.then((manager) => renderWidget(manager, data[WIDGET_VIEW], panel),
        (error) => { panel.node.textContent = `Error displaying widget: ${error.message}`; });
    } else if (data["text/html"] !== undefined) {
      const box = document.createElement("div");
      box.className = "lm-Widget jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output";
      box.setAttribute("data-mime-type", "text/html");
      box.innerHTML = [].concat(data["text/html"]).join("");
      container.appendChild(box);
    } else if (output && output.output_type === "stream") {
      container.appendChild(textOutput([].concat(output.text).join(""),
        `application/vnd.jupyter.${output.name}`));
    } else if (data["text/plain"] !== undefined) {
      container.appendChild(textOutput([].concat(data["text/plain"]).join(""), "text/plain"));
    }
  }
}

// ---- the page -----------------------------------------------------------------------------

function main() {
  const cfg = config();
  const serverSettings = ServerConnection.makeSettings();
  const kernel = new KernelConnection({
    model: { id: cfg.kernelId, name: "" }, serverSettings, handleComms: true,
    // as Voila's own page: its server refuses subshell requests (comms on the main shell)
    commsOverSubshells: "disabled",
  });
  // Asked beside the connection (no wait added): a kernel the server no longer has would
  // leave the websocket retrying for minutes.
  getKernelModel(cfg.kernelId, serverSettings).then((model) => { if (!model) kernelGone(); },
    () => {});
  kernel.connectionStatusChanged.connect((_, status) => {
    if (status === "disconnected") kernelGone();
  });
  const extensions = loadExtensions(cfg);
  const manager = new PageManager(kernel, extensions);
  const ready = manager._loadFromKernel().then(() => manager);
  renderOutputs(ready);
  // Voila's page shows the cells once its theme is loaded; this page's theme is in its head.
  window.themeLoaded = true;
  if (window.cellLoaded) window.voila_finish();
  window.addEventListener("beforeunload", () => {
    const data = new FormData();
    const match = document.cookie.match("\\b_xsrf=([^;]*)\\b");
    data.append("_xsrf", (match && match[1]) || "");
    navigator.sendBeacon(join(serverSettings.baseUrl, "voila/api/shutdown", kernel.id), data);
    kernel.dispose();
  });
  window.clipdropPage = { kernel, manager, ready };
}

main();

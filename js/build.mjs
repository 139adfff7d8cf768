// Builds the Studio's Voila page script (src/studio-page.js) into the package:
// clipdrop_widgets/share/voila/templates/clipdrop/static/studio-page.{js,css}.
//     bash scripts/build-page            (npm ci in js/, then this script)
//     node js/build.mjs [OUT]            (OUT: another folder, e.g. to compare with the package)
// The versions of @jupyter-widgets/base and controls bundled are written into the script (the
// share scope it offers other widget libraries) and into studio-page.json, which the launcher
// reads to decide whether this page fits the installed ipywidgets.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const version = (name) =>
  JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version;
const here = new URL(".", import.meta.url).pathname;
const out = resolve(process.argv[2] || `${here}../clipdrop_widgets/share/voila/templates/clipdrop/static`);
process.chdir(here);
const versions = {
  "@jupyter-widgets/base": version("@jupyter-widgets/base"),
  "@jupyter-widgets/controls": version("@jupyter-widgets/controls"),
  "@jupyter-widgets/base-manager": version("@jupyter-widgets/base-manager"),
  "@jupyterlab/services": version("@jupyterlab/services"),
};

await build({
  absWorkingDir: here,
  entryPoints: ["src/studio-page.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outfile: `${out}/studio-page.js`,
  legalComments: "eof",
  loader: { ".svg": "dataurl", ".woff": "dataurl", ".woff2": "dataurl", ".png": "dataurl" },
  define: {
    BASE_VERSION: JSON.stringify(versions["@jupyter-widgets/base"]),
    CONTROLS_VERSION: JSON.stringify(versions["@jupyter-widgets/controls"]),
    "process.env.NODE_ENV": '"production"',
  },
  logLevel: "info",
});
// The widget specs the bundled packages implement: the `_model_module_version`s of the kernel's
// ipywidgets that this page can show.
const spec = (file, name) =>
  readFileSync(`node_modules/${file}`, "utf8").match(new RegExp(`${name} = '([^']+)'`))[1];
const specs = {
  "@jupyter-widgets/base": spec("@jupyter-widgets/base/lib/version.js", "JUPYTER_WIDGETS_VERSION"),
  "@jupyter-widgets/controls":
    spec("@jupyter-widgets/controls/lib/version.js", "JUPYTER_CONTROLS_VERSION"),
};
writeFileSync(`${out}/studio-page.json`,
  JSON.stringify({ bundled: versions, specs }, null, 2) + "\n");

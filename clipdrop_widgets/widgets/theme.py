"""The widgets' colours, as CSS variables that follow the front end's light or dark theme.

Text colours were written as fixed hex values chosen for a white page: on JupyterLab's or
Voila's dark theme the red of an error or the green of "Done" fell below WCAG AA contrast
(4.5:1 for text). Every colour the widgets write now names a variable, with the light value
as its fallback (a widget shown alone, without this stylesheet, looks as before):

``color: var(--cdw-error, #b00020)``

`THEME_CSS` defines the variables for the light theme and overrides them where the page says
it is dark: JupyterLab, Notebook 7 and Voila (``--theme=dark``) all mark the body with
``data-jp-theme-light="false"``. Neutral text follows JupyterLab's own ``--jp-ui-font-color1``.
Every pair was checked by axe-core's colour-contrast rule in both themes
(``tests/browser/test_browser_a11y.py``).
"""

from __future__ import annotations

__all__ = ["THEME_CSS", "LIGHT", "DARK", "color"]

#: The light theme's colours (each at least 4.5:1 on white and on JupyterLab's light greys).
LIGHT: dict[str, str] = {"muted": "#595959", "error": "#b00020", "done": "#1b7a2f",
                         "busy": "#7a5f00", "focus": "#1a56b0"}
#: The dark theme's colours (each at least 4.5:1 on JupyterLab's dark greys, #111 to #424242).
DARK: dict[str, str] = {"muted": "#c4c4c4", "error": "#ff9e99", "done": "#7ee29a",
                        "busy": "#f2c94c", "focus": "#8ab4f8"}


def color(name: str) -> str:
    """The CSS value for the colour ``name`` (a key of `LIGHT`): its variable, with the light
    colour as fallback."""
    return f"var(--cdw-{name}, {LIGHT[name]})"


def _block(values: dict[str, str]) -> str:
    return " ".join(f"--cdw-{name}: {value};" for name, value in values.items())


_DARK_SCOPES = ('body[data-jp-theme-light="false"] .cdw-app, '
                'body[data-jp-theme-light="false"] .cdw-theme')

#: The stylesheet (a ``<style>`` element) every app puts on the page once.
THEME_CSS = f"""<style>
.cdw-app, .cdw-theme {{ {_block(LIGHT)} }}
{_DARK_SCOPES} {{ {_block(DARK)} }}
/* the keyboard focus ring: 2 px, at least 3:1 on the page and the buttons (22c F10; the
   widgets' own was 1 px light blue, about 2:1, and none on menus and sliders) */
.cdw-app button:focus-visible, .cdw-app select:focus-visible, .cdw-app input:focus-visible,
.cdw-app textarea:focus-visible, .cdw-app [role="slider"]:focus-visible {{
  outline: 2px solid var(--cdw-focus, {LIGHT["focus"]}) !important; outline-offset: 1px; }}
/* a prompt's placeholder kept the browser's #757575: 3.49:1 on the dark page (22c F3) */
body[data-jp-theme-light="false"] .cdw-app textarea::placeholder {{
  color: rgba(255, 255, 255, 0.54); opacity: 1; }}
.cdw-app .lm-TabBar-tab, .cdw-app .lm-TabBar-tabLabel, .cdw-app .jupyter-widget-Collapse-header {{
  color: var(--jp-ui-font-color1, #1f1f1f) !important; }}
</style>"""

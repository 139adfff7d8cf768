"""Sentences of the docs that can drift from the code are checked against it (issue 21).

A new user found ten untrue sentences: the wait for strokes said 5 s (130 s in keyboard.js),
the research page said the package writes only what you ask for (every app keeps a session
folder), two bullets of the teaching page rendered as literal ``* ...``, the operation pages'
tables had an empty header row, and "every Python block runs" while some are marked
``notest``. Each is checked here: numbers and folder names against the code, the rendering
with the site's own Markdown extensions.
"""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
import yaml

from clipdrop_widgets.widgets import keyboard

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


def site_extensions() -> list[str]:
    """The Markdown extensions mkdocs.yml gives the site (names only, options dropped)."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    names = []
    for entry in config["markdown_extensions"]:
        names.append(next(iter(entry)) if isinstance(entry, dict) else entry)
    return names


def rendered(page: Path) -> str:
    return markdown.markdown(page.read_text(), extensions=site_extensions())


def test_the_wait_for_strokes_is_the_one_keyboard_js_has() -> None:
    text = (DOCS / "troubleshooting.md").read_text()
    said = re.findall(r"the press of Run waits up to (\d+) s", text)
    source = Path(keyboard.__file__).with_name("keyboard.js").read_text()
    wait_ms = int(re.search(r"export const RUN_WAIT_MS = (\d+);", source).group(1))
    assert said == [str(wait_ms // 1000)]


def test_the_research_page_names_every_file_an_app_writes(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from clipdrop_widgets import Client
    from clipdrop_widgets.apps import TextToImageApp

    monkeypatch.setenv("CLIPDROP_WIDGETS_DATA_DIR", str(tmp_path / "data"))
    Client().text_to_image("a client alone")
    assert not (tmp_path / "data").exists()  # "a client used on its own writes nothing"
    app = TextToImageApp(Client())
    app.prompt.value = "a lighthouse at dusk"
    app.run()
    assert app.wait(60) and app.result is not None
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["sessions"]
    (session,) = (tmp_path / "data" / "sessions").iterdir()
    written = sorted(p.name + ("/" if p.is_dir() else "") for p in session.iterdir())
    assert written == [".session.lock", "images/", "inputs/", "session.json", "session.jsonl",
                       "thumbnails/"]
    text = (DOCS / "research.md").read_text()
    bullet = text[text.index("* **On your disk**"):text.index("## Reproducibility")]
    named = sorted(set(re.findall(
        r"`((?:\.?session\.(?:jsonl?|lock))|(?:images|inputs|thumbnails)/)`", bullet)))
    assert named == written
    assert "`sessions/`" in bullet and "`launcher/`" in bullet


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bullet_is_shown_as_text(page: Path) -> None:
    html = re.sub(r"<pre.*?</pre>", "", rendered(page), flags=re.S)
    literal = [line for line in html.splitlines() if re.match(r"(<p>)?\* ", line)]
    assert not literal, literal


@pytest.mark.parametrize("page", sorted((DOCS / "operations").glob("*.md")),
                         ids=lambda p: p.name)
def test_operation_tables_have_a_header(page: Path) -> None:
    html = rendered(page)
    assert "<table>" in html
    assert not re.search(r"<th>\s*</th>", html)


def test_every_python_block_left_out_of_the_tests_says_why() -> None:
    """The docs say every block runs except those marked ``notest``, with the reason above."""
    unexplained, found = [], 0
    for page in PAGES:
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s*```\{?\.?python notest\}?", line):
                found += 1
                before = " ".join(lines[max(0, i - 3):i]).lower()
                if "not run by the tests" not in before:
                    unexplained.append(f"{page.name}:{i + 1}")
    assert found and not unexplained, unexplained


def test_what_the_package_installs_has_bounded_ranges() -> None:
    """The version policy: the package and its ``studio`` and ``examples`` extras are given
    as bounded ranges (9 had no upper bound)."""
    import tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    unbounded = []
    for spec in [*project["dependencies"], *extras["studio"], *extras["examples"]]:
        req = Requirement(spec)
        ops = {s.operator for s in req.specifier}
        if not ({">=", ">"} & ops and {"<", "<="} & ops):
            unbounded.append(spec)
    assert not unbounded, unbounded
    assert "bounded ranges" in (DOCS / "version-policy.md").read_text()


def test_the_reference_documents_every_name_the_policy_covers_and_says_what_else() -> None:
    """``__all__`` is covered and each of its names has an entry; the entries outside it are
    at module paths, which the policy says are not covered."""
    import clipdrop_widgets

    paths = re.findall(r"^::: (\S+)", "\n".join(
        p.read_text() for p in sorted((DOCS / "reference").glob("*.md"))), flags=re.M)
    top = {p.split(".", 1)[1] for p in paths if p.count(".") == 1}
    outside = [p for p in paths if p.count(".") > 1 or p.split(".", 1)[-1] not in
               clipdrop_widgets.__all__]
    assert set(clipdrop_widgets.__all__) - {"__version__"} <= top | {
        p.rsplit(".", 1)[1] for p in paths}
    policy = (DOCS / "version-policy.md").read_text()
    assert "everything the" not in policy  # the old, untrue "(everything the reference ...)"
    assert outside and all(p.startswith("clipdrop_widgets.") for p in outside)

"""The report opens offline in Chromium: no request leaves the file, the filters and the
before/after divider work in plain JavaScript, and axe-core finds no serious or critical
violation. The session is made for real over loopback: a picture, then an edit of it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from clipdrop_widgets import Client, Session, export_html

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    client = Client()
    session = Session(folder / "session")
    fox = client.text_to_image("a fox in the snow")
    session.add(fox)
    mask = np.zeros((fox.height, fox.width), dtype=bool)
    mask[40:200, 40:200] = True
    edit = client.cleanup(fox.data, mask)
    session.add(edit)
    session.add(client.text_to_image("an owl at night"))
    return Path(export_html(session, folder / "report.html"))


@pytest.fixture
def page(browser, report):
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    page.wait_for_selector("#grid .card")
    page.requests, page.errors = requests, errors
    yield page
    context.close()


def test_the_report_works_offline_and_asks_for_nothing(page, report):
    cards = page.locator("#grid .card")
    assert cards.count() == 3
    page.select_option("#op", "cleanup")
    assert cards.count() == 1
    page.select_option("#op", "")
    page.fill("#words", "owl NIGHT")
    assert cards.count() == 1 and "an owl at night" in cards.first.inner_text()
    page.fill("#words", "")
    cards.nth(1).click()  # the edit
    detail = page.locator("#detail")
    assert "Made from" in detail.inner_text() and "a fox in the snow" in detail.inner_text()
    box = page.locator(".compare").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    assert abs(float(page.locator(".compare").get_attribute("data-divider")) - 20) < 2
    clip = page.locator(".compare .after").evaluate("e => e.style.clipPath")
    assert clip.startswith("inset(0px 0px 0px 2") or clip.startswith("inset(0 0 0 2")
    page.focus("#divider")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert float(page.locator(".compare").get_attribute("data-divider")) > 21
    detail.get_by_role("button", name="Text to image #0: a fox in the snow").click()
    assert page.locator("#detail h2").inner_text().startswith("Text to image #0")
    assert "Sent on to" in detail.inner_text()  # and back to the edit made from it
    detail.get_by_role("button", name="Cleanup #1").click()
    assert page.locator("#detail h2").inner_text() == "Cleanup #1"
    assert page.requests == [report.as_uri()], page.requests  # only the file itself
    assert not page.errors


def test_axe_finds_no_serious_or_critical_violation(page):
    if not AXE.is_file():
        message = "axe-core is missing: bash scripts/install-axe"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    page.locator("#grid .card").nth(1).click()  # with the detail and the divider shown
    page.add_script_tag(content=AXE.read_text())  # inline: the page allows no script file
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, bad


def test_the_divider_follows_a_mouse_drag_and_stops_on_release(page):
    """Dragging the divider (over the images) from the middle to a quarter puts it at 25 %,
    and moving the mouse after the release leaves it there: no native image drag cancels
    the pointer."""
    page.locator("#grid .card").nth(1).click()  # the edit
    box = page.locator(".compare").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.5 - 0.025 * step), y)
    page.mouse.up()
    divider = page.locator(".compare")
    assert abs(float(divider.get_attribute("data-divider")) - 25) < 1.5
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=5)  # the button is up
    assert abs(float(divider.get_attribute("data-divider")) - 25) < 1.5
    assert not page.errors


MARKUP_PROMPTS = ["a hen <!-- x", "<!DOCTYPE html> a fox", "<![CDATA[ an owl ]]>",
                  "a cat </script><script>window.__xss=1</script>", "a & b > c"]


def test_prompts_with_markup_show_every_card_as_text(browser, tmp_path):
    """One prompt holding ``<!--`` (or ``<!DOCTYPE``, ``<![CDATA[``, ``</script``) used to
    leave the report blank: every card shows, each prompt as the text it was."""
    session = Session(tmp_path / "session")
    client = Client()
    for prompt in MARKUP_PROMPTS:
        session.add(client.text_to_image(prompt))
    report = Path(export_html(session, tmp_path / "report.html"))
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.as_uri())
        page.wait_for_selector("#grid .card", timeout=10_000)
        text = page.locator("#grid").inner_text()
        assert page.locator("#grid .card").count() == len(MARKUP_PROMPTS)
        for prompt in MARKUP_PROMPTS:
            assert prompt in text
        assert page.evaluate("window.__xss") is None and not errors
    finally:
        context.close()


def test_a_photo_turned_by_exif_lines_up_with_its_edit(browser, tmp_path):
    """A phone photo stored 256x192 with EXIF orientation 6 (shown 192x256), edited (the client
    sends it upright): before and after are drawn the same shape."""
    import io

    from PIL import Image

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 255, (192, 256, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    session = Session(tmp_path / "session")
    mask = np.zeros((256, 192), dtype=bool)  # painted on the photo as it is shown (upright)
    mask[20:80, 20:80] = True
    session.add(Client().cleanup(buf.getvalue(), mask))
    report = Path(export_html(session, tmp_path / "report.html"))
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 1000})
    try:
        page = context.new_page()
        page.goto(report.as_uri())
        page.locator("#grid .card").first.click()
        before = page.locator(".compare > img").bounding_box()  # the box both are drawn in
        after = page.locator(".compare .after img").evaluate(
            "e => e.naturalWidth / e.naturalHeight")  # stretched into it unless they agree
        assert abs(before["width"] / before["height"] - after) < 0.02, (before, after)
    finally:
        context.close()

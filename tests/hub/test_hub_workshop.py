"""A workshop on a real JupyterHub: nobody types a key, every user spends their own seat.

One hub for the module (``conftest.hub``): alice and bob, in the hub group ``workshop``, log in
through the hub's login page in Chromium, open a notebook and run ``Studio()``: the key box
says "JupyterHub seat: NAME, 10 credits left" without a key typed, Run makes a picture through
the gateway (on the local engine), and each spend lands on its own seat in the gateway's
ledger. carol, outside the group, is refused with a message naming it; the teacher (a hub
admin) opens the gateway's admin page through the hub's login and sees both users with their
spend, bob (not an admin) is refused it; a token of a server that was stopped is refused.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from hubsetup import CREDITS, GROUP, STUDIO_NOTEBOOK, Hub
from labpage import JS_INSTALL, JS_KERNEL_IDLE, JS_RUN_ALL, kernel_run, wait_until

from clipdrop_widgets import Client, ClipdropError, Ledger
from clipdrop_widgets.contract.endpoints import ENDPOINTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT = 120.0
COST = float(ENDPOINTS["text_to_image"].credits)


def seat_call(hub: Hub, token: str) -> tuple[int, dict]:
    """``GET /gateway/v1/seat`` on the gateway with ``token`` as the key."""
    request = urllib.request.Request(hub.gateway + "/gateway/v1/seat",
                                     headers={"x-api-key": token})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def log_in(browser, hub: Hub, name: str):
    """A fresh browser context logged in as ``name`` through the hub's login page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(hub.url + "/hub/login", timeout=60_000)
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", "any password: the dummy authenticator")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60_000)
    return context, page


def open_studio(page, hub: Hub, name: str) -> str:
    """Start ``name``'s server, open the Studio notebook, run it; returns the key box line."""
    home = hub.root / "home" / name
    home.mkdir(parents=True, exist_ok=True)
    (home / "studio.ipynb").write_text(json.dumps(STUDIO_NOTEBOOK))
    page.goto(f"{hub.url}/hub/spawn/{name}", timeout=WAIT * 1000)
    page.wait_for_url(f"**/user/{name}/**", timeout=WAIT * 1000)
    page.goto(f"{hub.url}/user/{name}/lab/tree/studio.ipynb", timeout=WAIT * 1000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                           timeout=WAIT * 1000)
    page.evaluate(JS_INSTALL)
    page.wait_for_function(JS_KERNEL_IDLE, arg="studio.ipynb", timeout=WAIT * 1000)
    page.evaluate(JS_RUN_ALL, "studio.ipynb")
    studio = page.locator(".cdw-test-studio").first
    studio.wait_for(timeout=WAIT * 1000)
    return wait_until(lambda: "JupyterHub seat" in studio.inner_text() and studio.inner_text(),
                      timeout=WAIT, what="the seat line in the key box")


def run_prompt(page, prompt: str) -> str:
    studio = page.locator(".cdw-test-studio").first
    app = studio.locator(".widget-tab-contents > *").first
    app.locator("textarea").first.fill(prompt)
    app.locator("button.cdw-test-run").first.click()
    return wait_until(lambda: "Done in" in app.inner_text() and studio.inner_text(),
                      timeout=WAIT, what=f"a picture for {prompt!r}")


def wait_for_text(page, text: str) -> str:
    """The Studio's text once it contains ``text``."""
    studio = page.locator(".cdw-test-studio").first
    return wait_until(lambda: text in studio.inner_text() and studio.inner_text(),
                      timeout=WAIT, what=repr(text))


def hub_token(page) -> str:
    """The user's server token, read in their kernel (not a cell: no output keeps it)."""
    out = kernel_run(page, "studio.ipynb", "import os; print(os.environ['JUPYTERHUB_API_TOKEN'])")
    return out.strip()


def test_two_users_get_pictures_on_their_own_seats(hub: Hub, chromium) -> None:
    tokens = {}
    for name, prompt in (("alice", "a lighthouse at dusk"), ("bob", "a fox in the snow")):
        context, page = log_in(chromium, hub, name)
        try:
            line = open_studio(page, hub, name)
            assert f"JupyterHub seat: {name}, {CREDITS} credits left" in line
            assert page.locator(".cdw-test-studio input[type=password]").first.input_value() == ""
            text = run_prompt(page, prompt)
            after = wait_for_text(page, f"{CREDITS - COST:g} credits left")
            assert f"JupyterHub seat: {name}, {CREDITS - COST:g} credits left" in after, text
            token = tokens[name] = hub_token(page)
            # The token is a secret like a key: not in the page, the client's repr, any
            # widget's state, or the notebook saved from the page.
            assert token not in page.content()
            checks = kernel_run(page, "studio.ipynb", (
                "import json, os\nfrom ipywidgets import Widget\n"
                "_t = os.environ['JUPYTERHUB_API_TOKEN']\n"
                "_s = json.dumps(Widget.get_manager_state(drop_defaults=False), default=str)\n"
                "print(json.dumps({'state': _t in _s, 'repr': _t in repr(studio.client),"
                " 'source': studio.source_text, 'user': studio.client.hub_user}))"))
            found = json.loads(checks.strip().splitlines()[-1])
            assert found == {"state": False, "repr": False, "user": name,
                             "source": f"ClipDrop service at {hub.gateway} · key verified"}
        finally:
            context.close()
    with Ledger(hub.db) as ledger:
        seats = {seat.label: seat for seat in ledger.seats()}
    assert set(seats) == {"alice", "bob"}
    gateway_lines = [line for line in hub.log.read_text().splitlines()
                     if "clipdrop_widgets" in line]
    assert any("alice" in line for line in gateway_lines)
    assert not [line for line in gateway_lines for token in tokens.values() if token in line]
    for name in ("alice", "bob"):
        assert seats[name].spent == COST and seats[name].requests == 1
        assert seats[name].remaining == CREDITS - COST

    # A token of a server that was stopped is refused: the hub revoked it.
    assert seat_call(hub, tokens["alice"])[0] == 200
    hub.call("DELETE", "/users/alice/server")
    wait_until(lambda: not hub.call("GET", "/users/alice")["servers"],  # type: ignore[index]
               timeout=WAIT, what="alice's server stopped")
    status, answer = seat_call(hub, tokens["alice"])
    assert status == 403 and "server may have stopped" in answer["error"]


def test_a_user_outside_the_group_is_refused_with_its_name(hub: Hub) -> None:
    hub.call("POST", "/users/carol")
    made = hub.call("POST", "/users/carol/tokens", {"note": "carol's own", "expires_in": 600})
    token = made["token"]  # type: ignore[index]
    status, answer = seat_call(hub, token)
    assert status == 403
    assert f"not in the hub group '{GROUP}'" in answer["error"] and "carol" in answer["error"]
    client = Client(api_key=token, base_url=hub.gateway, max_retries=0)
    with client, pytest.raises(ClipdropError, match=f"hub group '{GROUP}'") as caught:
        client.text_to_image("a red kite")
    assert token not in str(caught.value) and token not in repr(client)
    with Ledger(hub.db) as ledger:
        assert "carol" not in {seat.label for seat in ledger.seats()}


def test_an_identify_only_token_is_not_a_seat_key(hub: Hub) -> None:
    # What the hub gives another service or a shared server alice logs into.
    made = hub.call("POST", "/users/alice/tokens",
                    {"scopes": ["read:users:name!user=alice"], "expires_in": 600})
    status, answer = seat_call(hub, made["token"])  # type: ignore[index]
    assert status == 403 and "access:services!service=clipdrop-gateway" in answer["error"]


def test_the_admin_page_is_for_hub_admins(hub: Hub, chromium) -> None:
    page_url = hub.url + "/services/clipdrop-gateway/gateway/admin"
    # Both users spend on their seats (also when this test runs alone).
    for name in ("alice", "bob"):
        made = hub.call("POST", f"/users/{name}/tokens", {"expires_in": 600})
        with Client(api_key=made["token"], base_url=hub.gateway,  # type: ignore[index]
                    max_retries=0) as client:
            client.text_to_image(f"the admin page's picture for {name}")  # not a cache hit
    with Ledger(hub.db) as ledger:
        spent = {seat.label: seat.spent for seat in ledger.seats()}
    assert spent["alice"] >= COST and spent["bob"] >= COST
    context, page = log_in(chromium, hub, "teacher")
    try:
        # No admin token: the hub's login (OAuth) lets the hub admin in.
        page.goto(page_url, timeout=WAIT * 1000)
        page.wait_for_url(page_url, timeout=WAIT * 1000)
        rows = page.locator("#seats tbody tr")
        wait_until(lambda: rows.count() >= 2, timeout=WAIT, what="the seats on the admin page")
        shown = {cells[0]: cells for cells in (row.locator("td").all_inner_texts()
                                               for row in rows.all())}
        for name in ("alice", "bob"):
            assert shown[name][1] == "JupyterHub user", shown
            assert float(shown[name][3]) == spent[name], shown  # the "spent" column
    finally:
        context.close()
    # Not an admin: bob may use the service (his seat), so the hub logs him in; the gateway
    # refuses him the page and its data.
    context, page = log_in(chromium, hub, "bob")
    try:
        answer = page.goto(page_url, timeout=WAIT * 1000)
        assert answer is not None and answer.status == 403
        text = page.locator("body").inner_text()
        assert "bob is not an admin of this JupyterHub" in text, text
        assert "alice" not in text
        stats = page.request.get(page_url + "/stats.json")
        assert stats.status == 403 and "alice" not in stats.text()
    finally:
        context.close()

"""The client on the wire, against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from fault_server import UNPACED, Action, FaultServer, jpeg_bytes, png_bytes
from PIL import Image

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import (
    AnswerLostError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    BudgetExceededError,
    Client,
    ClipdropError,
    InputError,
    InvalidAPIKeyError,
    InvalidResponseError,
    MissingAPIKeyError,
    NotAcceptableError,
    OutOfCreditsError,
    RateLimitError,
    ServerError,
)


@pytest.fixture
def sleeps(monkeypatch):
    """Record the client's retry sleeps instead of sleeping."""
    calls: list[float] = []
    monkeypatch.setattr(client_module, "_sleep", calls.append)
    return calls


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


def make_client(server, **kw):
    kw.setdefault("timeout", 5)
    kw.setdefault("requests_per_minute", UNPACED)  # a retry waited 1 s for the pace as well
    return Client("test-key", base_url=server.url, **kw)


def photo(size=(64, 48)):
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[..., 0] = np.linspace(0, 255, size[0], dtype=np.uint8)
    return Image.fromarray(a, "RGB")


# -- what goes on the wire ---------------------------------------------------------------------
def test_text_to_image_sends_the_documented_request(server):
    result = make_client(server).text_to_image("photograph of a cat surfing", format="webp")
    (seen,) = server.seen
    assert seen.path == "/text-to-image/v1"
    assert seen.headers["x-api-key"] == "test-key"
    assert seen.headers["Accept"] == "image/webp"
    assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert seen.texts == {"prompt": "photograph of a cat surfing"}
    assert seen.files == {}
    assert result.width == 8 and result.content_type == "image/png"


def test_format_none_leaves_accept_to_the_server(server):
    make_client(server).text_to_image("a cat")
    assert server.seen[0].headers.get("Accept") == "*/*"


def test_cleanup_sends_both_files_and_mode(server):
    mask = np.zeros((48, 64), bool)
    mask[10:20, 10:30] = True
    make_client(server).cleanup(photo(), mask, mode="quality")
    (seen,) = server.seen
    assert seen.path == "/cleanup/v1"
    assert seen.texts == {"mode": "quality"}
    assert set(seen.files) == {"image_file", "mask_file"}
    name, ctype, data = seen.files["mask_file"]
    assert (name, ctype) == ("mask.png", "image/png")
    m = np.asarray(Image.open(io.BytesIO(data)))
    assert m.shape == (48, 64) and set(np.unique(m)) == {0, 255}
    assert (m == 255).sum() == 200


def test_a_valid_file_is_sent_byte_for_byte(server, tmp_path):
    original = jpeg_bytes((300, 200))
    path = tmp_path / "photo.jpg"
    path.write_bytes(original)
    make_client(server).replace_background(path, "a beach")
    name, ctype, data = server.seen[0].files["image_file"]
    assert data == original and ctype == "image/jpeg" and name == "image.jpg"
    assert server.seen[0].texts == {"prompt": "a beach"}


def test_replace_background_sends_an_empty_prompt(server):
    make_client(server).replace_background(png_bytes((32, 32)))
    assert server.seen[0].texts == {"prompt": ""}


def test_all_five_paths(server):
    c = make_client(server)
    sketch = Image.new("L", (64, 64), 0)
    mask = np.zeros((48, 64), bool)
    mask[:5] = True
    c.text_to_image("x")
    c.sketch_to_image(sketch, "an owl")
    c.cleanup(photo(), mask)
    c.text_inpainting(photo(), mask, "a red scarf")
    c.replace_background(photo(), "a kitchen")
    assert [s.path for s in server.seen] == [
        "/text-to-image/v1", "/sketch-to-image/v1/sketch-to-image", "/cleanup/v1",
        "/text-inpainting/v1", "/replace-background/v1"]
    assert server.seen[3].texts == {"text_prompt": "a red scarf"}
    assert set(server.seen[1].files) == {"sketch_file"}


# -- errors: one class per status ----------------------------------------------------------------
@pytest.mark.parametrize("status,cls", [
    (400, BadRequestError), (401, MissingAPIKeyError), (402, OutOfCreditsError),
    (403, InvalidAPIKeyError), (406, NotAcceptableError), (429, RateLimitError),
    (500, ServerError), (503, ServerError), (418, APIStatusError)])
def test_each_status_has_its_class(server, sleeps, status, cls):
    server.default = Action.error(status, "Invalid or revocated api key")
    with pytest.raises(cls) as info:
        make_client(server, max_retries=0).text_to_image("a cat")
    err = info.value
    assert type(err) is cls and isinstance(err, ClipdropError)
    assert err.status_code == status
    assert err.message == "Invalid or revocated api key"
    assert err.response.status_code == status
    assert len(server.seen) == 1


def test_non_json_error_body_becomes_the_message(server):
    server.default = Action("respond", 400, {"Content-Type": "text/html"}, b"<h1>Bad</h1>")
    with pytest.raises(BadRequestError) as info:
        make_client(server).text_to_image("a cat")
    assert info.value.message == "<h1>Bad</h1>"


def test_other_4xx_are_never_retried(server, sleeps):
    server.default = Action.error(400, "Missing image_file in request")
    with pytest.raises(BadRequestError):
        make_client(server, max_retries=5).text_to_image("a cat")
    assert len(server.seen) == 1 and sleeps == []


# -- retries ------------------------------------------------------------------------------------
def test_retry_after_is_honoured(server, sleeps):
    # 1 s, not 3: the pace waits the Retry-After out too, in real time (the sleep is recorded)
    server.script(Action.error(429, "Too many requests", Retry_After="1"))
    result = make_client(server).text_to_image("a cat")
    assert result.width == 8
    assert sleeps == [1.0] and len(server.seen) == 2


def test_a_retry_after_past_the_longest_wait_is_raised_at_once(server, sleeps):
    """Waiting less than the server asked would only draw the same answer again."""
    server.script(Action.error(503, "busy", Retry_After="100000"))
    with pytest.raises(ServerError, match="wait 100000 s") as info:
        make_client(server).text_to_image("a cat")
    assert info.value.status_code == 503
    assert sleeps == [] and len(server.seen) == 1


def test_5xx_backs_off_exponentially_then_gives_up(server, sleeps):
    server.default = Action.error(500, "This may be a bug on our side")
    with pytest.raises(ServerError):
        make_client(server, max_retries=3).text_to_image("a cat")
    assert len(server.seen) == 4
    assert len(sleeps) == 3
    for i, s in enumerate(sleeps):  # 0.5 * 2**i, minus up to 25 % jitter
        assert 0.5 * 2**i * 0.75 <= s <= 0.5 * 2**i


def test_5xx_then_success(server, sleeps):
    server.script(Action.error(502, "bad gateway"), Action.error(500, "oops"))
    assert make_client(server).text_to_image("a cat").width == 8
    assert len(server.seen) == 3 and len(sleeps) == 2


@pytest.mark.parametrize(("status", "consumed"), [(500, "1"), (502, "2"), (503, "much")])
def test_a_5xx_that_reports_a_charge_is_counted_once_and_never_retried(server, sleeps, status,
                                                                      consumed):
    """Each try of a failure the server charged would be charged again (att23 #0): a 5xx with
    a nonzero ``x-credits-consumed`` is raised at once, counted, and says so."""
    server.default = Action.error(status, "This may be a bug on our side",
                                  X_Credits_Consumed=consumed, X_Remaining_Credits="40")
    client = make_client(server, max_retries=3)
    with pytest.raises(ServerError) as info:
        client.text_to_image("a cat")
    assert len(server.seen) == 1 and sleeps == []
    counted = {"1": 1, "2": 2, "much": 2}[consumed]  # unreadable: the call's most (2)
    assert client.credits_spent == counted and client.remaining_credits == 40
    assert f"x-credits-consumed: {consumed}), counted as {counted} credit" in str(info.value)
    assert "not sent again" in info.value.message


def test_a_5xx_reporting_no_charge_is_still_retried(server, sleeps):
    server.script(Action.error(500, "oops", X_Credits_Consumed="0"))
    client = make_client(server)
    assert client.text_to_image("a cat").width == 8
    assert len(server.seen) == 2 and client.credits_spent == 1  # the success's reported 1


# -- broken servers give a clear error, never a hang --------------------------------------------
def test_refused_connection_is_retried_then_a_connection_error(sleeps):
    with FaultServer() as gone:
        url = gone.url  # a port that was just closed: nothing listens there
    with pytest.raises(APIConnectionError) as info:
        Client("k", base_url=url, max_retries=2, timeout=5,
               requests_per_minute=UNPACED).text_to_image("a cat")
    assert not isinstance(info.value, (APITimeoutError, AnswerLostError))
    assert info.value.sent is False and "the connection was refused" in str(info.value)
    assert len(sleeps) == 2  # nothing reached a server: safe to try again


def test_closed_connection_after_the_request_is_lost_not_resent(server, sleeps):
    server.default = Action("close")
    with pytest.raises(AnswerLostError) as info:
        make_client(server, max_retries=2).text_to_image("a cat")
    assert len(server.seen) == 1 and sleeps == []  # it may have been charged: sent once
    assert info.value.sent is True
    assert server.url.removeprefix("http://") in str(info.value)
    assert "may have made and charged it" in str(info.value)


def test_truncated_body_is_lost_with_the_credits_it_reported(server, sleeps):
    server.default = Action.image(png_bytes((64, 64)), x_credits_consumed="1",
                                  x_remaining_credits="41")
    server.default.kind = "truncate"
    client = make_client(server, max_retries=2)
    with pytest.raises(AnswerLostError) as info:
        client.text_to_image("a cat")
    assert len(server.seen) == 1
    assert info.value.credits_consumed == 1 and info.value.remaining_credits == 41
    assert "1 credit consumed, 41 left" in str(info.value)
    assert client.credits_spent == 1 and client.remaining_credits == 41


def test_stalled_server_times_out_once(server, sleeps):
    server.default = Action("stall", seconds=3)
    start = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        make_client(server, timeout=0.3, max_retries=2).text_to_image("a cat")
    assert time.monotonic() - start < 2.5  # one attempt of 0.3 s, not the stall
    assert "timeout" in str(info.value) and info.value.sent is True
    assert len(server.seen) == 1  # a sent request that timed out is not sent again


def test_per_call_timeout_overrides(server, sleeps):
    server.default = Action("stall", seconds=3)
    with pytest.raises(APITimeoutError):
        make_client(server, timeout=30, max_retries=0).text_to_image("a cat", timeout=0.2)


@pytest.mark.parametrize("action", [
    Action.image(b"\x89PNG\r\n garbage that is not an image"),
    Action.image(b"", content_type="image/png"),
    Action("respond", 200, {"Content-Type": "application/json"}, b'{"ok": true}'),
])  # (a good JPEG labelled PNG is kept as JPEG with a notice: test_answer_checks.py)
def test_a_200_that_is_not_the_image_it_claims(server, action):
    server.default = action
    with pytest.raises(InvalidResponseError) as info:
        make_client(server).text_to_image("a cat")
    assert "text_to_image" in str(info.value)
    assert "Traceback" not in str(info.value)


# -- credits ------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers,consumed,remaining", [
    ({"x-remaining-credits": "97", "x-credits-consumed": "2"}, 2, 97),
    ({"x-remaining-credits": "96.5", "x-credits-consumed": "0.5"}, 0.5, 96.5),
    ({"x-remaining-credits": "12"}, None, 12),
    ({}, None, None),
    # no number: the call's most (2) is counted, the balance not shown, each with a notice
    ({"x-remaining-credits": "lots", "x-credits-consumed": "nan"}, 2, None),
])
def test_credit_headers(server, headers, consumed, remaining):
    action = Action.image()
    action.headers = {"Content-Type": "image/png", **headers}
    server.default = action
    c = make_client(server)
    r = c.text_to_image("a cat")
    assert r.credits_consumed == consumed and r.remaining_credits == remaining
    assert c.remaining_credits == remaining


# -- budget and cache ---------------------------------------------------------------------------
def test_budget_refuses_before_sending(server):
    c = make_client(server, budget=3)
    c.text_to_image("a cat")  # the server says it consumed 1
    c.text_to_image("a dog")  # 1 spent + 2 documented = 3: still within
    with pytest.raises(BudgetExceededError) as info:
        c.text_to_image("a bird")  # 2 spent + 2 > 3
    assert len(server.seen) == 2
    assert info.value.budget == 3 and info.value.spent == 2
    assert "nothing was sent" in str(info.value)


def test_cache_hit_sends_nothing_and_costs_nothing(server, tmp_path):
    c = make_client(server, cache=tmp_path, budget=3)
    first = c.text_to_image("a cat")
    second = c.text_to_image("a cat")
    assert len(server.seen) == 1
    assert not first.from_cache and second.from_cache
    assert second.data == first.data and second.credits_consumed == 0
    c.text_to_image("a cat", format="jpeg")  # another Accept is another answer
    assert len(server.seen) == 2
    other = Client("k", base_url=server.url + "/", cache=tmp_path)
    assert other.text_to_image("a cat").from_cache  # same server, same request


def test_cache_is_per_server(server, tmp_path):
    make_client(server, cache=tmp_path).text_to_image("a cat")
    with FaultServer() as other:
        Client("k", base_url=other.url, cache=tmp_path).text_to_image("a cat")
        assert len(other.seen) == 1


def test_damaged_cache_entry_is_a_miss(server, tmp_path):
    c = make_client(server, cache=tmp_path)
    c.text_to_image("a cat")
    for p in tmp_path.rglob("*.bin"):
        p.write_bytes(b"corrupt")
    assert not c.text_to_image("a cat").from_cache
    assert len(server.seen) == 2


@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le"])
def test_a_picture_carrying_the_key_is_not_kept_and_is_counted(server, codec):
    """A server that writes the key into the picture's metadata (att23 #4): kept, the key
    would be saved with the picture, its record and every copy."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add(b"tEXt", b"Comment\x00" + "test-key-0123456789abcdef".encode(codec))
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    server.default = Action("respond", 200, {"Content-Type": "image/png",
                                             "x-credits-consumed": "1"}, buf.getvalue())
    client = Client("test-key-0123456789abcdef", base_url=server.url, timeout=5,
                    requests_per_minute=UNPACED)
    with pytest.raises(InvalidResponseError, match="carry your API key") as info_:
        client.text_to_image("a cat")
    assert "test-key-0123456789abcdef" not in str(info_.value)
    assert "test-key-0123456789abcdef".encode(codec) not in info_.value.response.content
    assert client.credits_spent == 1 and len(server.seen) == 1


@pytest.mark.parametrize("prompt", ["my key is test-key-0123456789abcdef please",
                                    "TEST-KEY-0123456789ABCDEF", "test-key-0123456789abcdef\n"])
def test_a_prompt_holding_the_key_is_refused_before_sending(server, prompt):
    """att23 #7: a key pasted into the prompt went to the service and into the picture's
    record and the session log. Refused before anything is sent or spent, the key not in
    the message; a prompt without it goes as usual."""
    client = Client("test-key-0123456789abcdef", base_url=server.url, timeout=5,
                    requests_per_minute=UNPACED)
    with pytest.raises(InputError, match="prompt holds this client's API key") as info:
        client.text_to_image(prompt)
    assert "0123456789abcdef" not in str(info.value).lower()
    assert info.value.field == "prompt"
    assert server.seen == [] and client.credits_spent == 0
    client.text_to_image("a cat with a key")
    assert len(server.seen) == 1


@pytest.mark.parametrize(("status", "left"), [(402, "0"), (402, None), (401, None)])
def test_a_refused_key_or_credit_leaves_no_stale_balance(server, status, left):
    """walk 22c #4: "Not enough credits" (402) or a rejected key (401) stood beside the
    "100 left" of the answer before."""
    client = make_client(server)
    client.text_to_image("a cat")
    assert client.remaining_credits is not None  # the fake's balance
    headers = {"X_Remaining_Credits": left} if left is not None else {}
    server.default = Action.error(status, "nope", **headers)
    with pytest.raises(APIStatusError):
        client.text_to_image("a dog")
    if left is None:
        assert client.remaining_credits is None
        assert f"refused the call ({status})" in client.balance_doubt
    else:
        assert client.remaining_credits == 0 and client.balance_doubt is None

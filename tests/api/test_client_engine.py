"""The client against the local engine: in-process (no socket) and served on loopback."""

from __future__ import annotations

import io
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fault_server import UNPACED
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import (
    Client,
    InputError,
    InvalidAPIKeyError,
    MissingAPIKeyError,
    OutOfCreditsError,
    RateLimitError,
)
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.contract.endpoints import ENDPOINTS


def photo(w=96, h=64):
    y, x = np.mgrid[0:h, 0:w]
    a = np.dstack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1),
                   np.full_like(x, 120)]).astype(np.uint8)
    return Image.fromarray(a, "RGB")


def box_mask(w=96, h=64):
    m = np.zeros((h, w), bool)
    m[h // 4: h // 2, w // 4: w // 2] = True
    return m


def sketch(n=128):
    s = Image.new("L", (n, n), 0)
    s.paste(255, (10, n // 2, n - 10, n // 2 + 3))
    return s


def run_all(client: Client) -> list:
    return [
        client.text_to_image("a red fox in the snow"),
        client.sketch_to_image(sketch(), "an owl on a branch"),
        client.cleanup(photo(), box_mask()),
        client.text_inpainting(photo(), box_mask(), "a woman with a red scarf"),
        client.replace_background(photo(), "a cozy marble kitchen"),
    ]


@pytest.fixture
def local_client(monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        return Client()


def test_no_key_means_local_engine_said_once_naming_the_variable(monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    monkeypatch.setattr(client_module, "_local_notice_shown", False)
    with pytest.warns(ClipdropNotice, match="CLIPDROP_API_KEY") as record:
        first = Client()
        Client()
    assert len([w for w in record if "local engine" in str(w.message)]) == 1
    assert first.is_local and first.source == "local engine" and not first.has_key


def test_key_from_environment_selects_the_service(monkeypatch):
    monkeypatch.setenv("CLIPDROP_API_KEY", "k")
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    c = Client()
    assert not c.is_local and c.base_url == "https://clipdrop-api.co"
    monkeypatch.setenv("CLIPDROP_API_URL", "http://127.0.0.1:8765/")
    assert Client().base_url == "http://127.0.0.1:8765"


def test_all_five_in_process(local_client):
    results = run_all(local_client)
    sizes = [r.size for r in results]
    assert sizes == [ENDPOINTS["text_to_image"].output_size, (128, 128), (96, 64), (96, 64),
                     (96, 64)]
    assert [r.content_type for r in results] == ["image/png", "image/jpeg", "image/png",
                                                 "image/jpeg", "image/jpeg"]
    assert all(r.is_preview and "offline preview" in r.summary() for r in results)
    remaining = [r.remaining_credits for r in results]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 5
    assert local_client.credits_spent == sum(r.credits_consumed for r in results) == 6


def test_all_five_over_loopback(served_engine):
    # unpaced: the pace is tested below; at the documented 60 a minute this waited 4 s
    client = Client("any-key", base_url=served_engine.url, requests_per_minute=UNPACED)
    results = run_all(client)
    assert all(r.source == "local engine" for r in results)
    assert results[-1].remaining_credits == 100 - 6
    seeds = list(ENDPOINTS.values())[:5]  # the later six: tests/contract, tests/engine
    assert [p for p, _ in served_engine.engine.log] == [e.path for e in seeds]


@pytest.mark.parametrize("fmt,mime", [("png", "image/png"), ("jpeg", "image/jpeg"),
                                      ("webp", "image/webp")])
def test_accept_chooses_the_format(local_client, fmt, mime):
    for r in (local_client.text_to_image("a blue sea", format=fmt),
              local_client.replace_background(photo(), "a beach", format=fmt)):
        assert r.content_type == mime
        assert r.image.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt]


def test_engine_statuses_reach_their_classes(make_served_engine, monkeypatch):
    monkeypatch.setattr(client_module, "_sleep", lambda s: None)
    guarded = make_served_engine(api_key="right", credits=3)
    with pytest.raises(InvalidAPIKeyError):
        Client("wrong", base_url=guarded.url).text_to_image("a cat")
    with pytest.raises(MissingAPIKeyError):
        Client(base_url=guarded.url).text_to_image("a cat")
    ok = Client("right", base_url=guarded.url)
    assert ok.text_to_image("a cat").remaining_credits == 1
    with pytest.raises(OutOfCreditsError) as info:
        ok.text_to_image("a cat")
    assert info.value.status_code == 402
    limited = make_served_engine(rate_limit=2)
    c = Client("k", base_url=limited.url, requests_per_minute=10**6, max_retries=0)
    c.text_to_image("a")
    c.text_to_image("b")
    with pytest.raises(RateLimitError) as info:
        c.text_to_image("c")
    assert float(info.value.response.headers["Retry-After"]) > 0


def test_client_limiter_keeps_engine_rate_limit_happy(make_served_engine):
    """The engine enforcing the documented 30/min: the client spaces its calls 2 s apart, so
    even three at once never trip it, and the next waits for its turn, not for a minute."""
    limited = make_served_engine(rate_limit=True)
    c = Client("k", base_url=limited.url, max_retries=0)
    tiny = photo(16, 16)
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    start = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: c.text_inpainting(tiny, mask, "a hat"), range(3)))
    assert time.monotonic() - start >= 2 * 60 / 30  # spaced, not sent at once
    assert 0 < c.limiter("text_inpainting").delay() <= 60 / 30 * 1.05
    assert [status for _, status in limited.engine.log] == [200, 200, 200]


# -- property: the client either sends a request the engine accepts, or raises InputError ----
sizes = st.one_of(st.integers(1, 40), st.sampled_from([1024, 1025, 2048, 2049]))
modes = st.sampled_from(["RGB", "RGBA", "L", "1", "P", "LA", "I;16"])
formats = st.sampled_from(["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "array", "pil"])


def make_input(w, h, mode, fmt, rng):
    data = rng.integers(0, 256, (h, w, 3), np.uint8) if max(w, h) <= 64 else \
        np.zeros((h, w, 3), np.uint8)
    im = Image.fromarray(data, "RGB")
    try:
        im = im.convert(mode)
    except ValueError:
        pass
    if fmt == "pil":
        return im
    if fmt == "array":
        return np.asarray(im.convert("RGB"))
    buf = io.BytesIO()
    try:
        im.save(buf, fmt)
    except (OSError, ValueError, KeyError):
        im.convert("RGB").save(buf, fmt)
    return buf.getvalue()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(op=st.sampled_from(["sketch", "cleanup", "text_inpainting", "replace_background",
                           "text"]),
       w=sizes, h=sizes, mode=modes, fmt=formats, mask_mode=modes,
       mask_off=st.sampled_from([0, 0, 0, 1]),
       prompt=st.one_of(st.text(max_size=30), st.text(min_size=990, max_size=1100)),
       seed=st.integers(0, 2**16))
def test_property_send_accepted_or_input_error(local_client, op, w, h, mode, fmt, mask_mode,
                                               mask_off, prompt, seed):
    rng = np.random.default_rng(seed)
    image = make_input(w, h, mode, fmt, rng)
    mask = make_input(w + mask_off, h, mask_mode, "PNG", rng)
    calls = {
        "text": lambda: local_client.text_to_image(prompt),
        "sketch": lambda: local_client.sketch_to_image(image, prompt),
        "cleanup": lambda: local_client.cleanup(image, mask),
        "text_inpainting": lambda: local_client.text_inpainting(image, mask, prompt),
        "replace_background": lambda: local_client.replace_background(image, prompt),
    }
    engine = local_client.engine
    before = len(engine.log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        try:
            result = calls[op]()
        except InputError as err:
            assert len(engine.log) == before  # refused: nothing reached the engine
            event(f"refused: {err.rule}")
            return
    event("sent and accepted")
    assert engine.log[-1][1] == 200  # anything else would have raised a status error
    assert result.image.size == (ENDPOINTS["text_to_image"].output_size if op == "text"
                                 else (w, h))


def test_notices_stay_with_their_own_call_across_threads(local_client):
    """Notices are plain data per call: threads never see each other's (apps and sweeps
    call the client from worker threads; warnings' global state is not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    light = Image.new("L", (64, 64), 255)  # dark on light: inverted, with a notice
    dark = Image.new("L", (64, 64), 0)  # already white on black: no notice
    filters_before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(
                lambda i: (i, local_client.sketch_to_image(light if i % 2 else dark, "an owl")),
                range(16)))
    for i, result in results:
        assert bool(result.notices) == bool(i % 2)
        assert all("inverted" in n for n in result.notices)
    assert warnings.filters == filters_before

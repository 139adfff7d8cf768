"""The local engine's HTTP contract, over loopback and in-process through the adapter.

Every test that takes ``connect`` runs twice: once with plain ``requests`` against a real
loopback server, once through :class:`LocalEngineAdapter` on a ``local://engine`` URL.
Expected error messages come from :func:`validate_request` itself: the engine must answer
with the shared validation's words.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw, ImageFile
from urllib3 import encode_multipart_formdata

from clipdrop_widgets.contract.endpoints import CONTENT_TYPE_FORMATS, ENDPOINTS, MB, Endpoint
from clipdrop_widgets.contract.errors import InputError
from clipdrop_widgets.contract.validation import validate_request
from clipdrop_widgets.engine import LocalEngine, LocalEngineAdapter, ServerHandle
from clipdrop_widgets.engine.core import negotiate
from clipdrop_widgets.engine.forms import body_cap

KEY = "test-key"
AUTH = {"x-api-key": KEY}
PHOTO_SIZE = (96, 64)
TIMEOUT = 30  # seconds; a hang fails the test instead of stalling the suite


# -- inputs ----------------------------------------------------------------------------------

def encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def photo(size: tuple[int, int] = PHOTO_SIZE, fmt: str = "JPEG") -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), fmt)


def mask(size: tuple[int, int] = PHOTO_SIZE, *, value: int = 255) -> bytes:
    image = Image.new("L", size, 0)
    image.paste(value, (size[0] // 3, size[1] // 3, 2 * size[0] // 3, 2 * size[1] // 3))
    return encode(image, "PNG")


def sketch(size: tuple[int, int] = (128, 128), fmt: str = "PNG") -> bytes:
    image = Image.new("RGB", size, "black")
    ImageDraw.Draw(image).ellipse((16, 16, size[0] - 16, size[1] - 16), outline="white",
                                  width=3)
    return encode(image, fmt)


def png_declaring(width: int, height: int) -> bytes:
    """A valid, tiny PNG whose header declares ``width`` x ``height`` greyscale pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))


GOOD_TEXTS: dict[str, dict[str, str]] = {
    "text_to_image": {"prompt": "a red fox in the snow"},
    "sketch_to_image": {"prompt": "an owl on a branch, cinematic"},
    "cleanup": {},
    "text_inpainting": {"text_prompt": "a woman with a red scarf"},
    "replace_background": {"prompt": "a cozy marble kitchen"},
    "remove_background": {},
    "uncrop": {"extend_left": "16", "extend_down": "-8", "seed": "7"},
    "upscale": {"target_width": "192", "target_height": "128"},
    "reimagine": {},
    "portrait_depth": {},
    "portrait_normals": {},
}


def good_files(name: str) -> dict[str, bytes]:
    return {
        "text_to_image": {},
        "sketch_to_image": {"sketch_file": sketch()},
        "cleanup": {"image_file": photo(), "mask_file": mask()},
        "text_inpainting": {"image_file": photo(), "mask_file": mask()},
    }.get(name, {"image_file": photo()})


def form(texts: dict[str, str], files: dict[str, bytes]) -> dict[str, tuple[str | None, Any]]:
    """A ``requests`` ``files=`` argument: text parts without file name, files with one."""
    parts: dict[str, tuple[str | None, Any]] = {k: (None, v) for k, v in texts.items()}
    parts.update((k, (f"{k}.bin", v)) for k, v in files.items())
    return parts


def expected_error(endpoint: Endpoint, texts: dict[str, str], files: dict[str, bytes]) -> str:
    """What :func:`validate_request` says about these inputs."""
    with pytest.raises(InputError) as caught:
        validate_request(endpoint, texts, files)
    return str(caught.value)


# -- transports ------------------------------------------------------------------------------

@dataclass
class Target:
    """One way to reach an engine: a session, the base URL, and the engine (to inspect)."""

    session: requests.Session
    base: str
    engine: LocalEngine

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base + path, timeout=TIMEOUT, **kwargs)

    def call(self, name: str, texts: dict[str, str], files: dict[str, bytes],
             headers: dict[str, str] | None = None) -> requests.Response:
        return self.post(ENDPOINTS[name].path, files=form(texts, files),
                         headers=AUTH if headers is None else headers)


@pytest.fixture(params=["loopback", "in-process"])
def connect(request: pytest.FixtureRequest,
            make_served_engine: Callable[..., ServerHandle]) -> Iterator[Callable[..., Target]]:
    """Factory: ``connect(**engine_options)`` -> a :class:`Target` on a fresh engine."""
    sessions: list[requests.Session] = []

    def make(**options: Any) -> Target:
        session = requests.Session()
        sessions.append(session)
        if request.param == "loopback":
            handle = make_served_engine(**options)
            return Target(session, handle.url, handle.engine)
        engine = LocalEngine(**options)
        session.mount("local://", LocalEngineAdapter(engine))
        return Target(session, "local://engine", engine)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def target(connect: Callable[..., Target]) -> Target:
    return connect()


def raw_exchange(handle: ServerHandle, data: bytes) -> bytes:
    """Send raw bytes to the server and read until it closes the connection."""
    with socket.create_connection((handle.host, handle.port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


# -- success ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_every_endpoint_answers_with_an_image(target: Target, name: str) -> None:
    endpoint = ENDPOINTS[name]
    files = good_files(name)
    r = target.call(name, GOOD_TEXTS[name], files)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == endpoint.output_content_type
    assert r.headers["x-clipdrop-engine"] == "local-preview"
    assert float(r.headers["x-credits-consumed"]) == endpoint.credits
    assert float(r.headers["x-remaining-credits"]) == 100 - endpoint.credits
    image = Image.open(io.BytesIO(r.content))
    assert CONTENT_TYPE_FORMATS[endpoint.output_content_type] == image.format.lower()
    if endpoint.output_size == "input":
        source = next(iter(files.values()))
        assert image.size == Image.open(io.BytesIO(source)).size
    elif endpoint.output_size == "extended":
        assert image.size == (PHOTO_SIZE[0] + 16, PHOTO_SIZE[1] - 8)
    elif endpoint.output_size == "target":
        assert image.size == (192, 128)
    else:
        assert image.size == endpoint.output_size
    assert list(target.engine.log) == [(endpoint.path, 200)]


def test_seed_python_sample_sends_url_encoded_and_is_accepted(target: Target) -> None:
    r = target.session.post(target.base + "/text-to-image/v1", files={},
                            data={"prompt": "photograph of a cat surfing"},
                            headers={"x-api-key": KEY}, timeout=TIMEOUT)
    assert r.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert r.ok, r.text
    assert Image.open(io.BytesIO(r.content)).format == "PNG"


def test_chunked_body_is_read_to_its_end(target: Target) -> None:
    body, content_type = encode_multipart_formdata(
        {"image_file": ("photo.jpg", photo()), "prompt": ""})
    r = target.post("/replace-background/v1", data=iter([body[:100], body[100:]]),
                    headers={**AUTH, "Content-Type": content_type})
    assert r.request.headers["Transfer-Encoding"] == "chunked"
    assert r.status_code == 200, r.text


def test_credits_fall_by_the_documented_cost_then_402(connect: Callable[..., Target]) -> None:
    target = connect(credits=4)
    cheap = ("cleanup", {}, good_files("cleanup"))
    dear = ("text_to_image", GOOD_TEXTS["text_to_image"], {})
    assert ENDPOINTS["cleanup"].credits == 1 and ENDPOINTS["text_to_image"].credits == 2
    remaining = 4.0
    for name, texts, files in [dear, cheap]:
        r = target.call(name, texts, files)
        assert r.status_code == 200
        remaining -= ENDPOINTS[name].credits
        assert float(r.headers["x-remaining-credits"]) == remaining
    r = target.call(*dear)  # costs 2, 1 left
    assert r.status_code == 402
    assert r.json() == {"error": "No credits left: /text-to-image/v1 costs 2, 1 remaining"}
    assert target.call(*cheap).headers["x-remaining-credits"] == "0"
    assert target.call(*cheap).status_code == 402
    assert target.engine.remaining_credits == 0


def test_an_operation_fault_is_a_500_refunded_and_the_server_stays_up(
        target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    from clipdrop_widgets.engine import operations

    def broken(*args: Any) -> Image.Image:
        raise RuntimeError("a bug")

    monkeypatch.setattr(operations, "run", broken)
    r = target.call("cleanup", {}, good_files("cleanup"))
    assert r.status_code == 500
    assert r.headers["Content-Type"] == "application/json"
    assert "error" in r.json()
    assert target.engine.remaining_credits == 100
    monkeypatch.undo()
    assert target.call("cleanup", {}, good_files("cleanup")).status_code == 200


# -- Accept ----------------------------------------------------------------------------------

T2I, CLEANUP, RB = ENDPOINTS["text_to_image"], ENDPOINTS["cleanup"], ENDPOINTS["replace_background"]


@pytest.mark.parametrize(("endpoint", "accept", "chosen"), [
    (T2I, None, "image/png"),
    (T2I, "", "image/png"),
    (T2I, "*/*", "image/png"),
    (T2I, "image/*", "image/png"),
    (RB, None, "image/jpeg"),
    (RB, "image/*", "image/jpeg"),
    (T2I, "image/webp", "image/webp"),
    (T2I, "IMAGE/WEBP", "image/webp"),
    (T2I, "image/jpg", "image/jpeg"),
    (RB, "image/png", "image/png"),
    (T2I, "image/png;q=0.5, image/webp;q=0.9", "image/webp"),
    (T2I, "image/webp;q=0.8, image/jpeg;q=0.8", "image/webp"),
    (T2I, "text/html, image/webp, */*;q=0.8", "image/webp"),
    (T2I, "image/*;q=0.5, image/png;q=0", "image/jpeg"),
    (T2I, "text/html", None),
    (T2I, "image/gif", None),
    (T2I, "image/png;q=0, image/jpeg;q=0, image/webp;q=0", None),
    (CLEANUP, None, "image/png"),
    (CLEANUP, "image/png", "image/png"),
    (CLEANUP, "image/*", "image/png"),
    (CLEANUP, "image/webp", None),
    (CLEANUP, "image/webp, */*;q=0.1", "image/png"),
    (ENDPOINTS["text_inpainting"], "image/png", None),
])
def test_negotiate(endpoint: Endpoint, accept: str | None, chosen: str | None) -> None:
    assert negotiate(endpoint, accept) == chosen


@pytest.mark.parametrize("name", [n for n, e in ENDPOINTS.items() if e.accept])
def test_accept_chooses_the_format(target: Target, name: str) -> None:
    for content_type in ENDPOINTS[name].accept:
        r = target.call(name, GOOD_TEXTS[name], good_files(name),
                        headers={**AUTH, "Accept": content_type})
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == content_type
        fmt = Image.open(io.BytesIO(r.content)).format.lower()
        assert fmt == CONTENT_TYPE_FORMATS[content_type]


@pytest.mark.parametrize(("name", "accept"), [("text_to_image", "text/html"),
                                              ("cleanup", "image/webp"),
                                              ("sketch_to_image", "image/png")])
def test_unacceptable_accept_is_406(target: Target, name: str, accept: str) -> None:
    r = target.call(name, GOOD_TEXTS[name], good_files(name), headers={**AUTH, "Accept": accept})
    assert r.status_code == 406
    assert r.json()["error"].startswith(f"Accept: {accept} is not acceptable")
    assert target.engine.remaining_credits == 100


# -- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "field"), [
    (name, f.name) for name, e in ENDPOINTS.items() for f in e.fields if f.required])
def test_missing_field_is_400_in_validations_words(target: Target, name: str, field: str,
                                                   ) -> None:
    texts = {k: v for k, v in GOOD_TEXTS[name].items() if k != field}
    files = {k: v for k, v in good_files(name).items() if k != field}
    r = target.call(name, texts, files)
    assert r.status_code == 400
    assert r.json() == {"error": expected_error(ENDPOINTS[name], texts, files)}


def _gif() -> bytes:
    return encode(Image.new("RGB", PHOTO_SIZE), "GIF")


@pytest.mark.parametrize(("case", "name", "texts", "files", "words"), [
    ("bad format", "cleanup", {}, lambda: {"image_file": _gif(), "mask_file": mask()},
     "it must be JPEG, PNG"),
    ("too large", "replace_background", {"prompt": ""},
     lambda: {"image_file": photo((2049, 16), "PNG")}, "at most 2048 pixels"),
    ("grey mask", "cleanup", {}, lambda: {"image_file": photo(), "mask_file": mask(value=128)},
     "grey pixels"),
    ("non-square sketch", "sketch_to_image", {"prompt": "an owl"},
     lambda: {"sketch_file": sketch((128, 96))}, "only square images"),
    ("wrong-size mask", "text_inpainting", {"text_prompt": "a hat"},
     lambda: {"image_file": photo(), "mask_file": mask((95, 64))}, "the image's resolution"),
    ("prompt too long", "text_to_image", {"prompt": "x" * 1001}, dict, "at most 1000"),
    ("not an image", "replace_background", {"prompt": ""},
     lambda: {"image_file": b"hello"}, "not a readable image"),
])
def test_invalid_input_is_400_in_validations_words(
        target: Target, case: str, name: str, texts: dict[str, str],
        files: Callable[[], dict[str, bytes]], words: str) -> None:
    data = files()
    r = target.call(name, texts, data)
    assert r.status_code == 400, case
    message = r.json()["error"]
    assert message == expected_error(ENDPOINTS[name], texts, data)
    assert words in message
    assert target.engine.remaining_credits == 100


def test_a_truncated_mask_is_400(target: Target) -> None:
    noisy = Image.effect_noise(PHOTO_SIZE, 60).point(lambda v: 255 if v > 127 else 0)
    whole = encode(noisy, "PNG")
    r = target.call("cleanup", {}, {"image_file": photo(), "mask_file": whole[:len(whole) // 2]})
    assert r.status_code == 400
    assert r.json()["error"].startswith("mask_file could not be decoded")
    assert target.engine.remaining_credits == 100


@pytest.mark.parametrize("size", [(30_000, 30_000), (9_000, 9_000)])
def test_decompression_bomb_is_refused_without_decoding(
        target: Target, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = png_declaring(*size)
    assert len(bomb) < 1000
    decoded: list[Any] = []
    real_load = ImageFile.ImageFile.load

    def spy(image: ImageFile.ImageFile) -> Any:
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    r = target.call("cleanup", {}, {"image_file": bomb, "mask_file": mask()})
    assert r.status_code == 400
    assert "megapixels" in r.json()["error"]
    assert size not in decoded  # its pixels were never decoded (in-process: seen here)


def test_no_key_is_401(target: Target) -> None:
    for headers in ({}, {"x-api-key": ""}):
        r = target.call("cleanup", {}, good_files("cleanup"), headers=headers)
        assert r.status_code == 401
        assert r.json() == {"error": "No api key provided"}


def test_engine_without_required_key_accepts_anonymous_calls(
        connect: Callable[..., Target]) -> None:
    target = connect(require_key=False)
    assert target.call("cleanup", {}, good_files("cleanup"), headers={}).status_code == 200


def test_a_fixed_key_refuses_others_with_403(connect: Callable[..., Target]) -> None:
    target = connect(api_key="the-one")
    r = target.call("cleanup", {}, good_files("cleanup"), headers={"x-api-key": "another"})
    assert r.status_code == 403
    assert r.headers["Content-Type"] == "application/json"
    assert "the-one" not in r.text and "another" not in r.text
    r = target.call("cleanup", {}, good_files("cleanup"), headers={"x-api-key": "the-one"})
    assert r.status_code == 200


def test_unknown_path_is_404_and_other_methods_405(target: Target) -> None:
    r = target.post("/remove-text/v1", headers=AUTH)
    assert r.status_code == 404
    assert "/cleanup/v1" in r.json()["error"]
    r = target.session.get(target.base + "/cleanup/v1", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    r = target.session.head(target.base + "/cleanup/v1", headers=AUTH, timeout=TIMEOUT)
    assert r.status_code == 405 and r.content == b""
    assert [s for _, s in target.engine.log] == [404, 405, 405]


def test_rate_limit_is_per_key_and_endpoint_with_retry_after(
        connect: Callable[..., Target]) -> None:
    target = connect(rate_limit=2)
    for _ in range(2):
        assert target.call("cleanup", {}, good_files("cleanup")).status_code == 200
    r = target.call("cleanup", {}, good_files("cleanup"))
    assert r.status_code == 429
    retry_after = int(r.headers["Retry-After"])
    assert retry_after >= 1 and retry_after <= 60
    assert "2 per minute" in r.json()["error"]
    other_key = target.call("cleanup", {}, good_files("cleanup"), headers={"x-api-key": "k2"})
    assert other_key.status_code == 200
    other_endpoint = target.call("replace_background", {"prompt": ""},
                                 good_files("replace_background"))
    assert other_endpoint.status_code == 200


def test_rate_windows_slide_at_the_documented_rate() -> None:
    now = [1000.0]
    engine = LocalEngine(rate_limit=True, clock=lambda: now[0])
    session = requests.Session()
    session.mount("local://", LocalEngineAdapter(engine))
    url = "local://engine" + ENDPOINTS["text_inpainting"].path

    def status() -> requests.Response:
        return session.post(url, headers=AUTH, timeout=TIMEOUT)  # no fields: a quick 400

    assert ENDPOINTS["text_inpainting"].requests_per_minute == 30
    assert [status().status_code for _ in range(30)] == [400] * 30
    now[0] += 59.5
    r = status()
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    now[0] += 0.5
    assert status().status_code == 400


def test_malformed_bodies_are_400(target: Target) -> None:
    boundary = "multipart/form-data; boundary=b"
    cases = [
        (boundary, b"no boundary anywhere in this body"),
        ("multipart/form-data", b"--b\r\n"),
        (boundary, b"--b\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--b--\r\n"),
        (boundary, b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\ncut sh'),
        (boundary, b'--b\r\nContent-Disposition: form-data; name="prompt"\n\nbare LF\r\n--b--'),
        (boundary, b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n\xff\xfe'
                   b"\r\n--b--\r\n"),
        ("application/json", b'{"prompt": "a fox"}'),
        ("application/x-www-form-urlencoded", "prompt=caf\u00e9".encode()),
    ]
    for content_type, body in cases:
        r = target.post("/text-to-image/v1", data=body,
                        headers={**AUTH, "Content-Type": content_type})
        assert r.status_code == 400, (content_type, body)
        assert r.headers["Content-Type"] == "application/json"
    assert target.engine.remaining_credits == 100


def test_a_body_over_the_cap_is_refused(target: Target) -> None:
    cap = body_cap(T2I)
    r = target.post("/text-to-image/v1", data={"prompt": "x" * (cap + 1)}, headers=AUTH)
    assert r.status_code == 400
    assert f"accepts at most {cap} bytes" in r.json()["error"]

    def chunks() -> Iterator[bytes]:
        yield b"prompt="
        for _ in range(cap // 1000 + 1):
            yield b"x" * 1000

    r = target.post("/text-to-image/v1", data=chunks(),
                    headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("request body is over the limit")


def test_a_part_over_every_field_limit_is_refused(target: Target) -> None:
    huge = b"\0" * (CLEANUP.field("image_file").max_bytes + 1)  # under the body cap
    r = target.post("/cleanup/v1", files={"image_file": ("a.jpg", huge)}, headers=AUTH)
    assert r.status_code == 400
    assert r.json()["error"].startswith("the form is over /cleanup/v1's limits")
    r = target.post("/text-to-image/v1", files=[("x", (None, "1"))] * 20, headers=AUTH)
    assert r.status_code == 400
    assert "Maximum segment count exceeded" in r.json()["error"]


class Untouchable:
    """A body stream that must never be read."""

    def read(self, size: int = -1, /) -> bytes:
        raise AssertionError("the body was read")


@pytest.mark.parametrize(("options", "path", "headers", "status"), [
    ({}, "/cleanup/v1", {"x-api-key": KEY}, 400),  # announced 500 MB: over the cap
    ({}, "/nope", {"x-api-key": KEY}, 404),
    ({}, "/cleanup/v1", {}, 401),
    ({"api_key": "the-one"}, "/cleanup/v1", {"x-api-key": KEY}, 403),
    ({}, "/cleanup/v1", {"x-api-key": KEY, "Accept": "image/webp"}, 406),
    ({"rate_limit": 1}, "/cleanup/v1", {"x-api-key": KEY}, 429),
])
def test_refusals_before_the_body_never_read_it(options: dict[str, Any], path: str,
                                                headers: dict[str, str], status: int) -> None:
    engine = LocalEngine(**options)
    headers = {**headers, "Content-Type": "multipart/form-data; boundary=b"}
    if status == 429:
        engine.handle("POST", path, headers, io.BytesIO(), 0)
    response = engine.handle("POST", path, headers, Untouchable(), 500_000_000)
    assert response.status == status
    assert response.headers["Content-Type"] == "application/json"


# -- the loopback server itself --------------------------------------------------------------

def test_oversize_content_length_is_refused_without_reading(served_engine: ServerHandle,
                                                            ) -> None:
    request = (b"POST /cleanup/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: k\r\n"
               b"Content-Type: multipart/form-data; boundary=b\r\n"
               b"Content-Length: 500000000\r\n\r\n--b\r\n")
    status, headers, body = split_response(raw_exchange(served_engine, request))
    assert status == 400
    assert headers["connection"] == "close"
    cap = body_cap(CLEANUP)
    assert json.loads(body)["error"] == (
        f"request body is 500000000 bytes; /cleanup/v1 accepts at most {cap} bytes "
        f"({cap / 1e6:.1f} MB)")
    assert list(served_engine.engine.log) == [("/cleanup/v1", 400)]


def test_expect_100_continue_is_sent_only_when_the_body_is_wanted(
        make_served_engine: Callable[..., ServerHandle]) -> None:
    handle = make_served_engine(api_key="the-one")
    body, content_type = encode_multipart_formdata({"prompt": "a fox"})

    def head(key: str) -> bytes:
        return (f"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Expect: 100-continue\r\n\r\n").encode()

    status, _, _ = split_response(raw_exchange(handle, head("wrong")))
    assert status == 403  # answered at once: no 100, no body needed
    with socket.create_connection((handle.host, handle.port), timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        sock.sendall(head("the-one"))
        assert reader.readline().startswith(b"HTTP/1.1 100")
        assert reader.readline() == b"\r\n"
        sock.sendall(body)
        assert reader.readline().startswith(b"HTTP/1.1 200")


def test_keep_alive_survives_a_refusal_with_a_small_unread_body(
        served_engine: ServerHandle) -> None:
    conn = http.client.HTTPConnection(served_engine.host, served_engine.port, timeout=TIMEOUT)
    try:
        conn.request("POST", "/cleanup/v1", body=b"x" * 1000,
                     headers={"Content-Type": "multipart/form-data; boundary=b"})
        first = conn.getresponse()
        assert first.status == 401
        first.read()
        sock = conn.sock
        body, content_type = encode_multipart_formdata(
            {"image_file": ("p.jpg", photo()), "mask_file": ("m.png", mask())})
        conn.request("POST", "/cleanup/v1", body=body,
                     headers={**AUTH, "Content-Type": content_type})
        second = conn.getresponse()
        assert second.status == 200
        second.read()
        assert conn.sock is sock  # same connection
    finally:
        conn.close()


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
    (b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nabc", 400),
    (b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Content-Length: 4\r\n\r\nabcd", 400),
    (b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
])
def test_http_level_faults_are_json(served_engine: ServerHandle, request_bytes: bytes,
                                    status: int) -> None:
    got, headers, body = split_response(raw_exchange(served_engine, request_bytes))
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"  # the body's end is unknown
    assert "error" in json.loads(body)


def test_fifty_concurrent_clients_mixing_good_and_bad(
        make_served_engine: Callable[..., ServerHandle]) -> None:
    handle = make_served_engine(credits=1000, queue=64)  # room for all: no 503 here
    cases: list[tuple[str, dict[str, str], dict[str, Any], int]] = [
        ("/cleanup/v1", AUTH, form({}, good_files("cleanup")), 200),
        ("/replace-background/v1", AUTH,
         form({"prompt": ""}, good_files("replace_background")), 200),
        ("/cleanup/v1", {}, form({}, good_files("cleanup")), 401),
        ("/cleanup/v1", AUTH, form({}, {"image_file": photo(), "mask_file": mask(value=9)}),
         400),
        ("/sketch-to-image/v1/sketch-to-image", AUTH,
         form(GOOD_TEXTS["sketch_to_image"], good_files("sketch_to_image")), 200),
        ("/nope", AUTH, {}, 404),
    ]
    start = threading.Barrier(50)

    def client(i: int) -> tuple[int, requests.Response]:
        path, headers, files, expected = cases[i % len(cases)]
        with requests.Session() as session:
            start.wait(timeout=TIMEOUT)
            return expected, session.post(handle.url + path, files=files or None,
                                          headers=headers, timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(client, range(50)))
    for expected, r in results:
        assert r.status_code == expected, r.text
        if expected == 200:
            Image.open(io.BytesIO(r.content)).verify()
        else:
            assert "error" in r.json()
    good = sum(expected == 200 for expected, _ in results)
    assert len(handle.engine.log) == 50
    assert handle.engine.remaining_credits == 1000 - good
    after = requests.post(handle.url + "/cleanup/v1", files=form({}, good_files("cleanup")),
                          headers=AUTH, timeout=TIMEOUT)
    assert after.status_code == 200


# -- the adapter -----------------------------------------------------------------------------

def test_adapter_gives_a_real_response() -> None:
    engine = LocalEngine()
    with requests.Session() as session:
        session.mount("local://", LocalEngineAdapter(engine))
        r = session.post("local://engine/cleanup/v1?ignored=1",
                         files=form({}, good_files("cleanup")), headers=AUTH)
        assert isinstance(r, requests.Response)
        assert r.url == "local://engine/cleanup/v1?ignored=1"
        assert r.headers["content-type"] == "image/png"
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert r.reason == "OK" and r.elapsed.total_seconds() >= 0
        missing = session.post("local://engine/cleanup/v1", headers=AUTH)
        assert missing.json() == {"error": "image_file is required by /cleanup/v1"}
        with pytest.raises(requests.HTTPError, match="400 Client Error"):
            missing.raise_for_status()
        streamed = session.post("local://engine/cleanup/v1", headers=AUTH, stream=True)
        assert json.loads(streamed.raw.read()) == missing.json()
    assert engine.log[0] == ("/cleanup/v1", 200)


# -- the loopback server under adversarial inputs (raw sockets: no client library in between) --

def open_socket(handle: ServerHandle) -> socket.socket:
    return socket.create_connection((handle.host, handle.port), timeout=TIMEOUT)


def read_response(reader: Any) -> tuple[int, dict[str, str], bytes]:
    """One Content-Length-framed response from a socket's ``makefile("rb")``."""
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("method", [b"BREW", b"PROPFIND", b"post", b"CONNECT"])
def test_unknown_methods_are_405_with_allow(served_engine: ServerHandle, method: bytes) -> None:
    request = method + b" /cleanup/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n\r\n"
    status, headers, body = split_response(raw_exchange(served_engine, request))
    assert status == 405
    assert headers["allow"] == "POST"
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"].startswith(f"{method.decode()} is not allowed")
    assert list(served_engine.engine.log) == [("/cleanup/v1", 405)]


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"POST /cleanup/v1\r\nHost: x\r\n\r\n",
    b"POST /cleanup/v1 HTTP/2.0\r\nHost: x\r\n\r\n",
    b"POST  HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello, on plain HTTP
    b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nno colon in this line\r\n\r\n",
    # framing tornado rejects once the request was admitted: a bad chunk size, an extension
    b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\nprompt=a\r\n0\r\n\r\n",
    b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n8;ext=1\r\nprompt=a\r\n0\r\n\r\n",
])
def test_bad_requests_get_a_400_status_line(served_engine: ServerHandle,
                                            request_bytes: bytes) -> None:
    raw = raw_exchange(served_engine, request_bytes)
    assert raw.startswith(b"HTTP/1.1 400 "), raw[:200]
    # the server is still up and answers the next client
    status, _, _ = split_response(raw_exchange(
        served_engine, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 404


@pytest.mark.parametrize("keys", [("k1", "k2"), ("same", "same")])
def test_two_api_key_headers_are_400(make_served_engine: Callable[..., ServerHandle],
                                     keys: tuple[str, str]) -> None:
    handle = make_served_engine(api_key=keys[0])
    body, content_type = encode_multipart_formdata({"prompt": "a fox"})
    request = (f"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: {keys[0]}\r\n"
               f"X-Api-Key: {keys[1]}\r\nContent-Type: {content_type}\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    status, _headers, answer = split_response(raw_exchange(handle, request))
    assert status == 400
    assert json.loads(answer) == {"error": "send one x-api-key header, not 2"}
    assert keys[0] not in answer.decode() and keys[1] not in answer.decode()
    assert handle.engine.remaining_credits == 100
    assert list(handle.engine.log) == [("/text-to-image/v1", 400)]


def _send_until_refused(sock: socket.socket, chunk: bytes, total: int) -> tuple[int, str]:
    """Send ``chunk`` repeatedly up to ``total`` bytes; the bytes sent and how it ended."""
    sent = 0
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError as err:  # the server closed: broken pipe or reset
        return sent, type(err).__name__
    return sent, "sent everything"


FIFTY_MB = 50 * 1000 * 1000


@pytest.mark.parametrize("framing", ["announced", "chunked"])
def test_an_oversized_body_is_answered_early_and_not_read(served_engine: ServerHandle,
                                                          framing: str) -> None:
    """50 MB to an endpoint that takes 20 MB: the answer comes while the client is still
    sending, and the connection closes long before the 50 MB are through."""
    part = b'--b\r\nContent-Disposition: form-data; name="image_file"; filename="a.jpg"\r\n\r\n'
    if framing == "announced":
        head = f"Content-Length: {FIFTY_MB}\r\n"
        piece = b"x" * 65536
    else:
        head = "Transfer-Encoding: chunked\r\n"
        piece = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        part = b"%x\r\n%s\r\n" % (len(part), part)
    request = ("POST /replace-background/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
               f"Content-Type: multipart/form-data; boundary=b\r\n{head}\r\n").encode()
    with open_socket(served_engine) as sock:
        sock.sendall(request + part)
        with ThreadPoolExecutor(1) as sender:
            sending = sender.submit(_send_until_refused, sock, piece, FIFTY_MB)
            status, headers, body = read_response(sock.makefile("rb"))
            sent, ending = sending.result(timeout=TIMEOUT)
    assert status == 400
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    if framing == "announced":  # refused from the header
        assert error == (f"request body is {FIFTY_MB} bytes; /replace-background/v1 accepts "
                         f"at most {body_cap(RB)} bytes ({body_cap(RB) / 1e6:.1f} MB)")
    else:  # refused once the 20 MB image part passes its limit
        assert error.startswith("the form is over /replace-background/v1's limits")
    assert ending != "sent everything"
    # The server stopped taking bytes at the refusal: what got through past the bytes it
    # needed to decide is kernel buffers and the bounded discard that lets us read the answer.
    needed = 0 if framing == "announced" else body_cap(RB)
    assert sent < needed + 16 * MB < FIFTY_MB
    assert list(served_engine.engine.log) == [("/replace-background/v1", 400)]


def test_a_raw_chunked_body_in_one_byte_chunks(served_engine: ServerHandle) -> None:
    form_body = b"prompt=a+fox+in+the+snow"
    chunks = b"".join(b"%x\r\n%s\r\n" % (1, form_body[i:i + 1])
                      for i in range(len(form_body)))
    request = (b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    with open_socket(served_engine) as sock:
        sock.sendall(request)
        status, _headers, body = read_response(sock.makefile("rb"))
    assert status == 200
    assert Image.open(io.BytesIO(body)).format == "PNG"


def test_keep_alive_serves_several_requests_on_one_connection(
        served_engine: ServerHandle) -> None:
    good, content_type = encode_multipart_formdata(
        {"image_file": ("p.jpg", photo()), "mask_file": ("m.png", mask())})

    def post(path: str, body: bytes, key: str = "k") -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body

    requests_and_statuses = [
        (post("/cleanup/v1", good), 200),
        (post("/cleanup/v1", b"--x--"), 400),  # malformed, read to its end: kept
        (post("/nope", good[:1000]), 404),  # a small unread body is drained: kept
        (b"GET /cleanup/v1 HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (post("/cleanup/v1", good, key=""), 401),
        (post("/cleanup/v1", good), 200),
    ]
    with open_socket(served_engine) as sock:
        reader = sock.makefile("rb")
        for request, expected in requests_and_statuses:
            sock.sendall(request)
            status, headers, body = read_response(reader)
            assert status == expected, body
            assert headers.get("connection", "").lower() != "close"
        # pipelined: two requests sent at once, answered in order
        sock.sendall(post("/cleanup/v1", good) + post("/nope", b""))
        assert read_response(reader)[0] == 200
        assert read_response(reader)[0] == 404
    assert served_engine.engine.remaining_credits == 97


def test_a_trickled_body_does_not_block_other_clients(
        make_served_engine: Callable[..., ServerHandle]) -> None:
    """A client that sends one byte and stalls holds a queue place, not a worker: others are
    served meanwhile, and the trickler too once its body is complete."""
    handle = make_served_engine(workers=1, queue=1)
    body = b"prompt=a+slow+fox"
    head = (b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    with open_socket(handle) as slow, requests.Session() as session:
        slow.sendall(head + body[:1])
        for _ in range(3):
            r = session.post(handle.url + "/text-to-image/v1", data={"prompt": "a fast fox"},
                             headers=AUTH, timeout=TIMEOUT)
            assert r.status_code == 200
        for byte in body[1:]:
            slow.sendall(bytes([byte]))
        status, _, image = read_response(slow.makefile("rb"))
    assert status == 200
    assert Image.open(io.BytesIO(image)).format == "PNG"
    assert handle.engine.remaining_credits == 100 - 4 * T2I.credits

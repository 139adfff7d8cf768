"""The Studio page's preloads (issue 22, first paint): the recorded scripts go into the page's
configuration only for the build they were recorded from, as safe paths under the base URL.
The browser side (every preload used, none fetched twice) is in
tests/browser/test_browser_voila_requests.py."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from clipdrop_widgets import cli
from clipdrop_widgets.launcher.page import PAGE_ENV, STATIC, fits, page_config_keys
from clipdrop_widgets.launcher.preload import (
    PAGE_CONFIG_KEY,
    RECORD,
    build_of,
    page_config_hook,
    preload_paths,
    record,
)

EXTENSIONS = [{"name": "ipycanvas", "load": "static/remoteEntry.aaa.js"},
              {"name": "anywidget", "load": "./static/remoteEntry.bbb.js"}]
PAGE = "http://127.0.0.1:9/"
CONFIG = {"appVersion": "0.5.13", "baseUrl": "/", "federated_extensions": EXTENSIONS}
PAGE_SCRIPTS = ["http://127.0.0.1:9/voila/templates/clipdrop/static/voila-style.js?v=1",
                "http://127.0.0.1:9/voila/static/5764.voila.js",
                "http://127.0.0.1:9/voila/static/voila.js",
                "http://127.0.0.1:9/voila/labextensions/ipycanvas/static/819.e2.js?v=e2",
                "http://127.0.0.1:9/voila/static/5764.voila.js",
                "http://elsewhere.example/voila/static/evil.js"]


def test_a_recorded_page_is_preloaded_in_its_order_under_the_base_url(tmp_path):
    file = tmp_path / "preload.json"
    paths = record(PAGE, CONFIG, PAGE_SCRIPTS, record_file=file)
    # voila.js first; the head's voila-style.js, a repeat and another server left out
    assert paths == ["voila/static/voila.js", "voila/static/5764.voila.js",
                     "voila/labextensions/ipycanvas/static/819.e2.js?v=e2"]
    assert preload_paths(CONFIG, record_file=file) == paths
    saved = json.loads(file.read_text())
    assert saved["build"] == {"voila": "0.5.13", "extensions": {
        "ipycanvas": "static/remoteEntry.aaa.js", "anywidget": "./static/remoteEntry.bbb.js"}}


def test_a_record_of_another_build_preloads_nothing(tmp_path):
    file = tmp_path / "preload.json"
    record(PAGE, CONFIG, PAGE_SCRIPTS, record_file=file)
    rebuilt = [dict(EXTENSIONS[0], load="static/remoteEntry.ccc.js"), EXTENSIONS[1]]
    assert preload_paths({**CONFIG, "federated_extensions": rebuilt}, record_file=file) == []
    assert preload_paths({**CONFIG, "appVersion": "0.5.14"}, record_file=file) == []
    assert preload_paths({**CONFIG, "federated_extensions": EXTENSIONS[:1]},
                         record_file=file) == []


@pytest.mark.parametrize("text", ["", "{", "[]", '{"build": {}}', '{"scripts": []}'])
def test_a_missing_or_broken_record_preloads_nothing(tmp_path, text):
    file = tmp_path / "preload.json"
    assert preload_paths(CONFIG, record_file=file) == []  # missing
    file.write_text(text)
    assert preload_paths(CONFIG, record_file=file) == []


def test_only_voila_paths_that_cannot_leave_an_href_are_preloaded(tmp_path):
    file = tmp_path / "preload.json"
    file.write_text(json.dumps({"build": build_of(CONFIG), "scripts": [
        "voila/static/1.voila.js", 'voila/static/x.js"><script>alert(1)</script>',
        "voila/static/../../api/kernels", "api/kernels", "//evil.example/x.js", 7,
        "voila/labextensions/anywidget/static/2.js"]}))
    assert preload_paths(CONFIG, record_file=file) == [
        "voila/static/1.voila.js", "voila/labextensions/anywidget/static/2.js"]


def test_the_hook_puts_absolute_paths_under_the_base_url(tmp_path, monkeypatch):
    import clipdrop_widgets.launcher.preload as preload

    monkeypatch.setenv(PAGE_ENV, "voila")  # Voila's own page: the recorded preloads

    file = tmp_path / "preload.json"
    record(PAGE, CONFIG, PAGE_SCRIPTS[:3], record_file=file)
    monkeypatch.setattr(preload, "RECORD", file)
    hooked = page_config_hook(dict(CONFIG), base_url="/user/ann/", settings={}, log=None,
                              voila_configuration=None, notebook_path="studio.ipynb")
    assert hooked[PAGE_CONFIG_KEY] == ["/user/ann/voila/static/voila.js",
                                       "/user/ann/voila/static/5764.voila.js"]
    assert {k: v for k, v in hooked.items() if k != PAGE_CONFIG_KEY} == CONFIG
    other = {**CONFIG, "appVersion": "9"}
    assert page_config_hook(other, base_url="/") is other  # another build: untouched


def test_the_record_shipped_is_of_a_build_and_has_voila_first():
    shipped = json.loads(RECORD.read_text())
    assert shipped["build"]["voila"] and shipped["build"]["extensions"]
    assert shipped["scripts"][0] == "voila/static/voila.js"
    assert len(shipped["scripts"]) == len(set(shipped["scripts"])) > 20


def test_the_launchers_voila_config_sets_the_hook():
    assert "page_config_hook = _preload.page_config_hook" in cli.VOILA_PRELOAD
    namespace: dict = {"c": type("C", (), {})()}
    namespace["c"].VoilaConfiguration = type("V", (), {})()
    exec(cli.VOILA_PRELOAD, namespace)  # the config file as Voila runs it
    assert namespace["c"].VoilaConfiguration.page_config_hook is page_config_hook


# ---- the page's own front end (launcher/page.py) ------------------------------------------

MANAGERS = [{"name": "@jupyter-widgets/jupyterlab-manager", "load": "static/remoteEntry.m.js"},
            {"name": "@voila-dashboards/widgets-manager8", "load": "static/remoteEntry.v.js"}]


def test_the_own_page_is_used_for_the_installed_ipywidgets(monkeypatch):
    monkeypatch.delenv(PAGE_ENV, raising=False)
    assert fits()  # the shipped build is of the widget specs this ipywidgets speaks
    config = {**CONFIG, "federated_extensions": MANAGERS + EXTENSIONS,
              "fullLabextensionsUrl": "/user/ann/voila/labextensions"}
    hooked = page_config_hook(config, base_url="/user/ann/")
    # the address names the file's content: a copy cached before an upgrade is never run
    tag = hashlib.sha256((STATIC / "studio-page.js").read_bytes()).hexdigest()[:12]
    assert hooked["clipdropPage"] == ("/user/ann/voila/templates/clipdrop/static/"
                                      f"studio-page.js?v={tag}")
    assert re.fullmatch(r".*/static/studio-page\.css\?v=[0-9a-f]{12}", hooked["clipdropPageCss"])
    # the widget managers' extensions are the page's own: only the libraries' entries, fetched
    # at once; Voila's recorded scripts are not preloaded (its application does not run)
    assert hooked[PAGE_CONFIG_KEY] == [
        "/user/ann/voila/labextensions/ipycanvas/static/remoteEntry.aaa.js",
        "/user/ann/voila/labextensions/anywidget/static/remoteEntry.bbb.js"]


def test_voilas_page_when_asked_or_when_the_build_does_not_fit(tmp_path, monkeypatch):
    monkeypatch.setenv(PAGE_ENV, "voila")
    assert not fits() and page_config_keys(CONFIG, "/") == {}
    monkeypatch.delenv(PAGE_ENV)
    other = tmp_path / "static"
    other.mkdir()
    for name in ("studio-page.js", "studio-page.css"):
        (other / name).write_text("")
    built = json.loads((STATIC / "studio-page.json").read_text())
    (other / "studio-page.json").write_text(json.dumps(
        {**built, "specs": {**built["specs"], "@jupyter-widgets/controls": "3.0.0"}}))
    assert not fits(static=other)  # built for another ipywidgets: Voila's page
    (other / "studio-page.json").write_text(json.dumps(built))
    assert fits(static=other)
    (other / "studio-page.css").unlink()
    assert not fits(static=other)  # a file missing: Voila's page


def test_an_extension_with_an_unsafe_name_is_not_preloaded(monkeypatch):
    monkeypatch.delenv(PAGE_ENV, raising=False)
    config = {**CONFIG, "federated_extensions": [
        {"name": 'x"><script>', "load": "static/a.js"}, EXTENSIONS[0]]}
    assert page_config_keys(config, "/")[PAGE_CONFIG_KEY] == [
        "/voila/labextensions/ipycanvas/static/remoteEntry.aaa.js"]

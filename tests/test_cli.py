"""The run commands: ``demo`` writes eleven results; ``studio`` serves the Studio in Voila."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image


def test_demo_writes_eleven_previews(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    out = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "11 results written" in out.stdout
    assert "CLIPDROP_API_KEY" in out.stderr  # it says, once, that these are local previews
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("input_"))
    assert names == ["cleanup.png", "portrait_depth.jpg", "portrait_normals.jpg",
                     "reimagine.jpg", "remove_background.png", "replace_background.jpg",
                     "sketch_to_image.jpg", "text_inpainting.jpg", "text_to_image.png",
                     "uncrop.jpg", "upscale.jpg"]
    for name in names:
        assert Image.open(tmp_path / name).size[0] >= 256
    assert out.stdout.count("offline preview") == 11


def test_demo_stays_on_the_local_engine_with_a_key_unless_told(tmp_path):
    """With CLIPDROP_API_KEY set, `demo` spends nothing; `demo --service` spends one call each."""
    from clipdrop_widgets import ENDPOINTS, serve

    with serve(port=0, background=True, api_key="sk-room", credits=100) as server:
        env = {**os.environ, "CLIPDROP_API_KEY": "sk-room", "CLIPDROP_API_URL": server.url}
        free = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--out",
                               str(tmp_path / "free")], env=env, capture_output=True,
                              text=True, timeout=120)
        assert free.returncode == 0, free.stderr
        assert "11 results written" in free.stdout and "--service" in free.stderr
        assert server.engine.remaining_credits == 100 and not server.engine.log
        paid = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--service",
                               "--out", str(tmp_path / "paid")], env=env, capture_output=True,
                              text=True, timeout=120)
        assert paid.returncode == 0, paid.stderr
        cost = sum(e.credits for e in ENDPOINTS.values())
        assert server.engine.remaining_credits == 100 - cost
        assert f"{cost} credits" in paid.stderr
    env.pop("CLIPDROP_API_KEY")
    refused = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "demo", "--service",
                              "--out", str(tmp_path / "none")], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "set CLIPDROP_API_KEY" in refused.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the launcher: a busy port, stopping cleanly, where results go -------------------------------

def _launcher_env(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
    env["CLIPDROP_WIDGETS_DATA_DIR"] = str(data_dir)
    return env


def test_busy_port_is_reported_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "clipdrop_widgets", "studio", "--port",
                              str(port)], capture_output=True, text=True, timeout=60,
                             env=_launcher_env(tmp_path / "data"))
    assert out.returncode == 1
    assert out.stdout == ""  # no "open http://..." for a server that cannot start
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr
    assert "clipdrop-widgets studio --port " in out.stderr  # a port to try instead
    suggested = int(out.stderr.rsplit("--port ", 1)[1].split()[0])
    assert suggested != port
    assert not (tmp_path / "data").exists()  # nothing was made, nothing started


def _start_launcher(tmp_path, *extra: str) -> tuple[subprocess.Popen, int, list[str]]:
    """The launcher in its own process group (so the test can clean up if it fails), its
    port, and its output lines as they arrive; returns once the server answers."""
    import threading

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "clipdrop_widgets", "studio", "--port",
                             str(port), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=_launcher_env(tmp_path / "data"), start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                     daemon=True).start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, lines
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("the launcher did not serve: " + "".join(lines))


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_launcher_stopped_by_a_signal_leaves_nothing_running(tmp_path, sig):
    proc, port, lines = _start_launcher(tmp_path)
    try:
        proc.send_signal(sig)  # the launcher alone, as `kill PID` does
        assert proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 20  # the server's kernels shut down after it
        while time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.2)
        assert not _group_alive(proc.pid), "a Voila or kernel process outlived the launcher"
        assert not _listening(port)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    text = "".join(lines)
    session = tmp_path / "data" / "sessions"
    assert f"Results are saved in {session}" in text  # the user data folder, not a temp one
    assert not (tmp_path / "data" / "launcher" / str(port)).exists()  # its work folder is gone


def test_scripts_studio_says_what_it_installs_before_installing(tmp_path):
    """On a new machine (no .venv), the steps are printed before the install runs. The real
    install is replaced by a stand-in that waits until it is told to finish, so the test sees
    the steps while the "install" is still going."""
    from pathlib import Path

    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    real = Path(__file__).resolve().parents[1] / "scripts" / "studio"
    (repo / "scripts" / "studio").write_text(real.read_text())
    (repo / "pyproject.toml").write_text("")
    go = tmp_path / "go"
    (repo / "scripts" / "setup").write_text(f"""#!/usr/bin/env bash
while [ ! -e {go} ]; do sleep 0.1; done
mkdir -p .venv/bin
printf '#!/usr/bin/env bash\\necho "studio $*"\\n' > .venv/bin/clipdrop-widgets
chmod +x .venv/bin/clipdrop-widgets
""")
    proc = subprocess.Popen(["bash", str(repo / "scripts" / "studio"), "--port", "9999"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = [proc.stdout.readline(), proc.stdout.readline()]
        assert proc.poll() is None and not go.exists()  # still "installing"
        assert first[0].startswith("[1/3] Creating a Python environment in .venv")
        assert first[1].startswith("[2/3] Installing clipdrop-widgets with Voila and JupyterLab")
        go.touch()
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "[3/3] Starting the Studio" in rest and "studio --port 9999" in rest
    # the second run skips the install
    again = subprocess.run(["bash", str(repo / "scripts" / "studio")], capture_output=True,
                           text=True, timeout=60)
    assert "already installed" in again.stdout and "[3/3] Starting the Studio" in again.stdout


def test_the_printed_reopen_command_works_in_a_new_shell(tmp_path):
    """Issue 21: "reopen it with: clipdrop-widgets studio --session ..." failed in a new shell
    (the command was not on its PATH). The command printed runs with no PATH at all."""
    import shlex

    from clipdrop_widgets.cli import reopen_command

    session = tmp_path / "a session"
    argv = shlex.split(reopen_command(session))
    assert argv[-2:] == ["--session", str(session)] and os.path.isabs(argv[0])
    shell = subprocess.run(["/bin/sh", "-c", shlex.join([*argv[:-2], "--help"])],
                           env={"HOME": str(tmp_path)}, capture_output=True, text=True,
                           timeout=60)
    assert shell.returncode == 0, shell.stderr
    assert "--session" in shell.stdout


def test_studio_theme_flag_reaches_voila_and_jupyterlab(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Findings 22c F9: the README's dark Studio from the launcher: ``studio --theme dark`` is
    Voila's ``--theme=dark`` (JupyterLab: its dark theme); another theme is refused by name."""
    from clipdrop_widgets import cli
    from clipdrop_widgets.contract.errors import ConfigurationError

    args = cli.build_parser().parse_args(["studio", "--theme", "dark"])
    assert args.theme == "dark"
    common = dict(host="127.0.0.1", port=8866, work=tmp_path, notebook=tmp_path / "s.ipynb",
                  browser=[], close_idle_after=300, token=None)
    voila, _ = cli._server_command("voila", lab=False, theme=args.theme, **common)
    assert "--theme=dark" in voila
    plain, _ = cli._server_command("voila", lab=False, **common)
    assert not any(part.startswith("--theme") for part in plain)
    assert cli.lab_overrides("dark")["@jupyterlab/apputils-extension:themes"] == {
        "theme": "JupyterLab Dark"}
    assert "@jupyterlab/apputils-extension:themes" not in cli.lab_overrides(None)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["studio", "--theme", "blue"])
    with pytest.raises(ConfigurationError, match="theme must be one of light, dark"):
        cli.launch_studio(theme="blue")

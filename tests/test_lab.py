"""`make lab` really starts: the learner's JupyterLab serves the chapters and runs code.

Starts `python -m tools.lab` (what `make lab` runs) on a free port, lists /api/contents/chapters,
executes one cell in a kernel over the websocket API, checks that nbgrader's grading UI is
switched off, and stops the server by its PID.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _post(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"token {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, token = _free_port(), uuid.uuid4().hex
    log = tmp_path_factory.mktemp("lab") / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(log.parent / "runtime")}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.lab", "--no-browser", f"--port={port}",
             "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={token}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the lab did not answer in 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, proc, log
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_lab_serves_the_chapters(lab):
    base, token, _, _ = lab
    status, body = _get(f"{base}/api/contents/chapters", token)
    assert status == 200, body[:500]
    listing = json.loads(body)
    names = {item["name"] for item in listing["content"]}
    assert listing["type"] == "directory"
    assert {"01_background", "02_forward_pass", "intro.md"} <= names, names


def test_lab_executes_a_cell(lab):
    import websocket  # websocket-client, a dependency of jupyter_server

    base, token, _, _ = lab
    kernel = _post(f"{base}/api/kernels", token, {"name": "python3"})
    ws = websocket.create_connection(
        f"{base.replace('http', 'ws')}/api/kernels/{kernel['id']}/channels?token={token}",
        timeout=120)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": "from rnnlab import layers\nprint(layers.__name__, 6 * 7)",
                        "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        stdout, status = "", None
        deadline = time.monotonic() + 120
        while status is None and time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                stdout += msg["content"]["text"]
            elif msg["msg_type"] == "execute_reply":
                status = msg["content"]["status"]
    finally:
        ws.close()
    assert status == "ok", stdout
    assert stdout.strip() == "rnnlab.layers 42"


def test_learners_lab_has_no_grading_ui(lab):
    base, token, _, log = lab
    assert _get(f"{base}/formgrader", token)[0] == 404, "nbgrader's formgrader is off"
    status, page = _get(f"{base}/lab", token)
    assert status == 200
    start = page.index(b'id="jupyter-config-data"')
    config = json.loads(page[page.index(b">", start) + 1:page.index(b"</script>", start)])
    assert "@jupyter/nbgrader" in config["disabledExtensions"], "nbgrader's lab extension is off"
    assert "nbgrader_config.py" not in log.read_text()


def test_lab_runs_as_root_and_says_so(lab):
    _, _, _, log = lab
    text = log.read_text()
    if os.geteuid() == 0:
        assert text.count("running as root, so JupyterLab is started with --allow-root") == 1
    else:
        assert "--allow-root" not in text


def test_lab_stops_by_its_pid(lab):
    base, token, proc, _ = lab
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) is not None
    with pytest.raises(OSError):
        _get(f"{base}/api/status", token)

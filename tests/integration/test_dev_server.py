"""`make dev` starts the Dagster UI and daemon (`dagster dev`) on a port of the operator's choice, and
one Ctrl-C stops all of it: the webserver, the daemon and the code server, with nothing left running.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.lib.paths import REPO_ROOT

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def processes_of(home: Path) -> list[str]:
    """Command lines of every process that runs on this Dagster home (the webserver, daemon and
    code server name its instance in their arguments)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(home) in command and "dagster" in command:
            found.append(command[:120])
    return found


def test_one_interrupt_stops_the_ui_the_daemon_and_the_code_server(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    dagster = Path(sys.executable).with_name("dagster")
    server = subprocess.Popen(
        [str(dagster), "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not answers(port):
            assert server.poll() is None, "dagster dev stopped before it served the UI"
            assert time.monotonic() < deadline, "the UI did not answer within 180 s"
            time.sleep(1)
        server.send_signal(signal.SIGINT)  # Ctrl-C in the terminal
        started = time.monotonic()
        server.wait(timeout=90)
        stopped_in = time.monotonic() - started
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    deadline = time.monotonic() + 20
    while processes_of(home) and time.monotonic() < deadline:  # children finish their last line
        time.sleep(0.5)
    assert processes_of(home) == []
    assert stopped_in < 90
    assert not answers(port)

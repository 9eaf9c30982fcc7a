"""Telling a dead load's process from a live one, with real processes.

This process is alive; a child that exited is not, whether it was reaped or is still a zombie; a
live pid whose kernel start time differs (the pid was given to another program) is not the process
that was recorded; and a process of another host cannot be judged from here.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pipelines.lib.loads.processes import ProcessId, is_alive, start_ticks, this_process

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def process_of(child: subprocess.Popen) -> ProcessId:
    return ProcessId(socket.gethostname(), child.pid, start_ticks(child.pid))


def state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2]


def test_this_process_is_alive():
    assert is_alive(this_process()) is True


def test_a_child_that_exited_and_was_reaped_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    process = process_of(child)
    assert is_alive(process) is True
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait() == 0
    assert is_alive(process) is False


def test_a_killed_child_not_yet_reaped_is_not_alive():
    child = subprocess.Popen(SLEEP)
    try:
        process = process_of(child)
        assert is_alive(process) is True
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while state(child.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state(child.pid) == "Z"
        assert is_alive(process) is False
    finally:
        child.kill()
        child.wait()


def test_a_reused_pid_is_not_the_recorded_process():
    me = this_process()
    assert me.started  # Linux: the start time is known
    assert is_alive(ProcessId(me.host, me.pid, str(int(me.started) + 1))) is False


def test_a_process_of_another_host_cannot_be_judged():
    me = this_process()
    assert is_alive(ProcessId(me.host + "-elsewhere", me.pid, me.started)) is None

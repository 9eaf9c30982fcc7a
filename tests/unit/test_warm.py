"""The warm launcher (bench/warm.py) that the fault tests and the tiny benchmark start their
`junheng run` processes from: each command is a real process of its own, with the environment,
folder, streams and exit status it was given, and a killed one is gone when its caller hears of it.
(Preloading a small module here: the launcher's imports are not what is tested.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.warm import Launcher


@pytest.fixture(scope="module")
def warm() -> Iterator[Launcher]:
    with Launcher(preload=("json",)) as launcher:
        yield launcher


def test_a_command_gets_its_arguments_environment_folder_streams_and_exit_code(warm, tmp_path):
    code = (
        "import os, sys; print('out', sys.argv[1:], os.getcwd(), os.environ['ASKED'], os.environ.get('HOME'));"
        "print('错误', file=sys.stderr); sys.exit(3)"
    )
    child = warm.popen(
        ["-c", code, "a", "b"],
        env={"ASKED": "是", "PATH": os.environ["PATH"]},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = child.communicate(timeout=30)
    assert out == f"out ['a', 'b'] {tmp_path} 是 None\n"  # only the environment it was given
    assert err == "错误\n"
    assert child.returncode == 3 and child.pid != os.getpid()
    assert child.usage["peak_kib"] > 0


def test_a_module_runs_as_main_and_stderr_can_join_stdout(warm, tmp_path):
    (tmp_path / "hello.py").write_text(
        "import sys\nif __name__ == '__main__':\n    print('main', sys.argv[1:])\n    raise SystemExit('bye')\n"
    )
    child = warm.popen(
        ["-m", "hello", "x"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out, err = child.communicate(timeout=30)
    assert (out, err, child.returncode) == ("main ['x']\nbye\n", None, 1)


def test_a_killed_command_is_reaped_before_its_status_is_told(warm):
    child = warm.popen(["-c", "import time; print('up', flush=True); time.sleep(60)"], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"up\n"
    assert child.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=0.2)
    child.kill()
    assert child.wait(timeout=30) == -signal.SIGKILL
    assert not Path(f"/proc/{child.pid}").exists()  # not left a zombie


def test_commands_run_at_once_and_a_failure_is_told(warm, tmp_path):
    # each child says it started, then waits for the word to go: one after another, none would end
    code = (
        "import os, sys, time; open(sys.argv[1], 'w').close()\n"
        "while not os.path.exists('go'): time.sleep(0.01)"
    )
    children = [warm.popen(["-c", code, f"started-{i}"], cwd=tmp_path) for i in range(3)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("started-*"))) < 3:
        assert time.monotonic() < deadline, "the three commands did not all start"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    assert [c.wait(timeout=30) for c in children] == [0, 0, 0]
    broken = warm.popen(["-c", "1 / 0"], stderr=subprocess.PIPE)
    _, err = broken.communicate(timeout=30)
    assert broken.returncode == 1 and b"ZeroDivisionError" in err
    with pytest.raises(ValueError):
        warm.popen(["script.py"])

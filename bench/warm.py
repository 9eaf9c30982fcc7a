"""A warm launcher: one Python process imports the pipeline once, then forks a child per command.

Starting `junheng run` costs about 5 CPU-seconds of imports (Dagster, great-expectations, DuckDB,
polars, pandera) before it does anything. Where many short pipeline processes are started and
their start-up is not what is looked at, that cost is paid once here instead: `python -m bench.run
--tiny` (the test suite's check of the benchmark) and the fault tests' `junheng run` processes.
`make bench` does not use it: a user's command starts cold, and that is what it measures.

Each command still runs as a process of its own: its own pid, files, environment, working folder,
signals and exit status. A child is forked from a process that has only imported modules (no
file or database opened, no Python thread started; the idle helper threads that jemalloc and
polars start at import stay behind, as after any fork), so it starts as a cold process would,
less the imports. The server reaps each child as it ends and reports its exit status and resource
use, so a killed child is gone (not a zombie) by the time its caller learns of it.

    with Launcher() as warm:
        child = warm.popen(["-m", "pipelines.cli", "run", ...], env=env, stdout=subprocess.PIPE)
        out, err = child.communicate(timeout=600)

The commands are a Python's arguments: `-m module args...` or `-c code args...`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
PRELOAD = ("pipelines.cli", "pipelines.definitions", "great_expectations")
"""What the server imports before it forks: what a `junheng run` imports on its way."""
_STATUS_BYTES = 4096


class Launcher:
    """A warm server of this Python (started at once, stopped by close() or at exit)."""

    def __init__(self, preload: tuple[str, ...] = PRELOAD) -> None:
        self._folder = tempfile.mkdtemp(prefix="junheng-warm-")
        self.address = os.path.join(self._folder, "server")
        self._server = subprocess.Popen(
            [sys.executable, "-m", "bench.warm", self.address, *preload],
            stdin=subprocess.PIPE,  # the server ends when this closes: with its owner
            stdout=subprocess.PIPE,
            cwd=ROOT,  # `-m` puts it first on the server's path
        )
        assert self._server.stdout is not None
        ready = self._server.stdout.readline()
        if ready != b"ready\n":
            self._server.kill()
            raise RuntimeError(f"the warm launcher did not start: {ready!r}")
        atexit.register(self.close)

    def popen(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stdin: int | IO[Any] | None = None,
        stdout: int | IO[Any] | None = None,
        stderr: int | IO[Any] | None = None,
        text: bool = False,
    ) -> WarmProcess:
        """Start `python <argv>` as a child of the server; the streams as subprocess.Popen takes
        them (None: this process's own, but stdin is empty; PIPE; DEVNULL; a file; stderr=STDOUT)."""
        if argv[:1] not in (["-m"], ["-c"]) or len(argv) < 2:
            raise ValueError(f"a warm command is `-m module ...` or `-c code ...`, not {argv[:2]}")
        ours: list[int] = []  # this process's ends of pipes, returned as the child's streams
        sent: list[int] = []  # the fds sent to the child; closed here once sent
        devnull = os.open(os.devnull, os.O_RDWR)
        sent.append(devnull)

        def child_end(spec: int | IO[Any] | None, index: int, writing: bool) -> int:
            if spec is None:
                return devnull if index == 0 else index
            if spec == subprocess.DEVNULL:
                return devnull
            if spec == subprocess.PIPE:
                read, write = os.pipe()
                mine, theirs = (read, write) if writing else (write, read)
                ours.append(mine)
                sent.append(theirs)
                return theirs
            if isinstance(spec, int):
                return spec
            return spec.fileno()

        fds = [child_end(stdin, 0, False), child_end(stdout, 1, True)]
        fds.append(fds[1] if stderr == subprocess.STDOUT else child_end(stderr, 2, True))
        request = {
            "argv": argv,
            "env": dict(os.environ if env is None else env),
            "cwd": str(cwd or os.getcwd()),
        }
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.address)
            socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], fds)
        finally:
            for fd in sent:
                os.close(fd)
        streams: list[IO[Any] | None] = []
        for spec, writing in ((stdin, False), (stdout, True), (stderr, True)):
            if spec == subprocess.PIPE:
                fd = ours.pop(0)
                mode = ("r" if writing else "w") + ("" if text else "b")
                streams.append(open(fd, mode, encoding="utf-8" if text else None))  # noqa: SIM115
            else:
                streams.append(None)
        return WarmProcess(connection, *streams)

    def close(self) -> None:
        if self._server.poll() is None:
            assert self._server.stdin is not None
            self._server.stdin.close()
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
        with contextlib.suppress(OSError):
            os.unlink(self.address)
            os.rmdir(self._folder)

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WarmProcess:
    """A command started by a Launcher: what subprocess.Popen offers that the callers use, and the
    child's resource use once it ended (`usage`: user and system CPU-seconds, peak KiB)."""

    def __init__(
        self, connection: socket.socket, stdin: IO[Any] | None, stdout: IO[Any] | None, stderr: IO[Any] | None
    ) -> None:
        self._connection = connection
        self._buffer = b""
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.returncode: int | None = None
        self.usage: dict[str, float] = {}
        self.pid = int(self._line(None).split()[1])

    def _line(self, timeout: float | None) -> str:
        self._connection.settimeout(timeout)
        while b"\n" not in self._buffer:
            chunk = self._connection.recv(_STATUS_BYTES)
            if not chunk:
                raise RuntimeError("the warm launcher went away")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _ended(self, line: str) -> int:
        _, status, user, system, peak = line.split()
        self.returncode = os.waitstatus_to_exitcode(int(status))
        self.usage = {"user": float(user), "system": float(system), "peak_kib": float(peak)}
        self._connection.close()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(TimeoutError, BlockingIOError):
                return self._ended(self._line(0))
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self._ended(self._line(timeout))
            except TimeoutError:
                raise subprocess.TimeoutExpired(["warm", str(self.pid)], timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        """Read stdout and stderr to their ends, then wait, as subprocess.Popen.communicate."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.stdin is not None:
            self.stdin.close()
        chunks: dict[int, list[bytes]] = {}
        with selectors.DefaultSelector() as selector:
            for stream in (self.stdout, self.stderr):
                if stream is not None:
                    selector.register(stream.fileno(), selectors.EVENT_READ)
                    chunks[stream.fileno()] = []
            while selector.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(["warm", str(self.pid)], timeout or 0)
                for key, _ in selector.select(left):
                    data = os.read(key.fd, 1 << 16)
                    if data:
                        chunks[key.fd].append(data)
                    else:  # the end of the stream
                        selector.unregister(key.fd)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        self.wait(left)
        joined: list[Any] = []
        for stream in (self.stdout, self.stderr):
            if stream is None:
                joined.append(None)
                continue
            data = b"".join(chunks[stream.fileno()])
            joined.append(
                data.decode("utf-8", errors="replace") if isinstance(stream, io.TextIOBase) else data
            )
            stream.close()
        return joined[0], joined[1]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_shared: Launcher | None = None


def shared() -> Launcher:
    """This process's launcher, started on first use."""
    global _shared
    if _shared is None:
        _shared = Launcher()
    return _shared


# The server side ------------------------------------------------------------------------------


def _run_child(argv: list[str]) -> int:
    """Run `python <argv>` in this (forked) process; its exit code."""
    flag, target, *args = argv
    try:
        if flag == "-m":
            sys.argv = [target, *args]  # runpy sets argv[0] to the module's file
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *args]
            exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as stop:
        if stop.code is None:
            return 0
        if isinstance(stop.code, int):
            return stop.code
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _fork(request: dict, fds: list[int], listener: socket.socket, connections: list[socket.socket]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        listener.close()
        for connection in connections:
            connection.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds):
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]  # as `python -m` / `-c` put the working folder first
        code = _run_child(request["argv"])
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(address: str, preload: list[str]) -> None:
    for module in preload:
        __import__(module)
    gc.freeze()  # the imported objects: never collected in a child, so never copied into it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    children: dict[int, socket.socket] = {}
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    with selectors.DefaultSelector() as selector:
        selector.register(listener, selectors.EVENT_READ)
        selector.register(sys.stdin, selectors.EVENT_READ)  # closed by the owner: stop
        running = True
        while running or children:
            for key, _ in selector.select(0.02):
                if key.fileobj is sys.stdin:
                    running = False
                    selector.unregister(sys.stdin)
                    continue
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
                pid = _fork(json.loads(message), fds, listener, list(children.values()))
                for fd in fds:
                    os.close(fd)
                connection.sendall(f"pid {pid}\n".encode())
                children[pid] = connection
            while children:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
                if not pid:
                    break
                connection = children.pop(pid)
                with contextlib.suppress(OSError):
                    connection.sendall(
                        f"exit {status} {usage.ru_utime} {usage.ru_stime} {usage.ru_maxrss}\n".encode()
                    )
                connection.close()
    listener.close()
    sys.stdout.flush()
    os._exit(0)  # no interpreter shutdown: the frozen imports are never freed, nor need to be


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])

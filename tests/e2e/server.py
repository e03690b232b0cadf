"""Run ``xborder serve`` as a real subprocess, for suites that need real HTTP.

Typical use, in a test module::

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        with running_server(tmp_path_factory.mktemp("server")) as running:
            yield running

``running_server`` starts the server on a free port of 127.0.0.1 and waits until
``GET /health`` answers 200. On the way out it stops the server with SIGTERM and, when the
block ended normally, raises :class:`ServerError` unless the exit code was 0 (``check_exit``
turns that off for a test that asserts on the exit code itself). The server is
killed whatever happens (a failed start, a failed test, a server that ignores SIGTERM), and an
``atexit`` hook kills any server left over if the test process itself is torn down early.

The server's standard error (its JSON-lines log) goes to ``<workdir>/server-<port>.log`` and
its standard output to ``server-<port>.out``, so several servers can share one directory.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
POLL_INTERVAL = 0.05
PORT_ATTEMPTS = 3

UNSIGNED: Mapping[str, str] = {"XBORDER_AUTH": "off"}
"""Environment for suites about HTTP behaviour rather than authentication: D11's explicitly
switched-on development mode, in which unsigned sandbox requests are admitted. Settings
that a server does not know are ignored, so this is harmless on a build without D11."""

_live: set[subprocess.Popen[bytes]] = set()


class ServerError(RuntimeError):
    """The server did not start, or did not stop cleanly; the message ends with its log."""


@dataclass
class ServerProcess:
    """A running ``xborder serve`` and where its log goes."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with ``/``)."""
        return self.base_url + path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self, *, strict: bool = True) -> list[dict[str, Any]]:
        """The log lines, parsed. A line that is not JSON raises ``ValueError``, or is
        skipped when ``strict`` is off."""
        records = []
        for line in filter(str.strip, self.log_text().splitlines()):
            try:
                records.append(json.loads(line))
            except ValueError:
                if strict:
                    raise
        return records

    def rss_kib(self) -> int:
        """The resident set size (``VmRSS`` of /proc/PID/status), in KiB, of the process
        started: the server itself with one worker, the supervisor with several."""
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1])

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM to the server (as an orchestrator sends it), wait up to ``timeout`` s, then
        SIGKILL to its whole process group. Returns the exit code (negative for a signal, as
        ``subprocess`` reports it); calling it again is harmless."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.kill()  # a no-op after a clean exit; else nothing of the server may outlive us
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL to the server's process group (worker processes included), and reap."""
        _kill_group(self.process)

    def failure(self, what: str) -> ServerError:
        """A :class:`ServerError` carrying the tail of the log."""
        return ServerError(f"{what}\n--- server log (tail) ---\n{self.log_text()[-4000:]}")


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def server_command() -> list[str]:
    """The ``xborder`` script of the running interpreter's environment (``-m`` otherwise)."""
    script = Path(sys.executable).parent / "xborder"
    return [str(script)] if script.exists() else [sys.executable, "-m", "xborder"]


def start_server(
    workdir: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    ready_timeout: float = READY_TIMEOUT,
) -> ServerProcess:
    """Start ``xborder serve`` with its data directory in ``workdir`` and wait until ready.

    Args:
        workdir: holds ``data/`` and the log file.
        database_url: ``--database-url``; the default is SQLite in ``workdir/data``.
        env: extra environment (``XBORDER_*`` settings); the caller's ``XBORDER_*`` never leak.
        args: more ``serve`` options, e.g. ``("--workers", "2")``.
        ready_timeout: seconds to wait for ``GET /health`` to answer 200.
    """
    for _ in range(PORT_ATTEMPTS):
        server = _spawn(workdir, free_port(), [*_options(database_url), *args], env)
        try:
            _wait_until_ready(server, ready_timeout)
        except _PortTaken:
            continue  # another process took the port between probe and bind
        return server
    raise ServerError(f"no free port found in {PORT_ATTEMPTS} attempts")


@contextlib.contextmanager
def running_server(
    workdir: Path,
    *,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    check_exit: bool = True,
) -> Iterator[ServerProcess]:
    """A started server, stopped with SIGTERM on exit.

    With ``check_exit`` (the default), an exit code other than 0 after a block that ended
    normally raises :class:`ServerError`; a test that asserts on the exit code itself turns
    it off.
    """
    server = start_server(workdir, database_url=database_url, env=env, args=args)
    try:
        yield server
    finally:
        code = server.stop()
    if check_exit and code != 0:
        raise server.failure(f"server exited with code {code} after SIGTERM")


class _PortTaken(Exception):
    pass


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XBORDER_")}
    env.update(extra or {})
    return env


def _options(database_url: str | None) -> list[str]:
    return ["--database-url", database_url] if database_url else []


def _spawn(
    workdir: Path, port: int, options: Sequence[str], env: Mapping[str, str] | None
) -> ServerProcess:
    args = ["serve", "--host", HOST, "--port", str(port), "--data-dir", str(workdir / "data")]
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"server-{port}.log"
    # The child keeps its own copies of the descriptors.
    with log_path.open("wb") as log, log_path.with_suffix(".out").open("wb") as out:
        process = subprocess.Popen(
            [*server_command(), *args, *options],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=log,
            env=_environment(env),
            start_new_session=True,  # its own process group: workers can be killed with it
        )
    _live.add(process)
    return ServerProcess(process, port, log_path)


def _wait_until_ready(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if _healthy(client, server):
                return
            try:
                code = server.process.wait(POLL_INTERVAL)  # the poll interval, and a death check
            except subprocess.TimeoutExpired:
                continue
            server.kill()
            if "address already in use" in server.log_text():
                raise _PortTaken
            raise server.failure(f"server exited with code {code} before it was ready")
    server.kill()
    raise server.failure(f"server not ready after {timeout} s")


def _healthy(client: httpx.Client, server: ServerProcess) -> bool:
    try:
        return client.get(server.url("/health")).status_code == 200
    except httpx.TransportError:
        return False


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _live.discard(process)


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_live):
        _kill_group(process)

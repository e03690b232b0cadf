"""A minimal ``xborder serve`` starter, used only when ``tests/e2e/server.py`` is absent."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Started:
    base_url: str


@contextlib.contextmanager
def running_server(workdir: Path) -> Iterator[Started]:
    """Start the server on a free port of 127.0.0.1 and wait for ``GET /health``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(sys.executable).parent / "xborder"
    args = [
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(workdir / "data"),
    ]
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen([str(script), *args], stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait(base_url, process)
        yield Started(base_url)
    finally:
        process.terminate()
        process.wait(15)


def _wait(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"xborder serve exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError("xborder serve did not become ready")

"""WireMock's static stub of the cancel call: the reference issue 12 compares xborder with.

WireMock is what teams use today to fake the Cross-Border Services API: a constant answer,
no state, no signature check. The benchmark serves one stub mapping,
``POST /send/v1/partners/{any}/crossborder/{any}/cancel`` answering 200
``{"cancelpayment":{"status":"SUCCESS"}}`` (JSON), and drives it with the same wrk settings and
the same kind of requests as the unsigned xborder cancel run beside it.

The jar: ``XBENCH_WIREMOCK_JAR``, else the standalone jar bundled by the npm package
``wiremock`` (:data:`VERSION`) under ``bench/.work/wiremock``; when neither is there the
benchmark runs ``npm install --prefix bench/.work/wiremock wiremock@3.13.2`` once (the only
thing it installs, and it says so). It needs ``java`` (17 or later) and ``npm``; without them
the WireMock run is skipped with a note.

Flags chosen for throughput (``java -jar wiremock.jar --help``): no request journal (it would
grow with every request), no request logging, synchronous responses (no response thread
pool hand-off), no gzip, answers with a Content-Length like uvicorn's (not chunked), no banner,
no extension scanning, and a fixed container thread pool.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

VERSION = "3.13.2"
WORK = Path(__file__).resolve().parent / ".work" / "wiremock"
CANCEL_PATTERN = "/send/v1/partners/[^/]+/crossborder/[^/]+/cancel"
ANSWER = {"cancelpayment": {"status": "SUCCESS"}}
CONTAINER_THREADS = 16  # Jetty threads; 32 keep-alive connections on 2 cores need no more
READY = "port:"  # WireMock prints its options (``port: <n>``) once it listens
HEALTH = "/__admin/health"


class Unavailable(RuntimeError):
    """WireMock cannot run here (no java, no npm, or the install failed)."""


def find_jar() -> Path | None:
    """The jar named by ``XBENCH_WIREMOCK_JAR``, or the one the npm package bundles."""
    named = os.environ.get("XBENCH_WIREMOCK_JAR")
    if named:
        return Path(named) if Path(named).is_file() else None
    found = sorted((WORK / "node_modules" / "wiremock" / "build").glob("wiremock-standalone-*.jar"))
    return found[-1] if found else None


def ensure_jar(log: Callable[[str], object] = print) -> tuple[Path, str]:
    """The jar, installed with npm first when missing; and how it was found (for the report)."""
    if shutil.which("java") is None:
        raise Unavailable("java is not installed")
    jar = find_jar()
    if jar is not None:
        return jar, f"jar {jar.name} (already there)"
    if os.environ.get("XBENCH_WIREMOCK_JAR"):
        raise Unavailable(f"XBENCH_WIREMOCK_JAR={os.environ['XBENCH_WIREMOCK_JAR']} is no file")
    if shutil.which("npm") is None:
        raise Unavailable("npm is not installed, and XBENCH_WIREMOCK_JAR is not set")
    WORK.mkdir(parents=True, exist_ok=True)
    command = ["npm", "install", "--prefix", str(WORK), f"wiremock@{VERSION}"]
    log(f"  wiremock: {' '.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    jar = find_jar()
    if done.returncode != 0 or jar is None:
        raise Unavailable(f"npm install failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return jar, f"jar {jar.name}, installed now by `{' '.join(command[:2])} wiremock@{VERSION}`"


def write_root(root: Path) -> Path:
    """A WireMock root directory holding the one stub mapping."""
    mappings = root / "mappings"
    if mappings.exists():
        shutil.rmtree(mappings)
    mappings.mkdir(parents=True)
    stub = {
        "request": {"method": "POST", "urlPathPattern": CANCEL_PATTERN},
        "response": {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(ANSWER, separators=(",", ":")),
        },
    }
    (mappings / "cancel.json").write_text(json.dumps(stub, indent=1))
    (root / "__files").mkdir(exist_ok=True)
    return root


def argv(jar: Path, root: Path, host: str, port: int) -> list[str]:
    return [
        "java", "-jar", str(jar),
        "--bind-address", host, "--port", str(port), "--root-dir", str(root),
        "--no-request-journal", "--disable-request-logging", "--async-response-enabled=false",
        "--container-threads", str(CONTAINER_THREADS), "--disable-gzip", "--disable-banner",
        "--use-chunked-encoding", "never",
        "--disable-extensions-scanning", "--disable-http2-plain",
    ]  # fmt: skip

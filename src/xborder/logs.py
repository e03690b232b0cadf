"""Logging set-up: JSON lines on standard error, nothing secret ever formatted in."""

from __future__ import annotations

import atexit
import collections
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

import orjson

ACCESS_FIELDS = "xborder_access"
"""The log record attribute carrying an access-log line's fields (``xborder.api.access_log``)."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record; access-log records carry their JSON in the message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, ACCESS_FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"), default=str)


class LineWriter(logging.Handler):
    """Formats each record once, on the thread that logs it, and leaves the line in a buffer
    that a writer thread empties every :data:`FLUSH_INTERVAL` seconds with one write: logging
    a request never waits on the terminal, pipe or file behind the stream.

    The logging thread only appends to a deque (thread-safe, and it wakes nobody): waking the
    writer thread for every line, as a queue does, hands it the GIL once per request, at a
    cost comparable to a request's own work. Lines still buffered are written at exit.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._lines: collections.deque[str] = collections.deque()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._write, name="xborder-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def write(self, line: str) -> None:
        """Buffer a line formatted elsewhere (the access log's, :func:`access_writer`)."""
        self._lines.append(line)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - logging never breaks the caller
            self.handleError(record)

    def close(self) -> None:
        if not self._stopping.is_set():
            self._stopping.set()
            self._thread.join(timeout=5)
            self._flush()
        super().close()

    def _write(self) -> None:
        while not self._stopping.wait(FLUSH_INTERVAL):
            self._flush()

    def _flush(self) -> None:
        batch: list[str] = []
        lines = self._lines
        while lines:
            batch.append(lines.popleft())
        if not batch:
            return
        try:
            self._stream.write("\n".join(batch) + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # the stream is gone (closed at shutdown)
            pass


FLUSH_INTERVAL = 0.05
"""Seconds between two writes of the buffered log lines."""


def configure_logging(level: str = "info") -> None:
    """Send xborder's and the server's logs to stderr as JSON lines (see :class:`LineWriter`)."""
    handler = LineWriter(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, LineWriter):
            old.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def access_writer() -> Callable[[dict[str, object]], None] | None:
    """A function writing one access-log line straight to the log writer, formatted as
    :class:`JsonFormatter` would, without a log record; None when the access log does not
    end in a :class:`LineWriter` configured here (then it goes through :mod:`logging`)."""
    access = logging.getLogger("xborder.access")
    root = logging.getLogger()
    writers = [h for h in root.handlers if isinstance(h, LineWriter)]
    if access.handlers or not access.propagate or len(root.handlers) != 1 or not writers:
        return None
    writer = writers[0]
    encode = orjson.dumps

    def write(fields: dict[str, object]) -> None:
        stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        entry = {"ts": stamp, "level": "info", "logger": "xborder.access", **fields}
        writer.write(encode(entry, default=str).decode())

    return write

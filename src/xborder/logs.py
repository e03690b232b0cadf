"""Logging set-up: JSON lines on standard error, nothing secret ever formatted in."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

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


def configure_logging(level: str = "info") -> None:
    """Send xborder's and the server's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

"""Logging for the server and the commands: one format, bounded lines, a trace level.

No log line is ever longer than a few KB, whatever a client sent or an exception
carries: a failure's message can hold a whole request, and a log that grows by a
megabyte per bad request is a way to fill a disk.
"""

from __future__ import annotations

import logging

# uvicorn's level below DEBUG, accepted by LANDLINE_LOG_LEVEL.
TRACE = 5
MAX_LINE_CHARS = 2000
MAX_RECORD_LINES = 60
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class BoundedFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        lines = text.splitlines() or [""]
        if len(lines) > MAX_RECORD_LINES:
            dropped = len(lines) - MAX_RECORD_LINES
            lines = [
                *lines[: MAX_RECORD_LINES // 2],
                f"... {dropped} lines left out ...",
                *lines[-MAX_RECORD_LINES // 2 :],
            ]
        return "\n".join(_bounded(line) for line in lines)


def _bounded(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]}... ({len(line) - MAX_LINE_CHARS} more characters)"


def configure(level: str) -> None:
    """Send every logger's records, uvicorn's too, through one bounded handler."""
    logging.addLevelName(TRACE, "TRACE")
    handler = logging.StreamHandler()
    handler.setFormatter(BoundedFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(level.upper()))
    # Every start runs the migrations; that nothing was to be done is not news.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))

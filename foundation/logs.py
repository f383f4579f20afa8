"""Logging for every process of the system (web workers, scheduler, commands): one line per event, as text or as
JSON objects (`log_format`), each with the id of the request it belongs to. Personal data is never logged: callers
log ids and route templates, not names, bodies or query strings."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from foundation.settings import Settings

# The id of the request the running code serves ("-" outside a request): set by foundation.web.telemetry.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON object.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, the record's `extra` fields, and
    the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# Loggers that write values at levels the system uses: the SQLite driver's statements (DEBUG), and httpx's and
# httpcore's requests (INFO: the full URL, which for a channel's webhook holds its key).
PARAMETER_LOGGERS = ("aiosqlite", "httpx", "httpcore")


def configure_logging(settings: Settings) -> None:
    """The root logger's level and handler, once per process (when the root has a handler already, such as a test
    runner's, that one is kept, as logging.basicConfig does)."""
    root = logging.getLogger()
    root.setLevel(settings.log_level)
    # Never, whatever the level: the SQLite driver's statements with their values (names, ID numbers, locations), an
    # outgoing request's URL with its key. (SQLAlchemy's own log hides values: foundation.db's engines hide them.)
    for chatty in PARAMETER_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)

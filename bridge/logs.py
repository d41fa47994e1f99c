"""Structured logs: JSON when not on a terminal, and secrets redacted before any output.

Redaction works on keys (token, secret, password, authorization, ...) and on values that
look like credentials inside URLs (``redis://user:pass@host``), wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

REDACTED = "***"
_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|hmac|signature|credential|cookie)",
    re.IGNORECASE,
)
_URL_CREDS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_BEARER = re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    text = _URL_CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def _redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    for key in list(event):
        event[key] = _redact(event[key], "" if key == "event" else key)
    return event


class _RedactingFilter(logging.Filter):
    """The same redaction for stdlib loggers (Celery, uvicorn, requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: _redact(v, str(k)) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        return True


def configure(level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and stdlib logging once per process."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    if not any(isinstance(f, _RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_RedactingFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)

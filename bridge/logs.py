"""Structured logs: JSON when not on a terminal, and secrets redacted before any output.

Redaction works on keys (token, secret, password, authorization, ...) and on values that
look like credentials inside text (``redis://user:pass@host``, ``Bearer xyz``,
``password=xyz``), wherever they appear: in structlog events, in exception tracebacks, and
in the messages of stdlib loggers (Celery, uvicorn, requests), which are rendered the same
way as Brique's own events (JSON or console).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic import SecretStr

REDACTED = "***"
_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|private[_-]?key|auth|hmac|signature|credential"
    r"|cookie)",
    re.IGNORECASE,
)
_URL_CREDS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")
_BEARER = re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<key>[\w.-]*(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|signature)[\"']?)"
    r"(?P<sep>\s*[:=]\s*)(?P<quote>[\"']?)(?P<value>[^\s\"'&,;}]+)",
    re.IGNORECASE,
)
"""``password=xyz`` (DSNs, query strings), ``"access_token": "xyz"`` (JSON text) and
``X-Shopify-Access-Token: xyz`` (headers) inside free text."""


def redact_text(text: str) -> str:
    text = _URL_CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _KEY_VALUE.sub(
        lambda m: (
            m.group(0) if m["value"] == REDACTED else f"{m['key']}{m['sep']}{m['quote']}{REDACTED}"
        ),
        text,
    )


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets replaced by ``***`` (by key name, type and content)."""
    if key and _SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    return value


_redact = redact


def redact_processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    for key in list(event):
        event[key] = _redact(event[key], "" if key in ("event", "exception") else key)
    return event


def _redact_rendered(_logger: Any, _name: str, rendered: Any) -> Any:
    """Last line of defence on the rendered line (e.g. a secret inside an object's repr)."""
    return redact_text(rendered) if isinstance(rendered, str) else rendered


class _RedactingFilter(logging.Filter):
    """Redact a stdlib record's message once formatted, for every handler that sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # let logging report its own formatting error
            return True
        record.msg, record.args = redact_text(message), None
        return True


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")
    return value


def configure(level: str | int = "INFO", json: bool | None = None) -> None:
    """Configure structlog and stdlib logging; calling it again replaces the configuration."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    numeric = _level(level)
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    tail = [
        structlog.processors.format_exc_info,  # before redaction: tracebacks hold URLs too
        redact_processor,
        renderer,
        _redact_rendered,
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            *tail,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_brique", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler._brique = True  # type: ignore[attr-defined]
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                stamp,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
        )
    )
    root.addHandler(handler)
    root.setLevel(numeric)

"""The backends a benchmark runs on: embedded (SQLite + filesystem), PostgreSQL, Redis, RabbitMQ.

Same URLs and environment overrides as the test suite, so ``make bench`` measures what
``make test`` exercises. A service that is not reachable is skipped with a printed reason
rather than failing the run: the figures that can be measured are still worth having.
Everything created here (databases, queues) is removed again, even when a benchmark fails.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support import POSTGRES_ADMIN, RABBITMQ_URL, REDIS_URL, fresh_postgres


@dataclass(frozen=True)
class Backend:
    """A database and a broker; ``None`` means the embedded default for that part."""

    name: str
    postgres: bool = False
    broker_url: str | None = None


EMBEDDED = Backend("embedded (SQLite + filesystem)")
PG_REDIS = Backend("PostgreSQL + Redis", postgres=True, broker_url=REDIS_URL)
PG_RABBITMQ = Backend("PostgreSQL + RabbitMQ", postgres=True, broker_url=RABBITMQ_URL)


def port_open(url: str, default_port: int, timeout: float = 1.0) -> bool:
    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=timeout
        ):
            return True
    except OSError:
        return False


def unavailable(backend: Backend) -> str | None:
    """Why ``backend`` cannot run here, or None when every service it needs answers."""
    if backend.postgres and not port_open(POSTGRES_ADMIN, 5432):
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN}"
    url = backend.broker_url
    if url and url.startswith("redis") and not port_open(url, 6379):
        return f"Redis is not reachable at {url}"
    if url and url.startswith("amqp") and not port_open(url, 5672):
        return f"RabbitMQ is not reachable at {url}"
    return None


@contextmanager
def database(backend: Backend, folder: Path) -> Iterator[str]:
    """A fresh database URL for one measurement: a SQLite file, or a PostgreSQL database
    created for it and dropped afterwards (``WITH (FORCE)`` also ends stray connections)."""
    if not backend.postgres:
        yield f"sqlite:///{folder / 'brique.sqlite3'}"
        return
    with fresh_postgres("brique_bench_") as url:
        yield url


def across(
    bench: str, backends: Sequence[Backend], what: str, measure: Callable[[Backend], dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str]]:
    """Measure each backend: rows, plus the ones skipped (service down) and failed, by name.

    A backend that fails is reported and the others still run.
    """
    from benchmarks.report import note

    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    for backend in backends:
        why = unavailable(backend)
        if why:
            note(f"{bench}: skipping {backend.name}: {why}")
            skipped[backend.name] = why
            continue
        note(f"{bench}: {what} on {backend.name}")
        try:
            rows.append(measure(backend))
        except RuntimeError as exc:
            note(f"{bench}: {backend.name} FAILED: {exc}")
            failed[backend.name] = str(exc)
    return rows, skipped, failed

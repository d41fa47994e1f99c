"""Shared fixtures: databases and brokers (embedded, PostgreSQL, Redis, RabbitMQ)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from sqlalchemy.engine import make_url

from tests.support import (
    POSTGRES_ADMIN,
    RABBITMQ_URL,
    REDIS_URL,
    fresh_postgres,
    need,
    port_open,
)


def _postgres_up() -> bool:
    url = make_url(POSTGRES_ADMIN)
    return port_open(url.host or "127.0.0.1", url.port or 5432)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    need(_postgres_up(), f"PostgreSQL is not reachable at {POSTGRES_ADMIN}")
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    url = make_url(REDIS_URL.replace("redis://", "redis+x://"))
    need(
        port_open(url.host or "127.0.0.1", url.port or 6379),
        f"Redis is not reachable at {REDIS_URL}",
    )
    return REDIS_URL


@pytest.fixture
def rabbitmq_url() -> str:
    need(port_open("127.0.0.1", 5672), f"RabbitMQ is not reachable at {RABBITMQ_URL}")
    return RABBITMQ_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Commands configure logging for their process; undo it between tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    structlog.reset_defaults()

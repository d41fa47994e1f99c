"""Fixtures for the Magento 2 connector tests; the scripted installation is in magento_fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.connector import ConnectorContext
from bridge.http import without_backoff
from connectors.magento2 import Magento2Connector
from tests.magento2.magento_fakes import FakeMagento, make_config


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    """``bridge.http`` retries transient failures three times; the tests keep the retries
    and skip the waiting."""
    with without_backoff():
        yield


@pytest.fixture
def context() -> ConnectorContext:
    return ConnectorContext(connection="webshop")


@pytest.fixture
def connector(context: ConnectorContext) -> Iterator[Magento2Connector]:
    conn = Magento2Connector(make_config(), context)
    yield conn
    conn.close()


@pytest.fixture
def shop() -> Iterator[FakeMagento]:
    """An empty scripted installation answering every call; tests add what they need."""
    fake = FakeMagento()
    with fake.serving():
        yield fake

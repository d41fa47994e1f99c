"""The real connector against the local Shopify test double, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from bridge.errors import AuthError, RateLimited
from connectors.shopify import ShopifyConfig, ShopifyConnector
from connectors.shopify.sandbox import SandboxServer, demo_seed

TOKEN = "shpat_sandbox_test"
WAREHOUSE = "gid://shopify/Location/1001"
STORE = "gid://shopify/Location/1002"


def seed(skus: int, locations: int = 2) -> dict[str, Any]:
    return {
        "shop": {"name": "Sandbox test shop"},
        "locations": [
            {"id": f"gid://shopify/Location/{1001 + n}", "name": f"Location {n}"}
            for n in range(locations)
        ],
        "variants": {
            f"SKU-{n:05d}": f"gid://shopify/InventoryItem/{40000 + n}" for n in range(skus)
        },
        "levels": [{"sku": "SKU-00001", "location": WAREHOUSE, "available": 3}],
    }


def connect(server: SandboxServer, **overrides: Any) -> ShopifyConnector:
    settings: dict[str, Any] = {"shop_url": server.url, "access_token": TOKEN}
    settings.update(overrides)
    return ShopifyConnector(
        ShopifyConfig.model_validate(settings), ConnectorContext(connection="sandbox")
    )


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed(20), access_token=TOKEN) as server:
        yield server


def test_check_and_wrong_token(sandbox: SandboxServer) -> None:
    connect(sandbox).check()
    with pytest.raises(AuthError):
        connect(sandbox, access_token="shpat_wrong").check()
    assert sandbox.state.stats["unauthorized"] == 1


def test_write_then_read_back(sandbox: SandboxServer) -> None:
    conn = connect(sandbox)
    items = [
        StockWrite(sku="SKU-00001", location=WAREHOUSE, quantity=Decimal(12), previous=Decimal(3)),
        StockWrite(sku="SKU-00002", location=STORE, quantity=Decimal(4)),
        StockWrite(sku="SKU-00404", location=STORE, quantity=Decimal(4)),
    ]
    result = conn.write("stock", WriteBatch("w-1", items, reference="Ticket/S12/tx/0042"))
    assert result.written == 2
    assert list(result.failed) == [f"SKU-00404@{STORE}"]
    found = conn.read_stock([("SKU-00001", WAREHOUSE), ("SKU-00002", STORE), ("SKU-00003", STORE)])
    assert found == {
        ("SKU-00001", WAREHOUSE): Decimal(12),
        ("SKU-00002", STORE): Decimal(4),
        ("SKU-00003", STORE): Decimal(0),
    }
    levels = requests.get(f"{sandbox.url}/sandbox/levels", timeout=5).json()
    assert {"sku": "SKU-00001", "location": WAREHOUSE, "available": 12}.items() <= next(
        row for row in levels if row["sku"] == "SKU-00001" and row["location"] == WAREHOUSE
    ).items()
    stats = requests.get(f"{sandbox.url}/sandbox/stats", timeout=5).json()
    assert stats["history"][-1]["reference_document_uri"] == "gid://brique/Ticket/S12%2Ftx%2F0042"
    assert stats["writes_applied"] == 2
    page = requests.get(sandbox.url, timeout=5).text
    assert "TEST DOUBLE" in page and "SKU-00001" in page


def test_idempotent_replay_does_not_reapply(sandbox: SandboxServer) -> None:
    conn = connect(sandbox)
    batch = WriteBatch(
        "replay-1",
        [StockWrite(sku="SKU-00001", location=WAREHOUSE, quantity=Decimal(9), previous=Decimal(3))],
    )
    assert conn.write("stock", batch).written == 1
    sandbox.state.set_level("SKU-00001", WAREHOUSE, 8)  # a web sale after our write
    again = conn.write("stock", batch)  # e.g. the worker retried after a lost answer
    assert again.written == 1
    assert sandbox.state.stats["idempotent_replays"] == 1
    assert sandbox.state.stats["writes_applied"] == 1
    assert conn.read_stock([("SKU-00001", WAREHOUSE)]) == {("SKU-00001", WAREHOUSE): Decimal(8)}


def test_stale_quantity_is_reported_and_the_rest_written(sandbox: SandboxServer) -> None:
    conn = connect(sandbox)
    sandbox.state.set_level("SKU-00002", WAREHOUSE, 5)  # Brique still believes 0
    items = [
        StockWrite(sku="SKU-00002", location=WAREHOUSE, quantity=Decimal(10), previous=Decimal(0)),
        StockWrite(sku="SKU-00003", location=WAREHOUSE, quantity=Decimal(1), previous=Decimal(0)),
    ]
    result = conn.write("stock", WriteBatch("stale-1", items))
    assert result.written == 1 and result.failed == {}
    assert result.stale == {f"SKU-00002@{WAREHOUSE}": Decimal(5)}
    errors = [entry["errors"] for entry in sandbox.state.history]
    assert errors == [["CHANGE_FROM_QUANTITY_STALE"], []]
    # Never forced: what the shop holds stays until Brique recomputes from its ledger.
    assert conn.read_stock([("SKU-00002", WAREHOUSE), ("SKU-00003", WAREHOUSE)]) == {
        ("SKU-00002", WAREHOUSE): Decimal(5),
        ("SKU-00003", WAREHOUSE): Decimal(1),
    }


def test_large_push_is_never_throttled_thanks_to_the_client_limiter() -> None:
    # 1,000 SKUs x 3 locations = 3,000 writes; SKU lookups alone cost ~2,000 points, twice
    # the bucket, so without pacing the sandbox would answer THROTTLED.
    with SandboxServer(
        seed(1000, locations=3), access_token=TOKEN, max_available=1000, restore_rate=200
    ) as server:
        conn = connect(server, cost_restore_rate=200)
        items = [
            StockWrite(
                sku=f"SKU-{n:05d}",
                location=f"gid://shopify/Location/{1001 + loc}",
                quantity=Decimal(n % 50 + loc),
            )
            for n in range(1000)
            for loc in range(3)
        ]
        result = conn.write("stock", WriteBatch("big-push", items, reference="nightly-full"))
        assert result.written == 3000 and result.failed == {}
        stats = server.state.snapshot()
        assert stats["throttled"] == 0
        assert conn.graphql.throttled == 0
        assert stats["cost_used"] > 1000  # the bucket was emptied and refilled: pacing mattered
        assert stats["writes_applied"] == 3000
        assert len([h for h in stats["history"] if not h["replayed"]]) == 12
        assert conn.read_stock([("SKU-00999", "gid://shopify/Location/1003")]) == {
            ("SKU-00999", "gid://shopify/Location/1003"): Decimal(49 + 2)
        }


def test_without_the_client_limiter_the_same_push_is_throttled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control for the test above: the sandbox really enforces its bucket."""
    with SandboxServer(
        seed(1000, locations=1), access_token=TOKEN, max_available=1000, restore_rate=200
    ) as server:
        conn = connect(server)
        monkeypatch.setattr(conn.graphql, "_acquire", lambda cost: None)
        items = [
            StockWrite(sku=f"SKU-{n:05d}", location=WAREHOUSE, quantity=Decimal(1))
            for n in range(1000)
        ]
        with pytest.raises(RateLimited):
            conn.write("stock", WriteBatch("unpaced", items))
        assert server.state.stats["throttled"] >= 1


def test_sandbox_server_stops_cleanly() -> None:
    server = SandboxServer(demo_seed(), access_token=TOKEN).start()
    url = server.url
    assert requests.get(f"{url}/sandbox/levels", timeout=5).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/sandbox/levels", timeout=2)

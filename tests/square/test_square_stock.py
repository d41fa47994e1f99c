"""Stock out (BatchChangeInventory PHYSICAL_COUNT) and in (BatchRetrieveInventoryCounts)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from bridge.errors import DataError
from connectors.square import SquareConnector
from connectors.square.connector import MAX_CHANGES, VARIATION_ENTITY
from tests.square.conftest import FixedClock
from tests.square.square_fake import (
    ITEM_COFFEE,
    ITEM_SHIRT,
    LOC_NY,
    LOC_TOKYO,
    FakeSquare,
    settings,
)


def catalog(square: FakeSquare, count: int) -> list[str]:
    skus = {f"VAR{n:020d}": f"SKU-{n:05d}" for n in range(count)}
    square.add_variations(skus)
    return sorted(skus.values())


def writes(skus: list[str], location: str = LOC_NY) -> list[StockWrite]:
    return [
        StockWrite(sku=s, location=location, quantity=Decimal(n % 9)) for n, s in enumerate(skus)
    ]


def batch_creates(square: FakeSquare) -> list[dict]:
    return [c[2] for c in square.calls if c[1] == "/v2/inventory/changes/batch-create"]


def test_counts_go_out_as_documented_physical_counts(
    connector: SquareConnector, square: FakeSquare
) -> None:
    batch = WriteBatch(
        "tills:stock:5f1c",
        [
            StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal("12")),
            StockWrite(sku="COFFEE-HOUSE-LB", location=LOC_NY, quantity=Decimal("3.250")),
        ],
        reference="Ticket/LQXDZ2N3P7S2A/tx/CAISENgvlJ6jLWAzERDzjyHVybY",
    )
    result = connector.write("stock", batch)
    assert result.written == 2 and not result.failed
    assert result.observed == {
        f"LINEN-L-SAND@{LOC_NY}": Decimal(12),
        f"COFFEE-HOUSE-LB@{LOC_NY}": Decimal("3.25"),
    }
    (body,) = batch_creates(square)
    assert body["idempotency_key"] == "tills:stock:5f1c#0"
    assert body["ignore_unchanged_counts"] is True
    assert body["changes"][0] == {
        "type": "PHYSICAL_COUNT",
        "physical_count": {
            "catalog_object_id": ITEM_SHIRT,
            "state": "IN_STOCK",
            "location_id": LOC_NY,
            "quantity": "12",
            "occurred_at": "2026-11-23T09:00:00.000Z",
            "reference_id": "Ticket/LQXDZ2N3P7S2A/tx/CAISENgvlJ6jLWAzERDzjyHVybY",
        },
    }
    assert body["changes"][1]["physical_count"]["quantity"] == "3.25"
    assert square.counts[(ITEM_COFFEE, LOC_NY)] == Decimal("3.25")


def test_batches_are_split_at_100_changes(connector: SquareConnector, square: FakeSquare) -> None:
    skus = catalog(square, 250)
    result = connector.write("stock", WriteBatch("push-7", writes(skus)))
    assert result.written == 250 and not result.failed
    assert square.sizes == [100, 100, 50]
    assert [b["idempotency_key"] for b in batch_creates(square)] == [
        "push-7#0",
        "push-7#1",
        "push-7#2",
    ]
    # SKUs were looked up in chunks of at most 250 values, then bound.
    searches = [c[2] for c in square.calls if c[1] == "/v2/catalog/search"]
    assert [len(s["query"]["set_query"]["attribute_values"]) for s in searches] == [250]
    assert connector.info.batch_limits == {"stock": MAX_CHANGES}


def test_a_replayed_batch_changes_nothing(connector: SquareConnector, square: FakeSquare) -> None:
    skus = catalog(square, 120)
    batch = WriteBatch("push-8", writes(skus))
    first = connector.write("stock", batch)
    applied = square.applied
    again = connector.write("stock", batch)
    assert square.applied == applied == 120
    assert again.written == first.written == 120
    # Same keys, same bodies: Square answers the first response again.
    bodies = batch_creates(square)
    assert bodies[:2] == bodies[2:]


def test_a_replay_from_another_process_is_recognised(
    square: FakeSquare, context: ConnectorContext
) -> None:
    skus = catalog(square, 3)
    batch = WriteBatch("push-9", writes(skus))
    SquareConnector(settings(), context, clock=FixedClock("2026-11-23T09:00:00+00:00")).write(
        "stock", batch
    )
    later = SquareConnector(settings(), context, clock=FixedClock("2026-11-23T09:05:00+00:00"))
    result = later.write("stock", batch)
    # Another occurred_at under the same key: Square says IDEMPOTENCY_KEY_REUSED, which
    # means this chunk was applied before.
    assert result.written == 3 and not result.failed
    assert square.applied == 3


def test_refused_items_fail_alone_and_the_rest_is_sent_again(
    connector: SquareConnector, square: FakeSquare
) -> None:
    skus = catalog(square, 5)
    square.refuse_items = {"VAR00000000000000000002"}
    result = connector.write("stock", WriteBatch("push-10", writes(skus)))
    assert result.written == 4
    assert list(result.failed) == [f"SKU-00002@{LOC_NY}"]
    assert "INVALID_VALUE" in result.failed[f"SKU-00002@{LOC_NY}"]
    assert "not tracked" in result.failed[f"SKU-00002@{LOC_NY}"]
    keys = [b["idempotency_key"] for b in batch_creates(square)]
    assert keys[0] == "push-10#0"
    assert keys[1].startswith("push-10#0-") and keys[1] != keys[0]
    assert square.sizes == [4]


def test_unknown_and_invalid_items_are_reported_not_raised(
    connector: SquareConnector, square: FakeSquare
) -> None:
    batch = WriteBatch(
        "push-11",
        [
            StockWrite(sku="NO-SUCH-SKU", location=LOC_NY, quantity=Decimal(1)),
            StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal(-2)),
            StockWrite(sku="MATCHA-40G", location=LOC_TOKYO, quantity=Decimal("1.000001")),
            StockWrite(sku="COFFEE-HOUSE-LB", location=LOC_NY, quantity=Decimal("7")),
        ],
    )
    result = connector.write("stock", batch)
    assert result.written == 1
    assert "not found" in result.failed[f"NO-SUCH-SKU@{LOC_NY}"]
    assert "negative" in result.failed[f"LINEN-L-SAND@{LOC_NY}"]
    assert "more than 5 decimals" in result.failed[f"MATCHA-40G@{LOC_TOKYO}"]


def test_a_later_duplicate_wins(connector: SquareConnector, square: FakeSquare) -> None:
    batch = WriteBatch(
        "push-12",
        [
            StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal(-1)),
            StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal(4)),
        ],
    )
    result = connector.write("stock", batch)
    assert result.written == 1 and not result.failed
    assert square.counts[(ITEM_SHIRT, LOC_NY)] == Decimal(4)


def test_skus_are_resolved_once_then_bound(
    connector: SquareConnector, square: FakeSquare, context: ConnectorContext
) -> None:
    item = [StockWrite(sku="linen-l-sand", location=LOC_NY, quantity=Decimal(1))]
    # Square matches SKUs case-insensitively; Brique keeps exact matches only.
    assert "not found" in next(
        iter(connector.write("stock", WriteBatch("a", item)).failed.values())
    )
    item = [StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal(1))]
    connector.write("stock", WriteBatch("b", item))
    connector.write("stock", WriteBatch("c", item))
    assert context.bindings.get_external(VARIATION_ENTITY, "LINEN-L-SAND") == ITEM_SHIRT
    assert len([c for c in square.calls if c[1] == "/v2/catalog/search"]) == 2


def test_a_sku_shared_by_two_variations_is_refused(
    connector: SquareConnector, square: FakeSquare
) -> None:
    square.add_variations({"VARDUPLICATE000000000": "LINEN-L-SAND"})
    item = [StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal(1))]
    result = connector.write("stock", WriteBatch("d", item))
    assert "shared by 2" in result.failed[f"LINEN-L-SAND@{LOC_NY}"]


def test_long_batch_keys_fit_square_128_characters(
    connector: SquareConnector, square: FakeSquare
) -> None:
    key = "a-very-long-connection-name-" * 6 + ":stock:" + "f" * 32
    item = [StockWrite(sku="LINEN-L-SAND", location=LOC_NY, quantity=Decimal(1))]
    result = connector.write("stock", WriteBatch(key, item))
    assert result.written == 1
    (body,) = batch_creates(square)
    assert len(body["idempotency_key"]) <= 128


def test_other_sinks_are_refused(connector: SquareConnector) -> None:
    with pytest.raises(DataError, match="no sink 'prices'"):
        connector.write("prices", WriteBatch("p", []))


def test_read_stock_reads_in_stock_counts(connector: SquareConnector, square: FakeSquare) -> None:
    square.counts[(ITEM_SHIRT, LOC_NY)] = Decimal("9")
    square.counts[(ITEM_COFFEE, LOC_NY)] = Decimal("12.545")
    found = connector.read_stock(
        [
            ("LINEN-L-SAND", LOC_NY),
            ("COFFEE-HOUSE-LB", LOC_NY),
            ("MATCHA-40G", LOC_TOKYO),  # tracked but never counted: left out
            ("NO-SUCH-SKU", LOC_NY),
        ]
    )
    assert found == {
        ("LINEN-L-SAND", LOC_NY): Decimal(9),
        ("COFFEE-HOUSE-LB", LOC_NY): Decimal("12.545"),
    }
    (body,) = [c[2] for c in square.calls if c[1] == "/v2/inventory/counts/batch-retrieve"]
    assert body["states"] == ["IN_STOCK"]
    assert body["limit"] == 1000
    assert sorted(body["location_ids"]) == sorted({LOC_NY, LOC_TOKYO})


def test_read_stock_follows_count_pages(connector: SquareConnector, square: FakeSquare) -> None:
    (sku,) = catalog(square, 1)
    locations = [f"LOC{n:04d}" for n in range(1500)]
    square.counts.update({(f"VAR{0:020d}", loc): Decimal(n) for n, loc in enumerate(locations)})
    found = connector.read_stock([(sku, loc) for loc in locations])
    assert len(found) == 1500
    assert found[(sku, "LOC1499")] == Decimal(1499)
    pages = [c[2] for c in square.calls if c[1] == "/v2/inventory/counts/batch-retrieve"]
    assert [p.get("cursor") for p in pages] == [None, "1000"]

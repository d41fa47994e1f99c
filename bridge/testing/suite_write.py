"""The ``write`` suite: batches respect the platform's limit and a replay changes nothing.

Brique retries a batch whenever it cannot know whether the first try landed (a timeout, a
worker killed mid-call). That is only safe if the same batch, under the same idempotency
key, is recognised by the remote or is a no-op the second time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from bridge.connector import Capability, Connector, StockWrite, WriteBatch
from bridge.testing.base import ContractBase, suite
from bridge.testing.harness import WriteRecorder, require


class WriteSuite(ContractBase):
    stock_location: ClassVar[str] = "contract-location-1"
    """A platform location id the fake remote knows."""

    def stock_writes(self, count: int) -> list[StockWrite]:
        """``count`` distinct stock writes the fake remote accepts; override for real SKUs."""
        return [
            StockWrite(
                sku=f"CONTRACT-{n:05d}", location=self.stock_location, quantity=Decimal(n % 7 + 1)
            )
            for n in range(count)
        ]

    def _limit(self) -> int:
        assert self.connector_class is not None
        limit = self.connector_class.info.batch_limits.get("stock")
        assert isinstance(limit, int) and limit > 0, "declare info.batch_limits['stock']"
        return limit

    @suite("write", needs=Capability.WRITE_STOCK)
    def test_write_splits_batches_at_the_limit(self, connector: Connector, harness: Any) -> None:
        require(harness, WriteRecorder, "write")
        limit = self._limit()
        items = self.stock_writes(2 * limit + 1)
        before = len(harness.write_call_sizes())
        result = connector.write("stock", WriteBatch("contract-split-1", items))
        sizes = harness.write_call_sizes()[before:]
        assert not result.failed, (
            f"the fake remote refused items: {dict(list(result.failed.items())[:3])}"
        )
        assert result.written == len(items), f"wrote {result.written} of {len(items)} items"
        too_big = [size for size in sizes if size > limit]
        assert not too_big, (
            f"write calls carried {too_big} items, above batch_limits['stock'] = {limit}"
        )
        assert sum(sizes) >= len(items), f"write calls carried {sum(sizes)} of {len(items)} items"

    @suite("write", needs=Capability.WRITE_STOCK)
    def test_write_replay_changes_nothing(self, connector: Connector, harness: Any) -> None:
        require(harness, WriteRecorder, "write")
        batch = WriteBatch("contract-replay-1", self.stock_writes(5), reference="StockPush/1")
        connector.write("stock", batch)
        first = harness.applied_changes()
        assert first > 0, "the first write applied no change on the fake remote"
        connector.write("stock", batch)
        again = harness.applied_changes() - first
        assert again == 0, (
            f"writing the same WriteBatch twice (idempotency key {batch.idempotency_key!r}) "
            f"applied {again} more changes: the write is not idempotent"
        )

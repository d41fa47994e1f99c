"""The ``read`` suite: every stream ends, never loops, never repeats a key, and resumes.

A paginator that hands back the same cursor forever is the classic way a sync spins without
error (singer-sdk raises on a repeated page token; so does this kit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.connector import Connector, Page
from bridge.testing.base import ContractBase, suite
from bridge.testing.harness import StreamSource

SEED = 7
"""Records seeded per stream when the harness can seed."""


class ReadSuite(ContractBase):
    def _streams(self, connector: Connector, harness: Any) -> list[str]:
        streams = list(connector.streams())
        if not streams:
            pytest.skip("the connector declares no streams")
        if isinstance(harness, StreamSource):
            for stream in streams:
                harness.seed(stream, SEED)
        return streams

    def _pages(self, connector: Connector, stream: str, cursor: str | None) -> Iterator[Page]:
        """Pages of one read, failing on a loop; each page is committed as the sync would."""
        seen: dict[str, int] = {}
        for number, page in enumerate(connector.read(stream, cursor), start=1):
            if page.cursor is not None:
                if page.cursor in seen:
                    pytest.fail(
                        f"pagination loop in stream {stream!r}: page {number} returned cursor "
                        f"{page.cursor!r} already returned by page {seen[page.cursor]}",
                        pytrace=False,
                    )
                seen[page.cursor] = number
            if number > self.max_pages:
                pytest.fail(
                    f"stream {stream!r} still paging after {self.max_pages} pages: "
                    "pagination loop or a missing end condition",
                    pytrace=False,
                )
            yield page
            if page.on_committed is not None:
                page.on_committed()

    @suite("read")
    def test_read_reaches_the_end_with_unique_keys(
        self, connector: Connector, harness: Any
    ) -> None:
        for stream in self._streams(connector, harness):
            keys: dict[str, int] = {}
            for number, page in enumerate(self._pages(connector, stream, None), start=1):
                for event in page.events:
                    assert event.key not in keys, (
                        f"stream {stream!r}: key {event.key!r} on page {number} was already "
                        f"read on page {keys[event.key]}"
                    )
                    keys[event.key] = number
            if isinstance(harness, StreamSource):
                assert len(keys) >= SEED, (
                    f"stream {stream!r}: read {len(keys)} records, the harness seeded {SEED}"
                )

    @suite("read")
    def test_read_resumes_from_a_cursor(self, connector: Connector, harness: Any) -> None:
        resumed = 0
        for stream in self._streams(connector, harness):
            pages = [
                (p.cursor, [e.key for e in p.events]) for p in self._pages(connector, stream, None)
            ]
            for position, (cursor, _) in enumerate(pages[:-1]):
                if cursor is None:
                    continue
                rest = [k for _, keys in pages[position + 1 :] for k in keys]
                again = [
                    k
                    for p in self._pages(connector, stream, cursor)
                    for k in (e.key for e in p.events)
                ]
                assert again == rest, (
                    f"stream {stream!r}: resuming from cursor {cursor!r} read {again[:5]}..., "
                    f"expected the records after it {rest[:5]}..."
                )
                resumed += 1
                break
        if not resumed:
            pytest.skip("no stream returned a cursor before its last page")

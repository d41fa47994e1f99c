"""The ``orders`` stream: what is read, keyset pages re-anchored on (write_date, id), no skip
when orders change mid-read, no loop, resumable cursors, the overlap for late commits."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bridge.connector import Page
from bridge.errors import ConfigError, TransientError
from connectors.odoo import OdooConnector
from tests.odoo.odoo_fake import FakeOdoo


def poll(connector: OdooConnector, cursor: str | None = None) -> list[Page]:
    """Read to the end, each page acknowledged once "committed", as ``ingest.poll`` does."""
    pages = []
    for page in connector.read("orders", cursor):
        pages.append(page)
        if page.on_committed is not None:
            page.on_committed()
    return pages


def keys(pages: list[Page]) -> list[str]:
    return [event.key for page in pages for event in page.events]


def ids(pages: list[Page]) -> list[int]:
    return [event.payload["id"] for page in pages for event in page.events]


def test_paid_posted_and_invoiced_orders_are_read_drafts_are_not(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    pages = poll(connector)
    assert keys(pages) == [
        "Order 00012-001-0001#101",
        "Order 00012-001-0002#102",
        "Order 00013-001-0001#103",
        "Order 00014-001-0001#105",
    ]
    (call,) = odoo.search_calls("pos.order")[:1]
    assert call["args"][0] == [
        ["state", "in", ["paid", "done", "invoiced"]],
        ["write_date", ">=", "2024-03-01 00:00:00"],
    ]
    assert call["order"] == "write_date asc, id asc"
    assert call["limit"] == 100
    assert {"lines", "payment_ids"}.isdisjoint(call["fields"])  # read per page, not per order
    event = pages[0].events[0]
    assert event.kind == "sale"
    assert event.occurred_at is not None and event.occurred_at.isoformat() == (
        "2024-03-05T09:12:44+00:00"
    )


def test_only_the_configured_points_of_sale_are_read(odoo: FakeOdoo, make) -> None:
    pages = poll(make(config_ids=[2]))
    assert ids(pages) == [105]
    assert ["config_id", "in", [2]] in odoo.search_calls("pos.order")[0]["args"][0]


def test_lines_payments_and_products_are_read_once_per_page(odoo: FakeOdoo, make) -> None:
    connector = make(page_size=2)
    pages = poll(connector)
    assert len(pages) == 2
    per_model = {
        model: len(odoo.search_calls(model))
        for model in ("pos.order", "pos.order.line", "pos.payment", "product.product")
    }
    # Three order queries (two full pages, then an empty one) and one for the order refunded
    # by 103, one line and one payment query per page, products not read before only.
    assert per_model == {
        "pos.order": 4,
        "pos.order.line": 2,
        "pos.payment": 2,
        "product.product": 2,
    }
    second = odoo.search_calls("product.product")[1]["args"][0]
    assert second == [["id", "in", [35]]]  # 31 was read with the first page already
    assert len(odoo.search_calls("res.currency")) == 1
    assert [c["model"] for c in odoo.calls if c["method"] == "fields_get"] == [
        "pos.order",
        "pos.order.line",
        "pos.payment",
        "product.product",
        "res.partner",
    ]
    odoo.calls.clear()
    odoo.touch(101, "2024-03-07 08:00:00")
    poll(connector, pages[-1].cursor)
    assert not odoo.search_calls("product.product")  # known products are not read again
    assert not [c for c in odoo.calls if c["method"] == "fields_get"]


def test_a_second_full_of_orders_is_paged_by_id_without_skip_or_repeat(
    odoo: FakeOdoo, make
) -> None:
    """Odoo answers whole seconds but sorts on microseconds: within one second, the order
    of the rows is not the order of their ids. The anchor is the second plus the ids read."""
    for order_id, micro in [(510, 900_000), (505, 100_000), (507, 500_000), (502, 700_000)]:
        odoo.add_order(order_id, "2024-03-06 11:00:00", microsecond=micro)
    odoo.add_order(520, "2024-03-06 11:00:01")
    pages = poll(make(page_size=2, start_at="2024-03-06 10:30:00Z"))
    assert ids(pages) == [505, 507, 502, 510, 520]
    cursors = [json.loads(p.cursor) for p in pages if p.cursor]
    assert cursors[0] == {
        "since": "2024-03-06 11:00:00",
        "at": "2024-03-06 11:00:00",
        "ids": [505, 507],
    }
    queries = [c["args"][0] for c in odoo.search_calls("pos.order")]
    assert queries[1][1:] == [
        ["write_date", ">=", "2024-03-06 11:00:00"],
        "|",
        ["write_date", ">=", "2024-03-06 11:00:01"],
        ["id", "not in", [505, 507]],
    ]


def test_orders_changed_during_the_read_are_not_skipped(odoo: FakeOdoo, make) -> None:
    """With offsets, an order rewritten mid-read leaves its place and every later order moves
    up one: the next offset starts past one of them. Keyset pages see them all."""
    for n in range(8):
        odoo.add_order(600 + n, f"2024-03-06 12:00:{n:02d}")
    reads = 0

    def rewrite(fake: FakeOdoo) -> None:
        nonlocal reads
        reads += 1
        if reads == 2:  # after the first page: one order read, one not yet read, rewritten
            fake.touch(600, "2024-03-06 12:30:00")
            fake.touch(604, "2024-03-06 12:30:00", microsecond=5)

    odoo.on_search = rewrite
    pages = poll(make(page_size=3, start_at="2024-03-06 11:59:00Z"))
    read = ids(pages)
    assert set(read) == set(range(600, 608))
    assert read == [600, 601, 602, 603, 605, 606, 607, 600, 604]  # rewritten: read again last


def test_a_server_ignoring_the_domain_raises_instead_of_looping(odoo: FakeOdoo, make) -> None:
    odoo.ignore_domain = True
    pages: list[Page] = []
    with pytest.raises(TransientError, match="Stopped instead of looping"):
        for page in make(page_size=2).read("orders"):
            pages.append(page)
            assert len(pages) < 10
    assert len(pages) == 1  # the first page is kept: its cursor is right


def test_every_page_cursor_resumes_with_the_rest(odoo: FakeOdoo, make) -> None:
    for n in range(7):
        odoo.add_order(700 + n, f"2024-03-06 13:00:0{n // 3}", microsecond=n)
    connector = make(page_size=2)
    pages = poll(connector)
    read = keys(pages)
    assert len(read) == len(set(read)) == 11
    seen = 0
    for position, page in enumerate(pages):
        seen += len(page.events)
        if page.cursor is None:
            continue
        again = keys(poll(make(page_size=2), page.cursor))
        assert again == read[seen:], f"resuming after page {position + 1}"


def test_a_poll_with_nothing_new_yields_nothing(odoo: FakeOdoo, connector: OdooConnector) -> None:
    pages = poll(connector)
    final = pages[-1].cursor
    assert final is not None
    assert poll(connector, final) == []
    odoo.add_order(800, "2024-03-08 09:00:00")
    again = poll(connector, final)
    assert ids(again) == [800]


def test_the_first_read_starts_now_and_keeps_that_start(odoo: FakeOdoo, make, clock: Any) -> None:
    connector = make(start_at=None, overlap_seconds=120)
    pages = poll(connector)
    assert pages and not keys(pages)
    assert json.loads(pages[-1].cursor) == {"since": "2024-03-07 11:58:00"}
    odoo.add_order(801, "2024-03-07 11:59:30")
    clock.now = clock.now.replace(hour=18)
    assert ids(poll(connector, pages[-1].cursor)) == [801]


def test_late_commits_are_caught_by_the_overlap_and_nothing_is_emitted_twice(
    odoo: FakeOdoo, make
) -> None:
    """``write_date`` is the transaction's start: an order committed late can be dated
    before orders already read."""
    connector = make(overlap_seconds=60)
    first = poll(connector)
    final = json.loads(first[-1].cursor)
    assert final == {"since": "2024-03-06 10:04:00", "at": "2024-03-06 10:05:00", "ids": [105]}
    odoo.add_order(900, "2024-03-06 10:04:30")  # committed now, dated 30 s before 105
    second = poll(connector, first[-1].cursor)
    assert ids(second) == [900]
    # After a restart the process has forgotten what it emitted: the overlap comes again,
    # and the inbox drops what it already holds (same keys).
    restarted = poll(make(overlap_seconds=60), second[-1].cursor)
    assert ids(restarted) == [900, 105]
    assert set(keys(restarted)) <= set(keys(first) + keys(second))


def test_a_page_whose_commit_failed_is_emitted_again_even_from_the_overlap(
    odoo: FakeOdoo, make
) -> None:
    connector = make(overlap_seconds=60)
    first = poll(connector)
    odoo.add_order(901, "2024-03-06 10:04:30")
    lost = list(connector.read("orders", first[-1].cursor))  # never acknowledged
    assert ids(lost) == [901]
    assert ids(poll(connector, first[-1].cursor)) == [901]


def test_a_rewritten_order_keeps_its_key(odoo: FakeOdoo, connector: OdooConnector) -> None:
    first = poll(connector)
    odoo.touch(102, "2024-03-07 18:00:00")  # posted by the session closing
    odoo.tables["pos.order"][102]["state"] = "done"
    again = poll(connector, first[-1].cursor)
    assert keys(again) == ["Order 00012-001-0002#102"]
    assert again[0].events[0].payload["state"] == "done"


def test_an_unreadable_cursor_is_a_config_error(connector: OdooConnector) -> None:
    with pytest.raises(ConfigError, match="unreadable orders cursor"):
        poll(connector, '{"since": "yesterday"}')
    with pytest.raises(ConfigError):
        poll(connector, "not json")


def test_an_older_odoo_without_optional_fields_is_read_with_what_it_has(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.hidden = {
        "pos.order.line": {"refunded_orderline_id", "full_product_name"},
        "pos.payment": {"is_change"},
        "res.partner": {"barcode", "mobile"},
    }
    pages = poll(connector)
    assert len(keys(pages)) == 4
    line_fields = odoo.search_calls("pos.order.line")[0]["fields"]
    assert "refunded_orderline_id" not in line_fields and "qty" in line_fields
    refund = next(e for p in pages for e in p.events if e.payload["id"] == 103)
    (sale,) = connector.decode(refund)
    assert sale.sale.lines[0].is_return and sale.sale.lines[0].link is None


def test_a_missing_required_field_is_a_config_error(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.hidden = {"pos.order": {"write_date"}}
    with pytest.raises(ConfigError, match=r"pos\.order has no field write_date"):
        poll(connector)


def test_an_order_that_cannot_be_completed_is_rejected_the_others_go_on(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.tables["pos.order"][102]["currency_id"] = [99, "XXX"]
    pages = poll(connector)
    assert ids(pages) == [101, 103, 105]
    (rejection,) = [r for p in pages for r in p.rejections]
    assert "pos.order 102" in rejection.source and "currency" in rejection.error


def test_a_product_without_internal_reference_is_noted_once(
    odoo: FakeOdoo, connector: OdooConnector, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        pages = poll(connector)
        odoo.touch(101, "2024-03-08 09:00:00")
        poll(connector, pages[-1].cursor)
    line = pages[0].events[0].payload["lines"][1]
    assert line["sku"] is None and "no Internal Reference" in line["sku_note"]
    assert sum("no Internal Reference" in r.message for r in caplog.records) == 1

"""The ``orders`` stream: SearchOrders as documented, cursor pages to the end, no loops."""

from __future__ import annotations

import json

import pytest
import responses

from bridge.connector import ConnectorContext
from bridge.errors import ConfigError, DataError, TransientError
from connectors.square import SquareConnector
from tests.square.conftest import FixedClock
from tests.square.square_fake import (
    BASE_URL,
    LOC_NY,
    LOC_PARIS,
    LOC_TOKYO,
    FakeSquare,
    load,
    settings,
)

SEARCH_URL = BASE_URL + "/v2/orders/search"


def keys(pages) -> list[str]:
    return [e.key for p in pages for e in p.events]


def test_search_request_follows_the_documented_shape(
    connector: SquareConnector, square: FakeSquare
) -> None:
    square.add_order(load("order_card_cash.json"))
    pages = list(connector.read("orders"))
    assert keys(pages) == ["CAISENgvlJ6jLWAzERDzjyHVybY@v4"]
    (call,) = [c for c in square.calls if c[1] == "/v2/orders/search"]
    assert call[2] == {
        "location_ids": [LOC_NY, LOC_TOKYO],
        "query": {
            "filter": {
                "state_filter": {"states": ["COMPLETED"]},
                "date_time_filter": {"updated_at": {"start_at": "2026-11-01T00:00:00.000Z"}},
            },
            # The sort field must be the field the time filter uses.
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        },
        "limit": 500,
        "return_entries": False,
    }
    (event,) = pages[0].events
    assert event.kind == "order"
    assert event.payload["id"] == "CAISENgvlJ6jLWAzERDzjyHVybY"


def test_pages_to_the_end_then_the_next_poll_starts_at_the_last_update(
    square: FakeSquare, context: ConnectorContext
) -> None:
    square.seed("orders", 7)
    conn = SquareConnector(settings(page_size=3, overlap_seconds=60), context)
    pages = list(conn.read("orders"))
    assert [len(p.events) for p in pages] == [3, 3, 1]
    assert len(set(keys(pages))) == 7
    assert [json.loads(p.cursor).keys() for p in pages][:2] == [{"since", "page"}] * 2
    last = json.loads(pages[-1].cursor)
    # The newest order was updated at 08:06:00; the next poll re-reads one minute before it.
    assert last == {"since": "2026-11-20T08:05:00.000Z"}
    square.seed("orders", 2)
    again = list(conn.read("orders", pages[-1].cursor))
    assert keys(again) == [
        "SEEDORDER00005xxxxxxxxxxxxxxxx@v3",  # the overlap: the inbox already has these two
        "SEEDORDER00006xxxxxxxxxxxxxxxx@v1",
        "SEEDORDER00007xxxxxxxxxxxxxxxx@v2",
        "SEEDORDER00008xxxxxxxxxxxxxxxx@v3",
    ]


def test_a_page_cursor_resumes_the_same_query(square: FakeSquare, context) -> None:
    square.seed("orders", 7)
    conn = SquareConnector(settings(page_size=3), context)
    pages = list(conn.read("orders"))
    rest = keys(list(conn.read("orders", pages[0].cursor)))
    assert rest == keys(pages[1:])


def test_an_expired_page_cursor_restarts_its_query(square: FakeSquare, context) -> None:
    square.seed("orders", 4)
    conn = SquareConnector(settings(page_size=3), context)
    stale = json.dumps({"since": "2026-11-01T00:00:00.000Z", "page": "zzzzzzzz.3"})
    assert len(keys(list(conn.read("orders", stale)))) == 4


def test_a_repeated_cursor_raises_instead_of_looping(square: FakeSquare, context) -> None:
    square.seed("orders", 7)
    square.cursor_loop = True
    conn = SquareConnector(settings(page_size=3), context)
    read = conn.read("orders")
    first = next(read)  # page 1 hands out a cursor; page 2 hands the same one back
    assert len(first.events) == 3
    with pytest.raises(TransientError, match="twice: pagination loop"):
        next(read)


def test_pagination_with_documented_payloads_reaches_the_end(context) -> None:
    """Two SearchOrders pages as Square returns them: ``orders`` + ``cursor``, then none."""
    conn = SquareConnector(settings(), context)
    with responses.RequestsMock() as mock:
        mock.post(
            SEARCH_URL,
            json={"orders": [load("order_card_cash.json")], "cursor": "CURSOR-PAGE-2"},
        )
        mock.post(
            SEARCH_URL,
            json={"orders": [load("order_jpy.json")]},
            match=[
                responses.matchers.json_params_matcher(
                    {"cursor": "CURSOR-PAGE-2"}, strict_match=False
                )
            ],
        )
        pages = list(conn.read("orders"))
    assert keys(pages) == [
        "CAISENgvlJ6jLWAzERDzjyHVybY@v4",
        "r5xGdaqTmv3Dju6zWWbyaq1yvnEZY@2026-11-21T03:11:12.000Z",
    ]
    assert json.loads(pages[0].cursor)["page"] == "CURSOR-PAGE-2"
    assert json.loads(pages[-1].cursor) == {"since": "2026-11-21T03:11:12.000Z"}


def test_the_same_cursor_handed_back_raises(context) -> None:
    conn = SquareConnector(settings(), context)
    with responses.RequestsMock() as mock:
        mock.post(SEARCH_URL, json={"orders": [load("order_jpy.json")], "cursor": "SAME"})
        mock.post(SEARCH_URL, json={"orders": [load("order_card_cash.json")], "cursor": "SAME"})
        read = conn.read("orders")
        assert len(next(read).events) == 1
        with pytest.raises(TransientError, match="SAME"):
            next(read)


def test_an_empty_first_read_still_saves_where_it_started(square: FakeSquare, context) -> None:
    clock = FixedClock("2026-11-23T09:00:00+00:00")
    conn = SquareConnector(settings(start_at=None, overlap_seconds=30), context, clock=clock)
    (page,) = list(conn.read("orders"))
    assert page.events == []
    # No start_at: history is not replayed; the poll starts now, less the overlap.
    assert json.loads(page.cursor) == {"since": "2026-11-23T08:59:30.000Z"}


def test_other_streams_and_bad_cursors_are_refused(connector: SquareConnector) -> None:
    with pytest.raises(DataError, match="no stream"):
        list(connector.read("payments"))
    with pytest.raises(ConfigError, match="unreadable orders cursor"):
        list(connector.read("orders", "not json"))


def test_search_refusal_names_square_code(context) -> None:
    conn = SquareConnector(settings(), context)
    with responses.RequestsMock() as mock:
        mock.post(SEARCH_URL, status=400, json=load("error_invalid_request.json"))
        with pytest.raises(DataError, match="INVALID_TIME: Invalid time") as caught:
            list(conn.read("orders"))
    assert "query.filter.date_time_filter.updated_at.start_at" in str(caught.value)


def test_locations_outside_the_configuration_are_not_read(square: FakeSquare, context) -> None:
    paris = load("order_card_cash.json") | {"location_id": LOC_PARIS, "id": "PARISORDER"}
    square.add_order(paris)
    square.add_order(load("order_jpy.json"))
    conn = SquareConnector(settings(), context)
    assert [e.payload["id"] for p in conn.read("orders") for e in p.events] == [
        "r5xGdaqTmv3Dju6zWWbyaq1yvnEZY"
    ]


def test_an_order_without_identity_is_rejected_not_fatal(context) -> None:
    conn = SquareConnector(settings(), context)
    broken = load("order_jpy.json")
    del broken["updated_at"], broken["closed_at"], broken["created_at"]
    with responses.RequestsMock() as mock:
        mock.post(SEARCH_URL, json={"orders": [broken, load("order_card_cash.json")]})
        (page,) = list(conn.read("orders"))
    assert keys([page]) == ["CAISENgvlJ6jLWAzERDzjyHVybY@v4"]
    (rejection,) = page.rejections
    assert rejection.source == "square order r5xGdaqTmv3Dju6zWWbyaq1yvnEZY"
    assert "neither version nor updated_at" in rejection.error

"""The Tryton connector over the scripted JSON-RPC server: protocol, sales, keyset, stock."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest

from bridge.errors import AuthError, ConfigError, DataError, TransientError
from bridge.model import SaleStatus
from connectors.tryton.rpc import dumps, error_of, loads
from tests.tryton.tryton_fake import PASSWORD, SESSION, UID, USERNAME, FakeTryton


def keys(connector, cursor=None) -> list[str]:
    found = []
    for page in connector.read("sales", cursor):
        found += [e.key for e in page.events]
        if page.on_committed:
            page.on_committed()
    return found


def test_typed_json_is_decoded_without_floats() -> None:
    data = loads(
        b'{"a":{"__class__":"Decimal","decimal":"24.10"},"q":2.0,'
        b'"d":{"__class__":"date","year":2026,"month":11,"day":23},'
        b'"t":{"__class__":"datetime","year":2026,"month":11,"day":23,"hour":9,'
        b'"minute":1,"second":2,"microsecond":5}}'
    )
    assert data["a"] == Decimal("24.10") and str(data["a"]) == "24.10"
    assert isinstance(data["q"], Decimal) and data["q"] == Decimal("2.0")
    assert data["d"] == dt.date(2026, 11, 23)
    assert data["t"] == dt.datetime(2026, 11, 23, 9, 1, 2, 5)
    sent = json.loads(dumps([Decimal("12.0000"), dt.datetime(2026, 1, 2, 3, 4, 5, 6)]))
    assert sent[0] == {"__class__": "Decimal", "decimal": "12.0000"}
    assert sent[1]["__class__"] == "datetime" and sent[1]["microsecond"] == 6


def test_login_session_header_and_context_last(connector, tryton: FakeTryton) -> None:
    connector.check()
    login = tryton.calls[0]
    assert login["method"] == "common.db.login"
    assert login["params"] == [USERNAME, {"password": PASSWORD}, "en"]
    count = tryton.model_calls("sale.point.sale", "search_count")[0]
    assert count["params"][-1]["company"] == 1  # the user's preferences are the context
    token = base64.b64encode(f"{USERNAME}:{UID}:{SESSION}".encode()).decode()
    assert token  # the fake refuses any other Authorization header


def test_sales_returns_and_money(connector, tryton: FakeTryton) -> None:
    events = [e for page in connector.read("sales") for e in page.events]
    assert [e.key for e in events] == ["1#1", "2#2", "3#3"]  # the open sale is not read
    sale, back, odd = (connector.decode(e)[0].sale for e in events)
    assert sale.key.store == "1" and sale.key.transaction_id == "1#1"
    assert sale.key.business_day == dt.date(2026, 11, 23)
    assert sale.status is SaleStatus.COMPLETED and sale.currency == "EUR"
    (line,) = sale.lines
    assert (line.sku, line.quantity, line.unit_price.amount) == (
        "SKU-TSHIRT-BLUE",
        Decimal(2),
        Decimal("12.0000"),
    )
    assert sale.total.amount == Decimal("24.00") and sale.tenders[0].kind == "Cash"
    returned, wrap = back.lines
    assert returned.is_return and returned.quantity == Decimal(-1)
    assert wrap.sku == "product:3"  # a product without a code
    assert back.tenders[0].refund and back.tenders[0].amount.amount == Decimal("11.50")
    assert odd.lines[0].quantity == Decimal("1.5")
    assert odd.lines[0].amount.amount == Decimal("11.00")
    assert events[0].occurred_at == dt.datetime(2026, 11, 23, 8, 59, 30, 120000, tzinfo=dt.UTC)


def test_keyset_pages_do_not_skip_sales_of_the_same_microsecond(make, tryton) -> None:
    connector = make(page_size=1)
    pages = list(connector.read("sales"))
    assert [e.key for p in pages for e in p.events] == ["1#1", "2#2", "3#3"]
    cursors = [p.cursor for p in pages if p.cursor]
    assert len(cursors) == len(set(cursors))
    last = json.loads(cursors[-1])
    assert last == {"at": "2026-11-23T09:05:00.120000", "id": 3}
    domain = tryton.model_calls("sale.point.sale")[2]["params"][0]
    moment = dt.datetime(2026, 11, 23, 9, 5, 0, 120000)
    assert [
        "OR",
        ["write_date", ">", moment],
        [["write_date", "=", moment], ["id", ">", 2]],
    ] in domain
    assert keys(connector, cursors[-1]) == []
    tryton.add_sale(9, dt.datetime(2026, 11, 23, 9, 5, 0, 120000), [(1, 1.0, "12")], [])
    assert keys(connector, cursors[-1]) == ["9#9"]


def test_overlap_rereads_without_emitting_twice(make, tryton) -> None:
    connector = make(overlap_seconds=600)
    pages = list(connector.read("sales"))
    for page in pages:
        page.on_committed()
    cursor = pages[-1].cursor
    assert keys(connector, cursor) == []
    # A sale committed late by a slow transaction: older write_date than the cursor.
    tryton.add_sale(7, dt.datetime(2026, 11, 23, 9, 1, 0), [(1, 1.0, "12")], [])
    assert keys(connector, cursor) == ["7#7"]


def test_a_server_ignoring_the_domain_stops_instead_of_looping(make, tryton) -> None:
    tryton.ignore_domain = True
    connector = make(page_size=2)
    with pytest.raises(TransientError, match="instead of looping"):
        list(connector.read("sales", json.dumps({"at": "2030-01-01T00:00:00", "id": 1})))


def test_expired_session_logs_in_again_once(connector, tryton) -> None:
    connector.check()
    tryton.expire_next = 1
    assert keys(connector) == ["1#1", "2#2", "3#3"]
    assert tryton.logins == 2
    tryton.expire_next = 10
    with pytest.raises(AuthError):
        keys(connector)


def test_errors_map_to_the_taxonomy(make, tryton) -> None:
    with pytest.raises(AuthError, match="check username and password"):
        make(password="wrong-password").check()
    tryton.rpc_errors["sale.point.sale.search_read"] = [
        "UserError",
        ["You can not read that", "", None],
    ]
    with pytest.raises(DataError, match="You can not read that"):
        keys(make())
    assert isinstance(
        error_of(["ConcurrencyException", "Records were modified"], "x"), TransientError
    )
    refusal = error_of(["'nope'", "Traceback (most recent call last): secret"], "x")
    assert isinstance(refusal, DataError) and "Traceback" not in str(refusal)


def test_check_names_a_missing_sale_point(make) -> None:
    with pytest.raises(ConfigError, match=r"sale\.point 9 not found"):
        make(sale_points=[1, 9]).check()


def test_sale_points_filter(make, tryton) -> None:
    tryton.add_sale(8, dt.datetime(2026, 11, 23, 10, 0), [(1, 1.0, "12")], [], point=2)
    assert keys(make(sale_points=[2])) == ["8#8"]


def test_read_stock_counts_each_sale_points_storage(connector, tryton) -> None:
    found = connector.read_stock(
        [("SKU-TSHIRT-BLUE", "1"), ("SKU-CAP", "1"), ("UNKNOWN", "1"), ("SKU-TSHIRT-BLUE", "2")]
    )
    assert found == {
        ("SKU-TSHIRT-BLUE", "1"): Decimal("8.0"),
        ("SKU-CAP", "1"): Decimal("4.0"),
        ("SKU-TSHIRT-BLUE", "2"): Decimal("1.0"),
    }
    assert all(isinstance(v, Decimal) for v in found.values())
    stock_call = tryton.model_calls("product.product")[0]
    assert stock_call["params"][-1]["locations"] == [3]
    with pytest.raises(ConfigError):
        connector.read_stock([("SKU-CAP", "77")])

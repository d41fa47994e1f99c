"""Handed-off baskets against a real Tryton POS (trytond 8.2 + ``sale_point`` on 127.0.0.1).

The ``tryton`` connector, logged in as a user with the POS, Sales and Stock groups (not an
administrator), opens a basket as a draft POS sale carrying the handoff code in a note,
finds it again instead of opening a second one, and cancels it on close; the till (plain
JSON-RPC, as a cashier's client would) completes a handed-off draft, and the ``sales``
stream reads it back with ``Sale.basket`` = the code; drafts parked at the till come back
through the ``baskets`` stream as store baskets.

Outside CI, a machine that cannot install Tryton skips with the reason; with ``CI=true`` it
fails (``tests.support.need``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from bridge.connector import BasketWrite, ConnectorContext, WriteBatch
from bridge.model import BasketBody, BasketLine, BasketStatus, CustomerRef, SaleBody
from connectors.tryton import TrytonConnector
from connectors.tryton.baskets import NOTE_PREFIX
from tests.tryton.server import (
    DATABASE,
    GROSS_PRICE,
    SKU,
    TrytonServer,
    TrytonTill,
    serve,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tryton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    yield from serve(tmp_path_factory.mktemp("tryton-baskets"), "tryton baskets e2e set-up")


API_USER, API_PASSWORD = "brique", "middleware-secret-1"
API_GROUPS = ["POS", "Sales", "Stock"]


@pytest.fixture(scope="module")
def api_user(tryton_server: TrytonServer) -> str:
    """Brique's own login: no administrator (trytond then restricts ``ir.note`` searches to
    named records, which the sink must live with), the POS, Sales and Stock groups."""
    admin = tryton_server.client()
    try:
        groups = admin.rpc.search_read("res.group", [["name", "in", API_GROUPS]], ["name"])
        assert sorted(g["name"] for g in groups) == sorted(API_GROUPS)
        admin.rpc.call(
            "res.user",
            "create",
            [
                [
                    {
                        "name": "Brique",
                        "login": API_USER,
                        "password": API_PASSWORD,
                        "groups": [["add", [g["id"] for g in groups]]],
                        "companies": [["add", [1]]],
                        "company": 1,
                    }
                ]
            ],
        )
    finally:
        admin.close()
    return API_USER


@pytest.fixture
def till(tryton_server: TrytonServer) -> Iterator[TrytonTill]:
    client = tryton_server.client()
    yield client
    client.close()


@pytest.fixture
def tills(tryton_server: TrytonServer, api_user: str) -> Iterator[TrytonConnector]:
    connector = TrytonConnector(
        {
            "url": tryton_server.url,
            "database": DATABASE,
            "username": api_user,
            "password": API_PASSWORD,
            "start_at": "2000-01-01T00:00:00Z",
            "basket_settle_seconds": 0,
        },
        ConnectorContext("tills"),
    )
    yield connector
    connector.close()


def basket(code: str, action: str = "open", **fields: Any) -> BasketWrite:
    values: dict[str, Any] = {
        "code": code,
        "action": action,
        "currency": "EUR",
        "lines": (BasketLine(sku=SKU, quantity=Decimal(2)),),
        "location": "1",
    }
    values.update(fields)
    return BasketWrite(**values)


def write(tills: TrytonConnector, *items: BasketWrite, key: str = "k") -> Any:
    return tills.write("baskets", WriteBatch(key, list(items)))


def sales(till: TrytonTill) -> list[dict[str, Any]]:
    return till.rpc.search_read(
        "sale.point.sale", [], ["state", "number", "total"], order=(("id", "ASC"),)
    )


def complete(till: TrytonTill, sale_id: int) -> None:
    """What the cashier does with the retrieved draft: take cash, process, post."""
    method = till.one("sale.point.payment.method", [["cash", "=", True]])
    (sale,) = till.rpc.call("sale.point.sale", "read", [[sale_id], ["total"]])
    till.rpc.call(
        "sale.point.payment",
        "create",
        [[{"sale": sale_id, "method": method, "amount": sale["total"]}]],
    )
    till.rpc.call("sale.point.sale", "process", [[sale_id]])
    till.rpc.call("sale.point.sale", "post", [[sale_id]])


def state(till: TrytonTill, sale_id: int) -> str:
    (row,) = till.rpc.call("sale.point.sale", "read", [[sale_id], ["state"]])
    return row["state"]


def test_open_makes_one_draft_sale_with_the_lines_and_the_code(tills, till) -> None:
    customer = CustomerRef(name="Ada Lovelace", email="ada@example.com")
    first = write(tills, basket("K7M4QXZ3", customer=customer, note="from the web shop"))
    assert first.failed == {} and first.written == 1
    sale_id = int(first.observed["K7M4QXZ3"]["id"])
    assert first.observed["K7M4QXZ3"]["url"] is None
    before = sales(till)

    (sale,) = till.rpc.search_read(
        "sale.point.sale", [["id", "=", sale_id]], ["state", "number", "point", "total"]
    )
    assert sale["state"] == "open" and sale["number"] is None and sale["point"] == 1
    assert sale["total"] == GROSS_PRICE * 2  # the till's own price, not the web's
    lines = till.rpc.search_read(
        "sale.point.sale.line", [["sale", "=", sale_id]], ["product.code", "quantity"]
    )
    assert [(line["product."]["code"], line["quantity"]) for line in lines] == [(SKU, 2)]
    (note,) = till.rpc.search_read(
        "ir.note", [["resource", "=", f"sale.point.sale,{sale_id}"]], ["message"]
    )
    assert note["message"].splitlines() == [
        f"{NOTE_PREFIX}K7M4QXZ3",
        "Customer: Ada Lovelace, ada@example.com",
        "from the web shop",
    ]

    again = write(tills, basket("K7M4QXZ3"), key="k2")
    assert again.observed["K7M4QXZ3"]["id"] == str(sale_id)
    assert sales(till) == before  # nothing created the second time


def test_a_completed_handed_off_sale_reads_back_with_its_basket_code(tills, till) -> None:
    opened = write(tills, basket("ABCD2345"))
    sale_id = int(opened.observed["ABCD2345"]["id"])
    complete(till, sale_id)
    assert state(till, sale_id) == "posted"

    read = [
        body.sale
        for page in tills.read("sales")
        for event in page.events
        for body in tills.decode(event)
        if isinstance(body, SaleBody)
    ]
    (sale,) = [s for s in read if s.key.transaction_id.endswith(f"#{sale_id}")]
    assert sale.basket == "ABCD2345"
    assert [(line.sku, line.quantity) for line in sale.lines] == [(SKU, 2)]
    assert sale.total is not None and sale.total.amount == Decimal("24.00")

    # closing it after it completed at the till touches nothing
    closed = write(tills, basket("ABCD2345", action="close"), key="close")
    assert closed.observed["ABCD2345"] == {"id": str(sale_id), "closed": True, "state": "posted"}
    assert state(till, sale_id) == "posted"


def test_close_cancels_a_draft_once(tills, till) -> None:
    opened = write(tills, basket("QRST6789"))
    sale_id = int(opened.observed["QRST6789"]["id"])
    closed = write(tills, basket("QRST6789", action="close"), key="close-1")
    assert closed.observed["QRST6789"] == {"id": str(sale_id), "closed": True, "state": "cancelled"}
    assert state(till, sale_id) == "cancelled"
    again = write(tills, basket("QRST6789", action="close"), key="close-2")
    assert again.observed["QRST6789"]["closed"] is True and again.failed == {}
    unknown = write(tills, basket("ZZZZ0000", action="close"), key="close-3")
    assert unknown.observed["ZZZZ0000"] == {"id": None, "closed": True}


def test_an_unknown_sku_fails_that_basket_only(tills, till) -> None:
    before = sales(till)
    bad = basket("BADS0001", lines=(BasketLine(sku="NO-SUCH-SKU", quantity=Decimal(1)),))
    result = write(tills, bad, basket("GOOD0001"), key="mixed")
    assert set(result.failed) == {"BADS0001"} and "NO-SUCH-SKU" in result.failed["BADS0001"]
    assert result.written == 1 and "GOOD0001" in result.observed
    assert len(sales(till)) == len(before) + 1


def test_drafts_parked_at_the_till_are_read_as_store_baskets(tills, till) -> None:
    point = till.one("sale.point", [])
    product = till.one("product.product", [["code", "=", SKU]])
    line = {
        "product": product,
        "quantity": 3,
        "unit_gross_price": GROSS_PRICE,
        "unit_list_price": Decimal("9.9174"),
    }
    (draft,) = till.rpc.call(
        "sale.point.sale", "create", [[{"point": point, "lines": [["create", [line]]]}]]
    )
    handed = int(write(tills, basket("HAND0FF1")).observed["HAND0FF1"]["id"])

    def drafts() -> dict[str, tuple[str, Any]]:
        found = {}
        for page in tills.read("baskets"):
            for event in page.events:
                (body,) = tills.decode(event)
                assert isinstance(body, BasketBody)
                found[body.basket.basket_id] = (event.key, body.basket)
        return found

    first = drafts()
    key, store_basket = first[str(draft)]
    assert store_basket.channel == "store" and store_basket.status is BasketStatus.ACTIVE
    assert store_basket.location == "1" and store_basket.code is None
    assert [(ln.sku, ln.quantity, ln.unit_price.amount) for ln in store_basket.lines] == [
        (SKU, Decimal(3), GROSS_PRICE)
    ]
    assert first[str(handed)][1].code == "HAND0FF1"  # Brique's own draft echoes its code

    assert drafts()[str(draft)][0] == key  # read again unchanged: the same event key
    till.rpc.call("sale.point.sale.line", "write", [[_line_of(till, draft)], {"quantity": 4}])
    till.rpc.call("sale.point.sale", "write", [[draft], {}])  # as the client saves the form
    changed_key, changed = drafts()[str(draft)]
    assert changed_key != key and changed.lines[0].quantity == Decimal(4)

    complete(till, draft)  # paid at the till after it was read as a basket
    sold = [
        body.sale
        for page in tills.read("sales")
        for event in page.events
        for body in tills.decode(event)
        if isinstance(body, SaleBody) and body.sale.key.transaction_id.endswith(f"#{draft}")
    ]
    assert [s.basket for s in sold] == [str(draft)]


def _line_of(till: TrytonTill, sale_id: int) -> int:
    (line,) = till.rpc.search_read("sale.point.sale.line", [["sale", "=", sale_id]], ["id"])
    return int(line["id"])

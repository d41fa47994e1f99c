"""Handed-off baskets on the scripted Tryton: the ``baskets`` sink, drafts read as store
baskets, and ``Sale.basket`` on completed sales.

``FakeTills`` adds to ``FakeTryton`` what the sink calls and trytond 8.2 answers (checked
against the real server by ``test_tryton_baskets_e2e``): ``ir.note`` records on a
``sale.point.sale,<id>`` resource, ``create``/``cancel``/``delete`` of POS sales,
``on_change_product`` prices, and the ``like``/``<=`` domain operators.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from bridge.connector import BasketWrite, ConnectorContext, StockWrite, WriteBatch
from bridge.errors import ConfigError, TransientError
from bridge.model import BasketLine, BasketStatus, CustomerRef
from connectors.tryton import TrytonConnector
from connectors.tryton.baskets import (
    NOTE_PREFIX,
    decode_draft,
    draft_key,
    note_code,
    note_text,
    sale_basket,
)
from tests.tryton.tryton_fake import DATABASE, SESSION, UID, USERNAME, FakeTryton, _decode, settings

NOW = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.UTC)


class FakeTills(FakeTryton):
    """FakeTryton plus the writes and notes the basket sink uses."""

    def __init__(self) -> None:
        super().__init__()
        self.tables["ir.note"] = {}
        for sale in self.tables["sale.point.sale"].values():
            sale["amount_paid"] = sale["total"] if sale["state"] != "open" else Decimal(0)
            sale["create_uid"] = 1  # rung up by a cashier, not by Brique's API user
        self.tables["sale.point.sale"][4]["create_date"] = dt.datetime(2026, 11, 23, 9, 0)
        self.tables["sale.point.sale"][4]["write_date"] = None  # never written since created
        self.prices = {1: (Decimal("12.0000"), Decimal("9.9174")), 2: (Decimal("9.0000"), None)}
        self.moment = dt.datetime(2026, 11, 23, 10, 0)

    def __call__(self, request: Any) -> tuple:
        body = json.loads(request.body, object_hook=_decode)
        model_method = body["method"].removeprefix("model.")
        model, _, name = model_method.rpartition(".")
        if name not in ("create", "cancel", "delete", "on_change_product", "read"):
            return super().__call__(request)
        raw = f"{USERNAME}:{UID}:{SESSION}".encode()
        if request.headers.get("Authorization") != "Session " + base64.b64encode(raw).decode():
            return 401, {"Content-Type": "text/html"}, "<h1>Unauthorized</h1>"
        assert request.path_url == f"/{DATABASE}/rpc/"
        params = body["params"]
        assert isinstance(params[-1], dict), "the context is always the last parameter"
        self.calls.append({"method": body["method"], "params": params})
        error = self.rpc_errors.get(model_method)
        if error is not None:
            return self._answer(body["id"], error=error)
        return self._answer(body["id"], result=getattr(self, f"_{name}")(model, *params[:-1]))

    # -- writes

    def _create(self, model: str, values: list[dict[str, Any]]) -> list[int]:
        ids = []
        for value in values:
            self.moment += dt.timedelta(seconds=1)
            table = self.tables[model]
            new = max(table, default=0) + 1
            row = {k: v for k, v in value.items() if k != "lines"}
            row.update(id=new, create_date=self.moment, write_date=None, create_uid=UID)
            if model == "sale.point.sale":
                row.update(state="open", number=None, currency=1, total=Decimal(0), date=None)
                row["amount_paid"] = Decimal(0)
                for _, lines in value.get("lines", []):
                    for line in lines:
                        self._line(new, line)
            table[new] = row
            ids.append(new)
        return ids

    def _line(self, sale: int, line: dict[str, Any]) -> None:
        table = self.tables["sale.point.sale.line"]
        new = max(table, default=0) + 1
        quantity = Decimal(str(line["quantity"]))
        table[new] = {
            "id": new,
            "sale": sale,
            "product": line["product"],
            "quantity": float(quantity),
            "unit_price": line["unit_gross_price"],
            "unit_gross_price": line["unit_gross_price"],
            "unit_list_price": line["unit_list_price"],
            "amount": (quantity * line["unit_gross_price"]).quantize(Decimal("0.01")),
        }

    def _cancel(self, model: str, ids: list[int]) -> None:
        for sale_id in ids:
            row = self.tables[model][sale_id]
            assert row["state"] == "open"
            self.moment += dt.timedelta(seconds=1)
            row.update(state="cancelled", write_date=self.moment)

    def _delete(self, model: str, ids: list[int]) -> None:
        for sale_id in ids:
            del self.tables[model][sale_id]

    def _read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        return [{"id": i, **{f: self.tables[model][i].get(f) for f in fields}} for i in ids]

    def _on_change_product(self, model: str, values: dict[str, Any]) -> dict[str, Any]:
        assert model == "sale.point.sale.line" and values["sale"] == -1
        assert values["_parent_sale.point"] in self.tables["sale.point"]
        gross, listed = self.prices.get(values["product"], (None, None))
        return {"unit_gross_price": gross, "unit_list_price": listed}

    def _search(self, model: str, domain: list[Any]) -> list[dict[str, Any]]:
        named = any(c[0] == "resource" and c[1] in ("=", "in") for c in domain if len(c) == 3)
        if model == "ir.note" and not named:  # trytond, for a user who is not an admin
            raise AssertionError('You are not allowed to search on the "ir.note" resource.')
        return super()._search(model, domain)

    def _search_read(
        self, model: str, domain: Any, offset: int, limit: Any, order: Any, fields: Any, ctx: Any
    ) -> list[dict[str, Any]]:
        if order != [["id", "DESC"]]:
            return super()._search_read(model, domain, offset, limit, order, fields, ctx)
        rows = super()._search_read(model, domain, 0, None, [["id", "ASC"]], fields, ctx)
        return rows[::-1][offset : offset + limit if limit else None]

    # -- domain operators the sink adds

    def _clause(self, row: dict[str, Any], clause: Any) -> bool:
        if clause and isinstance(clause[0], str) and clause[0] not in ("OR", "AND"):
            name, operator, value = clause
            held = row.get(name)
            if operator == "like":
                assert value.endswith("%") and "%" not in value[:-1]
                return isinstance(held, str) and held.startswith(value[:-1])
            if operator == "<=":
                return held is not None and held <= value
        return super()._clause(row, clause)


@pytest.fixture
def fake() -> Iterator[FakeTills]:
    double = FakeTills()
    with double.serving():
        yield double


@pytest.fixture
def make_tills(fake: FakeTills) -> Iterator[Any]:
    made: list[TrytonConnector] = []

    def build(**overrides: Any) -> TrytonConnector:
        connector = TrytonConnector(
            settings(**overrides), ConnectorContext("tills"), clock=lambda: NOW
        )
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()


def item(code: str = "K7M4QXZ3", action: str = "open", **fields: Any) -> BasketWrite:
    values: dict[str, Any] = {
        "code": code,
        "action": action,
        "currency": "EUR",
        "lines": (BasketLine(sku="SKU-TSHIRT-BLUE", quantity=Decimal(2)),),
        "location": "1",
    }
    values.update(fields)
    return BasketWrite(**values)


def write(connector: TrytonConnector, *items: BasketWrite) -> Any:
    return connector.write("baskets", WriteBatch("k", list(items)))


def add_note(fake: FakeTills, sale_id: int, message: str) -> None:
    notes = fake.tables["ir.note"]
    new = max(notes, default=0) + 1
    notes[new] = {"id": new, "resource": f"sale.point.sale,{sale_id}", "message": message}


# -- the note ------------------------------------------------------------------------------


def test_the_note_carries_the_code_first_then_the_customer() -> None:
    text = note_text(
        item(
            customer=CustomerRef(name="Ada", phone="+33600000000", loyalty_card="C-1"),
            note="  bring the blue one ",
        )
    )
    assert text.splitlines() == [
        "Brique basket K7M4QXZ3",
        "Customer: Ada, +33600000000, card C-1",
        "bring the blue one",
    ]
    assert note_code(text) == "K7M4QXZ3"
    assert note_code("Brique basket   ") is None
    assert note_code("Call the customer back") is None
    assert note_code(None) is None


def test_sale_basket_is_the_code_else_the_id_of_a_draft_that_settled() -> None:
    created = dt.datetime(2026, 11, 23, 9, 0)
    quick = {"id": 7, "create_date": created, "write_date": created + dt.timedelta(seconds=40)}
    parked = {"id": 8, "create_date": created, "write_date": created + dt.timedelta(minutes=9)}
    assert sale_basket(quick, "K7M4QXZ3", None) == "K7M4QXZ3"
    assert sale_basket(parked, None, None) is None  # drafts are not read as baskets
    assert sale_basket(quick, None, 300) is None  # rung up and paid: never a basket
    assert sale_basket(parked, None, 300) == "8"
    assert sale_basket({"id": 9, "create_date": created, "write_date": None}, None, 0) is None


# -- the sink ------------------------------------------------------------------------------


def test_open_creates_a_draft_with_the_tills_prices_then_finds_it(make_tills, fake) -> None:
    tills = make_tills()
    assert write(tills, item()).observed == {"K7M4QXZ3": {"id": "5", "url": None, "state": "open"}}
    sale = fake.tables["sale.point.sale"][5]
    assert sale["point"] == 1 and sale["state"] == "open"
    (line,) = [ln for ln in fake.tables["sale.point.sale.line"].values() if ln["sale"] == 5]
    assert line["product"] == 1 and line["quantity"] == 2.0
    assert line["unit_gross_price"] == Decimal("12.0000")
    (note,) = fake.tables["ir.note"].values()
    assert note["resource"] == "sale.point.sale,5" and note["message"] == "Brique basket K7M4QXZ3"

    again = write(tills, item())
    assert again.observed["K7M4QXZ3"]["id"] == "5" and again.written == 1
    assert len(fake.model_calls("sale.point.sale", "create")) == 1


def test_a_code_that_only_prefixes_another_is_not_that_basket(make_tills, fake) -> None:
    add_note(fake, 4, f"{NOTE_PREFIX}K7M4QXZ3X")  # a longer code, same beginning
    result = write(make_tills(), item())
    assert result.observed["K7M4QXZ3"]["id"] == "5"


def test_a_note_that_cannot_be_written_leaves_no_draft_behind(make_tills, fake) -> None:
    fake.rpc_errors["ir.note.create"] = ["UserError", ["no note for you", "", None]]
    result = write(make_tills(), item())
    assert "no note for you" in result.failed["K7M4QXZ3"] and result.written == 0
    assert 5 not in fake.tables["sale.point.sale"]
    assert fake.model_calls("sale.point.sale", "delete")[0]["params"][0] == [5]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lines": ()}, "no line"),
        ({"location": "store-1"}, "not a sale.point id"),
        ({"location": "2"}, "not read by this connection"),
        ({"location": None}, "no store"),
        ({"lines": (BasketLine(sku="NOPE", quantity=Decimal(1)),)}, "NOPE"),
        ({"lines": (BasketLine(sku="SKU-CAP", quantity=Decimal(0)),)}, "not a positive"),
        ({"lines": (BasketLine(sku="product:3", quantity=Decimal(1)),)}, "no price"),
    ],
)
def test_a_basket_the_till_cannot_take_fails_alone(make_tills, fake, fields, message) -> None:
    tills = make_tills(sale_points=[1, 3])
    fake.tables["sale.point"][3] = {"id": 3, "name": "Store 3", "storage_location": 3}
    result = write(tills, item("BAD00001", **fields), item("GOOD0001"))
    assert set(result.failed) == {"BAD00001"} and message in result.failed["BAD00001"]
    assert result.written == 1 and result.observed["GOOD0001"]["state"] == "open"


def test_one_configured_sale_point_takes_baskets_without_a_location(make_tills, fake) -> None:
    result = write(make_tills(sale_points=[1]), item(location=None))
    assert fake.tables["sale.point.sale"][int(result.observed["K7M4QXZ3"]["id"])]["point"] == 1


def test_close_cancels_an_unpaid_draft_and_never_a_completed_sale(make_tills, fake) -> None:
    tills = make_tills()
    write(tills, item())
    assert write(tills, item(action="close")).observed["K7M4QXZ3"] == {
        "id": "5",
        "closed": True,
        "state": "cancelled",
    }
    assert fake.tables["sale.point.sale"][5]["state"] == "cancelled"
    assert write(tills, item(action="close")).observed["K7M4QXZ3"]["state"] == "cancelled"
    assert len(fake.model_calls("sale.point.sale", "cancel")) == 1

    add_note(fake, 1, f"{NOTE_PREFIX}POSTED01")  # sale 1 is posted
    fake.tables["sale.point.sale"][1]["create_uid"] = UID  # opened by Brique, paid at the till
    assert write(tills, item("POSTED01", action="close")).observed["POSTED01"] == {
        "id": "1",
        "closed": True,
        "state": "posted",
    }
    assert fake.tables["sale.point.sale"][1]["state"] == "posted"
    assert write(tills, item("NOWHERE1", action="close")).observed["NOWHERE1"] == {
        "id": None,
        "closed": True,
    }


def test_close_finds_a_till_built_draft_by_its_id_and_spares_a_paid_one(make_tills, fake) -> None:
    tills = make_tills()
    fake.tables["sale.point.sale"][4]["amount_paid"] = Decimal("5.00")
    paid = write(tills, item("TILL0004", action="close", external_id="4"))
    assert "payments" in paid.failed["TILL0004"]
    assert fake.tables["sale.point.sale"][4]["state"] == "open"
    fake.tables["sale.point.sale"][4]["amount_paid"] = Decimal(0)
    done = write(tills, item("TILL0004", action="close", external_id="4"))
    assert done.observed["TILL0004"]["state"] == "cancelled"


def test_the_sink_takes_baskets_only(make_tills) -> None:
    stock = StockWrite(sku="A", location="1", quantity=Decimal(1))
    with pytest.raises(ConfigError):
        make_tills().write("baskets", WriteBatch("k", [stock]))


# -- completed sales -----------------------------------------------------------------------


def test_completed_sales_carry_the_code_of_their_note(make_tills, fake) -> None:
    add_note(fake, 1, "Customer called")
    add_note(fake, 1, f"{NOTE_PREFIX}K7M4QXZ3\nCustomer: Ada")
    tills = make_tills()
    sales = {e.key: tills.decode(e)[0].sale for page in tills.read("sales") for e in page.events}
    assert sales["1#1"].basket == "K7M4QXZ3"
    assert sales["2#2"].basket is None and sales["3#3"].basket is None
    (notes,) = fake.model_calls("ir.note")
    assert notes["params"][0] == [
        ["resource", "in", ["sale.point.sale,1", "sale.point.sale,2", "sale.point.sale,3"]]
    ]


def test_sales_are_read_even_when_notes_are_refused(make_tills, fake, caplog) -> None:
    fake.rpc_errors["ir.note.search_read"] = ["UserError", ["access denied", "", None]]
    tills = make_tills()
    keys = [e.key for page in tills.read("sales") for e in page.events]
    assert keys == ["1#1", "2#2", "3#3"]
    assert "ir.note refused" in caplog.text


# -- drafts as store baskets ---------------------------------------------------------------


def baskets_read(connector: TrytonConnector, cursor: str | None = None) -> list[Any]:
    return list(connector.read("baskets", cursor))


def test_no_baskets_stream_unless_drafts_are_read(make_tills) -> None:
    assert make_tills().streams() == ("sales",)
    assert make_tills(basket_settle_seconds=300).streams() == ("sales", "baskets")


def test_a_parked_draft_is_an_active_store_basket(make_tills, fake) -> None:
    tills = make_tills(basket_settle_seconds=300)
    (page,) = baskets_read(tills)
    (event,) = page.events
    assert event.kind == "basket" and event.key.startswith("draft/4/")
    (body,) = tills.decode(event)
    basket = body.basket
    assert basket.basket_id == "4" and basket.channel == "store"
    assert basket.status is BasketStatus.ACTIVE and basket.location == "1"
    assert basket.currency == "EUR" and basket.code is None
    assert [(ln.sku, ln.quantity, ln.unit_price.amount) for ln in basket.lines] == [
        ("SKU-CAP", Decimal("1.0"), Decimal("9.00"))
    ]
    assert basket.created_at == dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    assert json.loads(page.cursor) == {"at": "2026-11-23T11:55:00"}


def test_a_draft_still_being_rung_up_waits_for_the_next_read(make_tills, fake) -> None:
    fake.tables["sale.point.sale"][4]["write_date"] = dt.datetime(2026, 11, 23, 11, 58)
    tills = make_tills(basket_settle_seconds=300)
    (page,) = baskets_read(tills)
    assert page.events == []
    later = make_tills(basket_settle_seconds=60)  # the same draft, now settled
    (event,) = [e for p in baskets_read(later, page.cursor) for e in p.events]
    assert event.key.startswith("draft/4/")


def test_a_changed_draft_is_a_new_event_an_unchanged_one_the_same(make_tills, fake) -> None:
    tills = make_tills(basket_settle_seconds=0)
    (first,) = [e for p in baskets_read(tills) for e in p.events]
    (same,) = [e for p in baskets_read(tills) for e in p.events]
    assert same.key == first.key
    (line,) = [ln for ln in fake.tables["sale.point.sale.line"].values() if ln["sale"] == 4]
    line["quantity"] = 2.0
    fake.tables["sale.point.sale"][4]["write_date"] = dt.datetime(2026, 11, 23, 11, 0)
    (changed,) = [e for p in baskets_read(tills) for e in p.events]
    assert changed.key != first.key and changed.key.startswith("draft/4/")


def test_drafts_page_by_id_inside_a_window_and_resume(make_tills, fake) -> None:
    for n in range(5):
        fake.add_sale(
            10 + n, dt.datetime(2026, 11, 23, 10, n), [(1, 1.0, "12.0000")], [], state="open"
        )
    tills = make_tills(basket_settle_seconds=60, page_size=2)
    pages = baskets_read(tills)
    keys = [[e.key.split("/")[1] for e in p.events] for p in pages]
    assert keys == [["4", "10"], ["11", "12"], ["13", "14"], []]
    assert len({p.cursor for p in pages}) == len(pages)
    resumed = [e.key.split("/")[1] for p in baskets_read(tills, pages[1].cursor) for e in p.events]
    assert resumed == ["13", "14"]
    assert [e for p in baskets_read(tills, pages[-1].cursor) for e in p.events] == []


def test_which_drafts_are_baskets(make_tills, fake) -> None:
    at = dt.datetime(2026, 11, 23, 10, 0)
    fake.add_sale(20, at, [(1, 1.0, "12.0000"), (2, -1.0, "9.00")], [], state="open")  # exchange
    fake.add_sale(21, at, [], [], state="open")  # empty
    parked = fake.add_sale(22, at, [(1, 1.0, "12.0000")], [], state="cancelled")
    parked["create_date"] = at - dt.timedelta(hours=1)  # stayed open an hour, then cancelled
    fake.add_sale(23, at, [(1, 1.0, "12.0000")], [], state="cancelled")  # cancelled at once
    handed = fake.add_sale(24, at, [(1, 1.0, "12.0000")], [], state="cancelled")
    handed["create_date"] = at - dt.timedelta(hours=1)
    add_note(fake, 24, f"{NOTE_PREFIX}K7M4QXZ3")  # Brique's own, closed by Brique
    add_note(fake, 4, f"{NOTE_PREFIX}ABCD2345")
    tills = make_tills(basket_settle_seconds=300)
    found = {
        body.basket.basket_id: body.basket
        for page in baskets_read(tills)
        for event in page.events
        for body in tills.decode(event)
    }
    assert sorted(found) == ["22", "4"]
    assert found["22"].status is BasketStatus.EXPIRED
    assert found["4"].code == "ABCD2345" and found["4"].status is BasketStatus.ACTIVE


def test_a_server_ignoring_the_domain_stops_the_read(make_tills, fake) -> None:
    for n in range(3):
        fake.add_sale(
            10 + n, dt.datetime(2026, 11, 23, 10, n), [(1, 1.0, "1.00")], [], state="open"
        )
    tills = make_tills(basket_settle_seconds=0, page_size=2)
    fake.ignore_domain = True
    with pytest.raises(TransientError, match="ignores the domain"):
        baskets_read(tills)


def test_an_unreadable_cursor_is_a_config_error(make_tills) -> None:
    with pytest.raises(ConfigError):
        baskets_read(make_tills(basket_settle_seconds=0), "{not json")


def test_decode_draft_refuses_a_draft_without_currency() -> None:
    payload = {"id": 4, "state": "open", "store": "1", "currency": None, "lines": []}
    with pytest.raises(Exception, match="no currency"):
        decode_draft(payload)
    payload["currency"] = {"code": "eur"}
    assert decode_draft(payload).basket.currency == "EUR"
    assert draft_key(payload) == draft_key(dict(payload, write_date="later"))
    assert draft_key(payload) != draft_key(dict(payload, code="K7M4QXZ3"))


def test_the_code_is_searched_among_the_sales_this_user_created(make_tills, fake) -> None:
    add_note(fake, 4, f"{NOTE_PREFIX}K7M4QXZ3")  # a cashier's draft (not Brique's) with the code
    result = write(make_tills(), item())
    assert result.observed["K7M4QXZ3"]["id"] == "5"  # not the cashier's sale 4
    mine = fake.model_calls("sale.point.sale")[0]["params"]
    assert mine[0] == [["create_uid", "=", UID]] and mine[3] == [["id", "DESC"]]
    assert fake.model_calls("ir.note") == []  # Brique had opened nothing yet
    assert write(make_tills(), item()).observed["K7M4QXZ3"]["id"] == "5"
    (notes,) = fake.model_calls("ir.note")
    assert notes["params"][0][0] == ["resource", "in", ["sale.point.sale,5"]]

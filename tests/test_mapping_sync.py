"""The mapping's rules applied by the sync: stock rules, pools, prices, no useless writes.

Runs on SQLite and on PostgreSQL, with the inline dispatcher (the same use-cases run under
real workers in ``test_flow_workers.py``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.model import Price, PriceBody, PriceEntry
from bridge.store.tables import DeadLetter, PricePublication, SaleRow
from bridge.sync import deadletters, ingest, push_prices, sweep
from bridge.sync.price_import import import_prices
from bridge.sync.runtime import Runtime
from tests.test_sync import count_stock, make_world, sale

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
    safety_buffer: "1"
  - code: LYON-02
    price_list: lyon
    ids: {tills: "1002", webshop: "gid://shopify/Location/2"}
  - code: LILLE-03
    ids: {tills: "1003"}
skus:
  tills: {"3600000000017": TSHIRT-RED-M}
products:
  categories:
    inline: {JEANS-32: denim, TSHIRT-RED-M: tops}
stock:
  default: {minimum: "2"}
  categories:
    denim: {buffer: "3"}
  skus:
    TSHIRT-RED-M: {maximum: "10"}
  pools:
    - code: WEB-FR
      sum: [LYON-02, LILLE-03]
      buffer: "1"
      ids: {webshop: "gid://shopify/Location/9"}
prices:
  currency: EUR
  tax_included: true
  lists:
    web: {}
    lyon: {}
    was: {fallback: null}
  channels:
    webshop:
      price_list: web
      compare_at_list: was
      tax_included: false
      rounding: {places: 2, ending: "0.99", direction: nearest}
taxes:
  rates: {standard: "20", reduced: "5.5"}
  default: standard
  categories: {denim: reduced}
tenders:
  tills: {Cash: cash}
connections:
  webshop:
    price:
      outbound:
        key: sku
        fields:
          price: {from: price.amount, apply: [string]}
          compareAtPrice: {from: compare_at.amount, apply: [string]}
          taxable: {value: true}
"""
PARIS, LYON, WEB = (f"gid://shopify/Location/{n}" for n in (1, 2, 9))


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    world = make_world(tmp_path, database_url, MAPPING)
    yield world
    world[0].close()


def prices_file(rt: Runtime, name: str, rows: str) -> Path:
    path = rt.settings.data_dir / name
    path.write_text("sku,price,list\n" + rows)
    return path


# -- stock rules --------------------------------------------------------------------------


def test_buffer_minimum_and_maximum_shape_what_the_shop_may_sell(world) -> None:
    rt, _pos, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")  # 20 - buffer 1 = 19, capped at 10
    count_stock(rt, "JEANS-32", "PARIS-01", "6")  # category buffer 3 wins over Paris's 1
    count_stock(rt, "SOCKS", "PARIS-01", "2")  # 2 - 1 = 1, under the minimum of 2 -> 0
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 10
    assert shop.levels[("JEANS-32", PARIS)] == 3
    assert shop.levels[("SOCKS", PARIS)] == 0


def test_a_pool_publishes_the_sum_of_its_stores(world) -> None:
    rt, pos, shop, _ = world
    count_stock(rt, "SOCKS", "LYON-02", "4")
    count_stock(rt, "SOCKS", "LILLE-03", "5")
    # Lyon is published alone (4) and in the pool: 4 + 5 - pool buffer 1 = 8.
    assert shop.levels[("SOCKS", LYON)] == 4
    assert shop.levels[("SOCKS", WEB)] == 8
    # A sale in Lille (not published alone) moves the pool only.
    pos.pending = [sale(1, ("SOCKS", "2"), store="1003")]
    ingest.poll(rt, "tills", "sales")
    assert shop.levels[("SOCKS", WEB)] == 6
    assert shop.levels[("SOCKS", LYON)] == 4


def test_an_oversold_store_does_not_eat_another_stores_stock(world) -> None:
    rt, _pos, shop, _ = world
    count_stock(rt, "SOCKS", "LYON-02", "-3")
    count_stock(rt, "SOCKS", "LILLE-03", "5")
    assert shop.levels[("SOCKS", WEB)] == 4  # 0 (not -3) + 5 - 1


def test_journal_holds_canonical_skus_and_tender_kinds(world) -> None:
    rt, pos, _, _ = world
    from bridge.model import Money, Tender

    ticket = sale(7, ("3600000000017", "1")).model_copy(
        update={"tenders": (Tender(kind="Cash", amount=Money(amount="10", currency="EUR")),)}
    )
    pos.pending = [ticket]
    ingest.poll(rt, "tills", "sales")
    with rt.sessions() as s:
        stored = json.loads(s.scalars(select(SaleRow.payload)).one())
    assert stored["lines"][0]["sku"] == "TSHIRT-RED-M"
    assert stored["tenders"][0]["kind"] == "cash"


# -- prices -------------------------------------------------------------------------------


def test_prices_are_computed_per_channel_and_pushed(world) -> None:
    rt, _, shop, _ = world
    count, shops = import_prices(
        rt,
        prices_file(
            rt,
            "p.csv",
            "TSHIRT-RED-M,24.00,default\nJEANS-32,79.00,web\nJEANS-32,99.00,was\n",
        ),
    )
    assert (count, shops) == (3, ["webshop"])
    # 24.00 incl. 20% -> 20.00 excl. -> nearest .99 -> 19.99
    assert shop.prices["TSHIRT-RED-M"] == {
        "price": "19.99",
        "compareAtPrice": None,
        "taxable": True,
    }
    # 79.00 incl. 5.5% -> 74.88 -> 74.99; was 99.00 -> 93.84 (compare-at is only rounded)
    assert shop.prices["JEANS-32"] == {
        "price": "74.99",
        "compareAtPrice": "93.84",
        "taxable": True,
    }
    write = shop.price_calls[-1].items[0]
    assert write.price.currency == "EUR"


def test_unchanged_prices_are_never_written_again(world) -> None:
    rt, _, shop, _ = world
    path = prices_file(rt, "p.csv", "TSHIRT-RED-M,24.00,default\nSOCKS,5.00,default\n")
    import_prices(rt, path)
    assert len(shop.price_calls) == 1
    # The same file again: nothing stored, nothing pushed.
    assert import_prices(rt, path) == (2, [])
    # A new price whose channel result is the same (24.01 -> 20.01 -> 19.99): no write.
    import_prices(rt, prices_file(rt, "q.csv", "TSHIRT-RED-M,24.01,default\n"))
    assert len(shop.price_calls) == 1
    with rt.sessions() as s:
        pub = s.scalar(select(PricePublication).where(PricePublication.sku == "TSHIRT-RED-M"))
        assert pub is not None and not pub.dirty
    # A real change is written, alone.
    import_prices(rt, prices_file(rt, "r.csv", "TSHIRT-RED-M,30.00,default\n"))
    assert len(shop.price_calls) == 2
    assert [i.sku for i in shop.price_calls[-1].items] == ["TSHIRT-RED-M"]
    assert shop.prices["TSHIRT-RED-M"]["price"] == "24.99"


def test_a_changed_mapping_rewrites_only_the_prices_it_moves(world) -> None:
    rt, _, shop, _ = world
    import_prices(rt, prices_file(rt, "p.csv", "TSHIRT-RED-M,24.00,default\nSOCKS,6.00,default\n"))
    assert len(shop.price_calls) == 1
    sweep.sweep(rt)  # same mapping: nothing to re-evaluate
    assert len(shop.price_calls) == 1
    # The ending moves from .99 to .95: 20.00 -> 19.95 changes, 5.00 -> 4.95 changes too.
    text = MAPPING.replace('ending: "0.99"', 'ending: "0.95"')
    rt.settings.mapping.write_text(text)
    assert rt.mapping.reload_if_changed()
    sweep.sweep(rt)
    assert shop.prices["TSHIRT-RED-M"]["price"] == "19.95"
    assert shop.prices["SOCKS"]["price"] == "4.95"
    calls = len(shop.price_calls)
    # A new mapping that moves no price (a rate nobody uses) is re-evaluated, not written.
    rt.settings.mapping.write_text(text.replace('reduced: "5.5"', 'reduced: "5.5", low: "2.1"'))
    assert rt.mapping.reload_if_changed()
    sweep.sweep(rt)
    assert len(shop.price_calls) == calls
    with rt.sessions() as s:
        assert not s.scalars(select(PricePublication).where(PricePublication.dirty)).all()


def test_store_price_lists_fall_back_to_default(world) -> None:
    rt, _, _, _ = world
    import_prices(
        rt, prices_file(rt, "p.csv", "TSHIRT-RED-M,24.00,default\nTSHIRT-RED-M,22.00,lyon\n")
    )
    plan = rt.mapping.plan
    prices = {"default": Decimal("24.00"), "lyon": Decimal("22.00")}
    assert plan.prices.store_price("LYON-02", "TSHIRT-RED-M", prices) == ("lyon", Decimal("22.00"))
    assert plan.prices.store_price("PARIS-01", "TSHIRT-RED-M", prices) == (
        "default",
        Decimal("24.00"),
    )


def test_a_price_the_shop_refuses_is_a_replayable_dead_letter(world) -> None:
    rt, _, shop, _ = world
    shop.refuse_skus = {"SOCKS"}
    import_prices(rt, prices_file(rt, "p.csv", "TSHIRT-RED-M,24.00,default\nSOCKS,6.00,default\n"))
    assert "SOCKS" not in shop.prices and "TSHIRT-RED-M" in shop.prices
    with rt.sessions() as s:
        dl = s.scalars(select(DeadLetter).where(DeadLetter.stage == "prices")).one()
        assert (dl.record, dl.error) == ("SOCKS", "unknown SKU SOCKS")
        dl_id = dl.id
    shop.refuse_skus = set()
    deadletters.replay(rt, dl_id)
    assert shop.prices["SOCKS"]["price"] == "4.99"


def test_a_price_file_error_names_its_line_and_stores_nothing(world) -> None:
    rt, _, shop, _ = world
    from bridge.errors import DataError

    path = prices_file(rt, "bad.csv", "TSHIRT-RED-M,24.00,default\nSOCKS,abc,default\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: price 'abc' is not a number"):
        import_prices(rt, path)
    assert shop.price_calls == []


def test_prices_arrive_from_a_connector_too(world) -> None:
    rt, _, shop, _ = world
    from bridge.store.tables import InboxRow

    entry = PriceEntry(
        sku="SOCKS",
        price=Price(amount=Decimal("6.00"), currency="EUR", tax_included=True),
    )
    with rt.transaction() as s:
        s.add(
            InboxRow(
                connection="tills",
                event_key="price/SOCKS/1",
                kind="price",
                payload=PriceBody(entry=entry).model_dump_json(),
                status="pending",
            )
        )
    # FakePos decodes sales only; a real price source decodes PriceBody records.
    pos = rt.connector("tills")
    pos.decode = lambda event: [PriceBody.model_validate(event.payload)]  # type: ignore[method-assign]
    with rt.sessions() as s:
        row_id = s.scalars(select(InboxRow.id)).one()
    from bridge.sync import apply

    apply.process_inbox(rt, row_id)
    assert shop.prices["SOCKS"]["price"] == "4.99"
    # The first sweep records the mapping version: everything is re-evaluated, nothing moved.
    calls = len(shop.price_calls)
    assert push_prices.refresh_if_mapping_changed(rt) == ["webshop"]
    assert push_prices.refresh_if_mapping_changed(rt) == []
    assert len(shop.price_calls) == calls


def test_stock_outbound_rules_reach_the_connector_and_bad_data_is_a_dead_letter(
    tmp_path: Path, database_url: str
) -> None:
    text = MAPPING.replace(
        "connections:\n  webshop:\n",
        "connections:\n  webshop:\n"
        "    stock:\n"
        "      outbound:\n"
        "        fields:\n"
        "          inventoryItemId: {from: sku, apply: [{prefix: 'gid://shopify/Item/'}]}\n"
        "          available: {from: quantity, apply: [integer]}\n",
    )
    rt, _pos, shop, _ = make_world(tmp_path, database_url, text)
    try:
        count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "5")
        write = shop.calls[-1].items[0]
        assert write.fields == {
            "inventoryItemId": "gid://shopify/Item/TSHIRT-RED-M",
            "available": 4,
        }
        # 2.5 units cannot be an integer: that item is a dead letter, the others go on.
        count_stock(rt, "COFFEE", "PARIS-01", "3.5")
        with rt.sessions() as s:
            dl = s.scalars(select(DeadLetter).where(DeadLetter.record == "COFFEE@PARIS-01")).one()
        assert "field 'available'" in dl.error and "not a whole number" in dl.error
    finally:
        rt.close()


def test_a_sale_and_its_return_in_one_window_write_nothing(world) -> None:
    rt, pos, shop, dispatcher = world
    count_stock(rt, "SOCKS", "PARIS-01", "10")
    writes = len(shop.calls)
    dispatcher.paused = True  # both tickets land before the coalesced push runs
    pos.pending = [sale(1, ("SOCKS", "2")), sale(2, ("SOCKS", "-2"))]
    ingest.poll(rt, "tills", "sales")
    dispatcher.paused = False
    dispatcher.drain()
    assert len(shop.calls) == writes  # the shop already shows 9: nothing to write
    from bridge.store.tables import StockPublication

    with rt.sessions() as s:
        pub = s.scalars(select(StockPublication).where(StockPublication.sku == "SOCKS")).one()
        assert not pub.dirty and pub.claimed_by is None


def test_a_recount_with_one_change_at_the_end_is_pushed_at_once(world) -> None:
    """Batches of unchanged items are cleared and the claim goes on to the next one: the
    one real change is written in the same push, not left for the sweeper."""
    from bridge.sync.stock_import import import_counts

    rt, _pos, shop, _ = world
    skus = [f"SKU-{n:02d}" for n in range(10)]  # the fake shop takes 3 items per call
    first = rt.settings.data_dir / "first.csv"
    first.write_text("sku,location,quantity\n" + "".join(f"{s},LYON-02,5\n" for s in skus))
    import_counts(rt, first)
    assert all(shop.levels[(s, LYON)] == 5 for s in skus)
    again = rt.settings.data_dir / "again.csv"  # a recount: the same, but the last SKU
    rows = [f"{s},LYON-02,{7 if s == skus[-1] else 5}\n" for s in skus]
    again.write_text("sku,location,quantity\n" + "".join(rows))
    writes = len(shop.calls)
    import_counts(rt, again)
    assert shop.levels[(skus[-1], LYON)] == 7
    assert len(shop.calls) == writes + 1  # only the change, in one call

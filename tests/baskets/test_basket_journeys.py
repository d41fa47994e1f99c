"""Baskets crossing channels, end to end through the sync (SQLite and PostgreSQL):
web cart -> code -> till (re-priced, stock-checked) -> draft sale -> paid -> converted and
closed online; store basket -> web cart with its checkout link and QR -> web order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import responses
from sqlalchemy import func, select

from bridge.baskets import codes, flows
from bridge.baskets.tables import BasketJournalRow, BasketRow
from bridge.events import EventRow
from bridge.events.delivery import verify
from bridge.model import (
    Basket,
    BasketLine,
    BasketStatus,
    CustomerRef,
    Money,
    Sale,
    SaleLine,
    SaleStatus,
    TicketKey,
)
from bridge.store.tables import DeadLetter
from bridge.sync import deadletters, ingest
from bridge.sync.price_import import import_prices
from tests.baskets.conftest import HOOK_URL
from tests.test_sync import count_stock

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def hooks():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, HOOK_URL, status=200)
        yield mock


def delivered(hooks: responses.RequestsMock) -> list[dict]:
    """The events the marketing hook received, signature checked."""
    found = []
    for call in hooks.calls:
        body = call.request.body
        header = call.request.headers["Brique-Signature"]
        at = int(header.split(",")[0][2:])
        assert verify("s3cret-marketing", body, header, now=at)
        found.append(json.loads(body))
    return found


def cart(ident: str = "cart-1", *, qty: str = "2", at: datetime = T0, **kw) -> Basket:
    return Basket(
        basket_id=ident,
        channel="web",
        currency="EUR",
        lines=(
            BasketLine(
                sku="SHOP-TEE",
                quantity=Decimal(qty),
                unit_price=Money(amount="25.00", currency="EUR"),
            ),
        ),
        customer=CustomerRef(customer_id="c-77", email="Ada@Example.com"),
        created_at=T0,
        updated_at=at,
        **kw,
    )


def till_sale(seq: int, *lines: tuple[str, str], basket: str | None = None, **kw) -> Sale:
    return Sale(
        key=TicketKey(store="1001", workstation="01", business_day=T0.date(), sequence=str(seq)),
        status=SaleStatus.COMPLETED,
        currency="EUR",
        occurred_at=kw.pop("at", T0 + timedelta(hours=3)),
        lines=tuple(
            SaleLine(line_no=str(i), sku=sku, quantity=Decimal(q), unit_price=None)
            for i, (sku, q) in enumerate(lines, 1)
        ),
        basket=basket,
        **kw,
    )


def journal_of(rt, code: str) -> list[str]:
    with rt.sessions() as s:
        row = s.scalar(select(BasketRow).where(BasketRow.code == codes.normalise(code)))
        return list(
            s.scalars(
                select(BasketJournalRow.event)
                .where(BasketJournalRow.basket_id == row.id)
                .order_by(BasketJournalRow.id)
            )
        )


def test_web_cart_is_picked_up_and_paid_at_the_till(world, hooks, tmp_path) -> None:
    rt, till, shop, _ = world
    prices = tmp_path / "prices.csv"
    prices.write_text("sku,price,list\nTSHIRT-RED-M,25.00,default\nTSHIRT-RED-M,22.00,paris\n")
    import_prices(rt, prices)
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "1")

    shop.push_basket(cart())
    ingest.poll(rt, "webshop", "feed")
    view = flows.by_source(rt, "webshop", "cart-1")
    code = view["code"]
    assert view["status"] == "active" and view["channel"] == "web"
    assert view["lines"][0]["sku"] == "TSHIRT-RED-M"  # canonical SKU, not the shop's
    assert view["golden_id"] is not None  # the cart's e-mail is a customer

    # At the till: typed in lower case with an O for a 0, re-priced and stock-checked.
    typed = code.lower().replace("0", "o")
    at = flows.show(rt, typed, store="PARIS-01")["at_store"]
    (line,) = at["lines"]
    assert line["store_price"] == {"amount": "22.00", "currency": "EUR"}
    assert line["price_list"] == "paris"
    assert line["price_difference"] == "-3.00"
    assert line["available"] == "1" and line["short_by"] == "1"
    assert at["differences"] == 1 and len(line["notes"]) == 2

    flows.handoff(rt, code, "tills", store="PARIS-01")
    assert till.opened[codes.normalise(code)]["location"] == "1001"
    assert till.opened[codes.normalise(code)]["lines"] == [("TSHIRT-RED-M", "2")]
    again = flows.handoff(rt, code, "tills", store="PARIS-01")  # asked twice: one draft
    assert len(till.writes) == 1
    (handed,) = again["handoffs"]
    assert handed["status"] == "open" and handed["id"] == "tills-1"
    assert again["status"] == "transferred"

    till.push_sale(till_sale(1, ("TSHIRT-RED-M", "2"), basket=codes.display(code)))
    ingest.poll(rt, "tills", "feed")
    done = flows.show(rt, code)
    assert done["status"] == "converted"
    assert done["converted_ref"].startswith("tills/1001/01/")
    assert shop.closed == [codes.normalise(code)]  # the web cart is closed on the shop
    assert [w.items[0].external_id for w in shop.writes] == ["cart-1"]

    till.push_sale(till_sale(1, ("TSHIRT-RED-M", "2"), basket=codes.display(code)))
    ingest.poll(rt, "tills", "feed")  # the same ticket again: nothing twice
    assert len(shop.writes) == 1
    assert journal_of(rt, code) == [
        "created", "transferred", "handoff_opened", "converted",
    ]  # fmt: skip
    topics = [e["topic"] for e in delivered(hooks)]
    assert topics == [
        "basket.created", "basket.transferred", "basket.handoff_opened", "basket.converted",
    ]  # fmt: skip


def test_store_basket_becomes_a_web_cart_with_link_and_qr(world, hooks) -> None:
    rt, _, shop, _ = world
    view = flows.build(
        rt,
        store="PARIS-01",
        lines=[BasketLine(sku="TSHIRT-RED-M", quantity=Decimal(1))],
        customer=CustomerRef(email="bob@example.com"),
        request_id="scan-session-9",
    )
    code = view["code"]
    assert view["channel"] == "store" and view["location"] == "PARIS-01"
    assert flows.build(
        rt, store="PARIS-01", lines=[BasketLine(sku="X", quantity=Decimal(1))],
        request_id="scan-session-9",
    )["code"] == code  # fmt: skip
    assert flows.qr_content(rt, code) == code  # not handed over yet: the code itself

    flows.handoff(rt, code, "webshop")
    opened = shop.opened[codes.normalise(code)]
    assert opened["lines"] == [("SHOP-TEE", "1")]  # the shop's own SKU
    link = flows.qr_content(rt, code)
    assert link == "https://shop.test/checkout/webshop-1"
    assert flows.show(rt, code)["url"] == link

    order = till_sale(7, ("TSHIRT-RED-M", "1"), basket="webshop-1").model_copy(
        update={"channel": "web", "key": TicketKey(store="web", transaction_id="5001")}
    )
    shop.push_sale(order)
    ingest.poll(rt, "webshop", "feed")
    assert flows.show(rt, code)["status"] == "converted"
    assert shop.closed == []  # converted where it was opened: nothing to close


def test_lifecycle_updates_wish_list_abandon_reactivate_expire(world, hooks) -> None:
    rt, _, shop, _ = world
    from bridge.baskets import timers

    shop.push_basket(cart(at=T0))
    ingest.poll(rt, "webshop", "feed")
    code = flows.by_source(rt, "webshop", "cart-1")["code"]
    shop.push_basket(cart(qty="3", at=T0 + timedelta(minutes=5)))
    shop.push_basket(cart(qty="1", at=T0 + timedelta(minutes=1)))  # older, arriving late
    ingest.poll(rt, "webshop", "feed")
    view = flows.show(rt, code)
    assert view["lines"][0]["quantity"] == "3"

    assert timers.tick(rt, now=T0 + timedelta(minutes=30)) == {"abandoned": 0, "expired": 0}
    assert timers.tick(rt, now=T0 + timedelta(hours=2)) == {"abandoned": 1, "expired": 0}
    assert timers.tick(rt, now=T0 + timedelta(hours=2)) == {"abandoned": 0, "expired": 0}
    shop.push_basket(cart(qty="4", at=T0 + timedelta(hours=3)))
    ingest.poll(rt, "webshop", "feed")
    assert flows.show(rt, code)["status"] == "active"
    assert timers.tick(rt, now=T0 + timedelta(days=40))["expired"] == 1
    shop.push_basket(cart(qty="5", at=T0 + timedelta(days=41)))
    ingest.poll(rt, "webshop", "feed")
    assert flows.show(rt, code)["status"] == "expired"  # terminal stays terminal

    shop.push_basket(cart("wish-1", kind=BasketStatus.WISH_LIST))
    ingest.poll(rt, "webshop", "feed")
    assert flows.by_source(rt, "webshop", "wish-1")["status"] == "wish_list"
    assert journal_of(rt, code) == [
        "created", "updated", "abandoned", "reactivated", "expired",
    ]  # fmt: skip
    with rt.sessions() as s:
        per_customer = flows.customer_baskets(rt, view["golden_id"])
        assert {b["code"] for b in per_customer} >= {code}
        assert s.scalar(select(func.count()).select_from(EventRow)) == 7


def test_a_refused_handoff_is_a_dead_letter_and_replays(world, hooks) -> None:
    rt, till, _, _ = world
    code = flows.build(
        rt, store="PARIS-01", lines=[BasketLine(sku="TSHIRT-RED-M", quantity=Decimal(1))]
    )["code"]
    till.refuse.add(codes.normalise(code))
    view = flows.handoff(rt, code, "tills", store="PARIS-01")
    assert view["handoffs"][0]["status"] == "failed"
    assert "unknown product" in view["handoffs"][0]["error"]
    with rt.sessions() as s:
        dead = s.scalar(select(DeadLetter).where(DeadLetter.stage == "baskets"))
        assert dead.record == code
    till.refuse.clear()
    deadletters.replay(rt, dead.id)
    view = flows.show(rt, code)
    assert view["handoffs"][0]["status"] == "open"
    assert till.opened[codes.normalise(code)]["id"] == "tills-1"
    assert journal_of(rt, code) == [
        "created", "transferred", "handoff_failed", "handoff_opened",
    ]  # fmt: skip


def test_handoff_refuses_unknown_store_and_platform_without_baskets(world) -> None:
    rt, _, _, _ = world
    from bridge.errors import ConfigError, DataError

    code = flows.build(rt, lines=[BasketLine(sku="A", quantity=Decimal(1))])["code"]
    with pytest.raises(DataError, match="has no id on webshop"):
        flows.handoff(rt, code, "webshop", store="LYON-02")
    with pytest.raises(ConfigError, match="unknown connection"):
        flows.handoff(rt, code, "nowhere")
    with pytest.raises(codes.CodeError, match="wrong or swapped"):
        flows.show(rt, code[:-1] + ("A" if code[-1] != "A" else "B"))

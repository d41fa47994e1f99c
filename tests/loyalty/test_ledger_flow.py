"""Points through the real sync use-cases: earn, redeem, return, web orders, replays, merges.

Every test runs on SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from structlog.testing import capture_logs

from bridge.customers import merge, undo
from bridge.loyalty import ledger
from bridge.loyalty.sales import rescore
from bridge.loyalty.tables import LoyaltyEntryRow
from bridge.loyalty.views import history_json, show_json
from bridge.model import CustomerRef, Money, Tender
from bridge.model.sale import LoyaltyEntry, TicketLink
from bridge.store.tables import DeadLetter, SaleRow
from bridge.sync import deadletters
from tests.loyalty.conftest import DAY, World, item, ticket, web_order

ANNA = CustomerRef(customer_id="C1", loyalty_card="CARD-1", name="Anna Karenina")


def test_a_store_ticket_earns_for_its_customer_and_excluded_lines_earn_nothing(
    world: World,
) -> None:
    world.ring(
        ticket(1, ANNA, item("1", "TSHIRT", "1", "19.99"), item("2", "GIFT-CARD", "1", "50"))
    )
    anna = world.golden("tills", "C1")
    assert world.balance(anna) == 19
    with world.rt.sessions() as s:
        (entry,) = history_json(s, anna)["entries"]
    assert entry["kind"] == "earn" and entry["origin"] == "computed"
    assert entry["points"] == "19" and entry["basis"] == "19.99" and entry["currency"] == "EUR"
    assert entry["key"] == "tills:1001/01/2026-11-23/1:line:1"
    assert entry["ticket"] == "1001/01/2026-11-23/1" and entry["line"] == "1"
    assert entry["balance"] == "19"


def test_a_sale_without_an_identifiable_customer_earns_nothing_and_says_so(world: World) -> None:
    with capture_logs() as logs:
        world.ring(ticket(1, None), ticket(2, CustomerRef(name="Nobody Known")))
    assert world.entries() == []
    assert world.count(SaleRow) == 2  # the sales are kept
    missing = [e for e in logs if e["event"] == "loyalty_no_customer"]
    assert [e["ticket"] for e in missing] == ["1001/01/2026-11-23/1", "1001/01/2026-11-23/2"]
    assert all(e["points"] == "19" for e in missing)
    assert [e["log_level"] for e in missing] == ["info", "warning"]  # anonymous is the norm


def test_points_are_spent_by_loyalty_tenders_and_by_what_a_trusted_till_states(
    world: World,
) -> None:
    paid = ticket(
        1,
        ANNA,
        item("1", "TSHIRT", "1", "20.00"),
        tenders=(
            Tender(kind="Loyalty", amount=Money(amount="1.00", currency="EUR")),
            Tender(kind="cash", amount=Money(amount="19.00", currency="EUR")),
        ),
    )
    world.ring(paid)
    anna = world.golden("tills", "C1")
    assert world.balance(anna) == 20 - 10  # 1.00 paid with points worth 0.10
    stated = ticket(
        5,
        CustomerRef(loyalty_card="CARD-1"),
        item("1", "TSHIRT", "1", "100.00"),  # the till's own figure wins over the rules
        store="2001",
        loyalty=(
            LoyaltyEntry(kind="earned", points=Decimal("12"), line_no="3", card="CARD-1"),
            LoyaltyEntry(kind="redeemed", points=Decimal("5"), line_no="4", card="CARD-1"),
        ),
    )
    world.ring(stated, connection="stated")
    assert world.golden("stated", "card:CARD-1") == anna  # the same card, the same customer
    assert world.balance(anna) == 10 + 12 - 5
    kinds = [(key.rsplit(":", 2)[-2:], kind, pts) for key, kind, pts in world.entries()]
    assert kinds == [
        (["line", "1"], "earn", 200000),
        (["tender", "1"], "redeem", -100000),
        (["3", "earned"], "earn", 120000),
        (["4", "redeemed"], "redeem", -50000),
    ]


def test_returns_take_back_what_the_returned_lines_earned(world: World) -> None:
    world.ring(ticket(1, ANNA, item("1", "SOCKS", "1", "5.00"), item("3", "COAT", "3", "100.00")))
    anna = world.golden("tills", "C1")
    assert world.balance(anna) == 105
    link = TicketLink(store="1001", workstation="01", business_day=DAY, sequence="1", line="3")
    world.ring(ticket(2, ANNA, item("1", "COAT", "-1", "-33.33", link)))
    assert world.balance(anna) == 105 - 33  # 100 x 1/3, rounded down
    world.ring(ticket(3, ANNA, item("1", "COAT", "-2", "-66.67", link)))
    assert world.balance(anna) == 5  # the last units take back exactly what is left
    world.ring(ticket(4, ANNA, item("1", "HAT", "-1", "-19.99")))  # no link: from the refund
    assert world.balance(anna) == 5 - 19


def test_a_web_order_earns_by_the_same_rules_for_the_same_person(world: World) -> None:
    web = CustomerRef(email="Anna@Example.com", channel_ids={"shopify": "207119551"})
    world.order(web_order(1001, web, amount="30.00"))
    online = world.golden("eshop", "email:anna@example.com")
    assert world.balance(online) == 30
    world.ring(ticket(1, CustomerRef(customer_id="C1", email="anna@example.com")))
    assert world.golden("tills", "C1") == online
    assert world.balance(online) == 30 + 19
    with world.rt.sessions() as s:
        channels = {e["channel"] for e in history_json(s, online)["entries"]}
    assert channels == {"web", "store"}


def test_replaying_a_ticket_or_recomputing_it_changes_nothing(world: World) -> None:
    sale = ticket(1, ANNA, item("1", "TSHIRT", "2", "39.98"))
    world.ring(sale)
    before = world.entries()
    world.ring(sale)  # the same ticket polled again: a duplicate inbox key
    with world.rt.sessions() as s:
        row_id = s.scalar(select(SaleRow.id))
    assert rescore(world.rt, row_id) == []  # the hook again, on the journaled sale
    assert world.entries() == before
    assert world.balance(world.golden("tills", "C1")) == 39


def test_a_merge_gives_one_balance_and_its_undo_splits_it_back_exactly(world: World) -> None:
    world.ring(ticket(1, ANNA, item("1", "TSHIRT", "1", "10.00")))
    bob = CustomerRef(email="bob@example.com")
    world.order(web_order(7, bob, amount="30.00"))
    a, b = world.golden("tills", "C1"), world.golden("eshop", "email:bob@example.com")
    assert (world.balance(a), world.balance(b)) == (10, 30)
    with world.rt.transaction() as s:
        merge_id = merge(s, a, b, "same person")
        ledger.adjust(s, a, Decimal(5), "goodwill", "ADJ-1")  # made on the merged record
    assert world.balance(a) == world.balance(b) == 45
    world.order(web_order(8, bob, amount="7.00"))  # bob's record, while merged
    with world.rt.sessions() as s:
        shown = show_json(s, b)
    assert (shown["customer_id"], shown["golden_id"], shown["balance"]) == (b, a, "52")
    with world.rt.transaction() as s:
        undo(s, merge_id)
    assert world.balance(a) == 10 + 5  # the adjustment stays where it was made
    assert world.balance(b) == 30 + 7  # bob's order follows bob's record back


def test_a_till_stating_unreadable_points_keeps_the_sale_and_leaves_a_dead_letter(
    world: World,
) -> None:
    odd = ticket(
        9,
        ANNA,
        store="2001",
        loyalty=(LoyaltyEntry(kind="earned", points=Decimal("1E+30"), line_no="2"),),
    )
    world.ring(odd, connection="stated")
    assert world.count(SaleRow) == 1 and world.entries() == []
    with world.rt.sessions() as s:
        (dl,) = s.scalars(select(DeadLetter)).all()
    assert (dl.stage, dl.connection, dl.record) == ("loyalty", "stated", "2001/01/2026-11-23/9")
    # The admin stops trusting that till's figures; the replay records the ticket again.
    mapping = world.rt.settings.mapping
    assert mapping is not None
    mapping.write_text(mapping.read_text().replace("  points_from: {stated: stated}\n", ""))
    assert world.rt.mapping.reload_if_changed()
    replayed = deadletters.replay(world.rt, dl.id)
    assert replayed.what == "the points of stated/2001/01/2026-11-23/9 will be recorded again"
    with world.rt.sessions() as s:
        rows = s.scalars(select(LoyaltyEntryRow)).all()
        assert s.get(DeadLetter, dl.id).status == "replayed"  # type: ignore[union-attr]
    assert [(r.kind, r.origin, r.points_e4) for r in rows] == [("earn", "computed", 190000)]

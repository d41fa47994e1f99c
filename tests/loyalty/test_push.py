"""Balances pushed to a shop (Shopify metafield) and a POS (Odoo loyalty card) via the outbox.

The real connectors talk to ``responses`` doubles of the documented APIs
(``tests/loyalty/remotes.py``); the sync use-cases and the outbox are the real ones.
"""

from __future__ import annotations

from sqlalchemy import select
from structlog.testing import capture_logs

from bridge.customers import ObservedCustomer, merge, observe, undo
from bridge.loyalty import push
from bridge.loyalty.tables import LoyaltyPublication
from bridge.model import CustomerRef
from bridge.store.tables import DeadLetter, OutboxAttempt, OutboxRow
from bridge.sync import deadletters, sweep
from tests.loyalty.conftest import World, item, ticket

SHOPIFY_ID = "207119551"
GID = f"gid://shopify/Customer/{SHOPIFY_ID}"
ANNA = CustomerRef(
    customer_id="C1", loyalty_card="CARD-1", channel_ids={"odoo": "7", "shopify": SHOPIFY_ID}
)


def test_a_balance_reaches_both_sides_through_the_outbox_and_only_when_it_changed(
    published: World,
) -> None:
    shop, odoo = published.shop, published.odoo
    assert shop is not None and odoo is not None
    published.ring(ticket(1, ANNA, item("1", "TSHIRT", "1", "19.99")))
    assert shop.values == {GID: "19"}
    assert odoo.points_of(7) == 19.0
    assert [method for method, _ in odoo.writes()] == ["create"]  # no card yet: created
    with published.rt.sessions() as s:
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
        assert {(r.connection, r.sink, r.status) for r in rows} == {
            ("shop", "loyalty", "sent"),
            ("odoo", "loyalty", "sent"),
        }
        assert all(r.reference and r.reference.startswith("LoyaltyPush/") for r in rows)
        assert s.scalar(select(OutboxAttempt.outcome)) == "ok"

    # A sale that moves no points, a replayed ticket and pushes with nothing stale: no write.
    calls = (len(shop.calls), len(odoo.writes()))
    published.ring(ticket(2, ANNA, item("1", "GIFT-CARD", "1", "50.00")))
    published.ring(ticket(1, ANNA, item("1", "TSHIRT", "1", "19.99")))
    assert push.push(published.rt, "shop") == [] and push.push(published.rt, "odoo") == []
    swept = sweep.sweep(published.rt, stale_seconds=0)
    assert swept.pushes == 0 and swept.domains["loyalty"] == 0
    assert (len(shop.calls), len(odoo.writes())) == calls

    # Stale again but the same balance: claimed, compared with what was sent, dropped.
    with published.rt.transaction() as s:
        push.mark(s, ["shop", "odoo"], [published.golden("tills", "C1")], "test")
    assert push.push(published.rt, "shop") == [] and push.push(published.rt, "odoo") == []
    assert (len(shop.calls), len(odoo.writes())) == calls
    with published.rt.sessions() as s:
        assert not any(p.dirty for p in s.scalars(select(LoyaltyPublication)))

    published.ring(ticket(3, ANNA, item("1", "COAT", "1", "10.00")))
    assert shop.values == {GID: "29"}
    assert odoo.points_of(7) == 29.0
    assert [method for method, _ in odoo.writes()] == ["create", "write"]  # the same card


def test_ten_sales_in_one_push_window_make_one_write(published: World) -> None:
    shop = published.shop
    assert shop is not None
    published.rt.dispatcher.paused = True  # the pushes wait, as in a coalescing window
    published.ring(*(ticket(n, ANNA, item("1", "SOCKS", "1", "2.00")) for n in range(1, 11)))
    assert shop.calls == []
    published.rt.dispatcher.paused = False
    published.rt.dispatcher.drain()
    assert shop.values == {GID: "20"}
    assert len(shop.calls) == 1


def test_a_card_already_showing_the_balance_is_not_written(published: World) -> None:
    odoo = published.odoo
    assert odoo is not None
    odoo.card(7, 19.0)
    published.ring(ticket(1, ANNA, item("1", "TSHIRT", "1", "19.99")))
    assert odoo.writes() == []
    assert [method for method, _ in odoo.calls] == ["search_read"]


def test_a_refused_account_is_dead_lettered_then_replayed(published: World) -> None:
    shop = published.shop
    assert shop is not None
    shop.refuse.add(GID)
    published.ring(ticket(1, ANNA, item("1", "TSHIRT", "1", "19.99")))
    assert shop.values == {}
    with published.rt.sessions() as s:
        (dl,) = s.scalars(select(DeadLetter).where(DeadLetter.stage == "loyalty_push")).all()
    assert dl.connection == "shop" and "Owner does not exist" in dl.error
    shop.refuse.clear()
    replayed = deadletters.replay(published.rt, dl.id)
    assert "pushed to shop again" in replayed.what
    assert shop.values == {GID: "19"}


def test_after_a_merge_and_its_undo_each_account_shows_its_owner(published: World) -> None:
    shop = published.shop
    assert shop is not None
    x = CustomerRef(customer_id="X", channel_ids={"shopify": "1"})
    y = CustomerRef(customer_id="Y", channel_ids={"shopify": "2"})
    published.ring(ticket(1, x, item("1", "A", "1", "10")), ticket(2, y, item("1", "B", "1", "20")))
    one, two = "gid://shopify/Customer/1", "gid://shopify/Customer/2"
    assert shop.values == {one: "10", two: "20"}
    gx, gy = published.golden("tills", "X"), published.golden("tills", "Y")
    with published.rt.transaction() as s:
        merge_id = merge(s, gx, gy, "same person")
    sweep.sweep(published.rt, stale_seconds=0)  # notices the merge, queues the pushes
    assert shop.values == {one: "30", two: "30"}
    with published.rt.transaction() as s:
        undo(s, merge_id)
    sweep.sweep(published.rt, stale_seconds=0)
    assert shop.values == {one: "10", two: "20"}
    assert published.odoo is not None and published.odoo.writes() == []  # no Odoo account


def test_publishing_to_a_connection_that_cannot_show_points_is_an_admin_error(
    world: World,
) -> None:
    mapping = world.rt.settings.mapping
    assert mapping is not None
    mapping.write_text(mapping.read_text() + "  publish: [tills, ghost]\n")
    assert world.rt.mapping.reload_if_changed()
    with capture_logs() as logs:
        world.ring(ticket(1, ANNA, item("1", "TSHIRT", "1", "19.99")))  # earns, queues pushes
        assert push.push(world.rt, "tills") == [] and push.push(world.rt, "ghost") == []
    errors = {e["event"]: e for e in logs if e["log_level"] == "error"}
    assert "does not write loyalty balances" in errors["loyalty_publish_unsupported"]["error"]
    assert "unknown connection 'ghost'" in errors["loyalty_publish_unconfigured"]["error"]
    assert world.balance(world.golden("tills", "C1")) == 19  # the sale and its points stay
    with world.rt.sessions() as s:
        assert s.scalar(select(OutboxRow.id)) is None


def test_only_real_platform_ids_are_accounts(world: World) -> None:
    """A connection named like its platform files made-up ids (``email:...``) under the
    same prefix as real ones: those name no account and are never written to."""
    record = ObservedCustomer(
        source="shopify", source_id="email:a@b.fr", email="a@b.fr", channel_ids={"shopify": "42"}
    )
    with world.rt.transaction() as s:
        golden = observe(s, record)
        assert push.external_ids(s, golden, "shopify") == ["42"]

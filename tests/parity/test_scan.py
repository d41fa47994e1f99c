"""The watchdog end to end on SQLite and PostgreSQL: price changes and scans open a
divergence once, re-scans stay silent, a fix resolves it once, and what shops hold and
tills ring is judged too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from bridge.parity.scan import check_parity
from bridge.parity.tables import ParityState
from bridge.parity.triggers import CHECK, scan_if_due
from bridge.store.tables import PriceRow
from tests.parity.world import World


def test_equal_prices_everywhere_open_nothing(world: World) -> None:
    # The outlet shows 16.67 tax excluded: 20.00 once tax is added back and rounded.
    world.prices("TSHIRT-RED-M,20.00,default", "SOCKS,5.00,default")
    assert (CHECK, ("SOCKS", "TSHIRT-RED-M")) in world.dispatcher.log  # a change is checked
    assert world.outlet.prices["TSHIRT-RED-M"] == {"price": "16.67"}
    result = check_parity(world.rt)
    assert (result.skus, result.opened, result.resolved, result.skipped) == (2, 0, 0, None)
    assert world.divergences() == []
    assert world.events() == []


def test_a_cheaper_store_list_opens_one_divergence_until_it_is_fixed(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default", "TSHIRT-RED-M,19.99,lyon")
    assert world.divergences() == []  # 0.01 apart: within the tolerance

    world.prices("TSHIRT-RED-M,18.00,lyon")
    (row,) = world.divergences()
    assert (row.sku, row.rule, row.member, row.status, row.occurrence) == (
        "TSHIRT-RED-M", "group:france", "store:LYON-02", "open", 1,
    )  # fmt: skip
    assert (row.observed, row.expected, row.currency) == ("18.00", "20.00", "EUR")
    assert "10.0% below 20.00" in row.message and "reference list:default" in row.message
    assert json.loads(row.prices)["list:default"] == {
        "price": "20.00", "source": "list", "price_list": "default",
    }  # fmt: skip
    (event,) = world.events()
    assert (event.topic, event.subject) == ("price.divergence", "sku/TSHIRT-RED-M")
    payload = json.loads(event.payload)
    assert payload["member"] == "store:LYON-02" and payload["observed"] == "18.00"
    assert payload["basis"] == "tax included"
    assert world.dispatcher.delivered == [event.id]  # delivery asked for, after the commit

    # Scanning again finds the same divergence: no second alert.
    seen = row.last_seen
    assert check_parity(world.rt).opened == 0
    assert check_parity(world.rt, "TSHIRT-RED-M").opened == 0
    assert len(world.events()) == 1 and world.dispatcher.delivered == [event.id]
    (again,) = world.divergences()
    assert again.status == "open" and again.last_seen >= seen

    # Fixing the price resolves it, once.
    world.prices("TSHIRT-RED-M,20.00,lyon")
    (fixed,) = world.divergences()
    assert fixed.status == "resolved" and fixed.resolved_at is not None
    opened, restored = world.events()
    assert restored.topic == "price.parity_restored"
    assert json.loads(restored.payload)["now"] == {"price": "20.00"}
    assert check_parity(world.rt).resolved == 0
    assert len(world.events()) == 2 and world.dispatcher.delivered == [opened.id, restored.id]

    # Coming back is a new occurrence, alerted again.
    world.prices("TSHIRT-RED-M,17.00,lyon")
    (back,) = world.divergences()
    assert (back.id, back.status, back.occurrence, back.observed) == (row.id, "open", 2, "17.00")
    assert [e.topic for e in world.events()] == [
        "price.divergence", "price.parity_restored", "price.divergence",
    ]  # fmt: skip


def test_an_intended_channel_discount_within_policy_is_not_a_divergence(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default", "TSHIRT-RED-M,18.00,outlet")  # 10% cheaper
    assert world.outlet.prices["TSHIRT-RED-M"] == {"price": "15.00"}
    assert check_parity(world.rt).opened == 0
    assert world.divergences() == [] and world.events() == []

    world.prices("TSHIRT-RED-M,16.00,outlet")  # 20% cheaper: beyond the intended 15%
    (row,) = world.divergences()
    assert (row.rule, row.member, row.observed, row.expected) == (
        "group:outlet", "channel:outlet", "16.00", "20.00",
    )  # fmt: skip
    assert "intended difference up to 15% cheaper" in row.message


def test_a_shop_holding_a_stale_price_diverges_from_what_is_computed(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default")
    world.shop.refuse_skus = {"TSHIRT-RED-M"}  # the shop refuses the next write
    world.prices("TSHIRT-RED-M,25.00,default")
    (row,) = world.divergences()
    assert (row.rule, row.member, row.observed, row.expected) == (
        "shop_holds", "channel:webshop", "20.00", "25.00",
    )  # fmt: skip
    assert row.message.startswith("webshop holds 20.00, the mapping computes 25.00")
    assert json.loads(row.prices)["channel:webshop@held"] == {"price": "20.00", "source": "held"}

    world.shop.refuse_skus = set()
    world.prices("TSHIRT-RED-M,26.00,default")
    (row,) = world.divergences()
    assert row.status == "resolved"
    assert [e.topic for e in world.events()] == ["price.divergence", "price.parity_restored"]


def test_a_push_under_way_is_not_judged(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default")
    world.dispatcher.paused = True  # the push is queued, not yet run
    world.prices("TSHIRT-RED-M,30.00,default")
    assert check_parity(world.rt, "TSHIRT-RED-M").opened == 0
    world.dispatcher.paused = False
    world.dispatcher.drain()
    assert world.shop.prices["TSHIRT-RED-M"] == {"price": "30.00"}
    assert check_parity(world.rt).opened == 0
    assert world.divergences() == []


def _backdate_prices(world: World, hours: int) -> None:
    with world.rt.transaction() as s:
        at = datetime.now(UTC) - timedelta(hours=hours)
        s.execute(update(PriceRow).values(updated_at=at))


def test_a_till_ringing_another_price_than_its_list_is_flagged(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default", "SOCKS,5.00,default")
    _backdate_prices(world, 2)  # the list has been in force for two hours
    world.ring("1002", 1, ("TSHIRT-RED-M", "18.00"), ("SOCKS", "5.00"))
    result = check_parity(world.rt)
    assert result.rings == 1 and result.opened == 1
    (row,) = world.divergences()
    assert (row.sku, row.rule, row.member, row.observed, row.expected) == (
        "TSHIRT-RED-M", "till", "store:LYON-02", "18.00", "20.00",
    )  # fmt: skip
    assert "a till at LYON-02 rang 18.00" in row.message and "1002/01/2026-11-23/1" in row.message
    assert json.loads(row.prices)["store:LYON-02@till"]["source"] == "till"

    # A later ticket at the list price: the till is right again.
    world.ring("1002", 2, ("TSHIRT-RED-M", "20.00"))
    check_parity(world.rt)
    assert [r.status for r in world.divergences()] == ["resolved"]
    # An older ticket arriving late does not replace the latest ring.
    world.ring("1002", 3, ("TSHIRT-RED-M", "18.00"), at=datetime.now(UTC) - timedelta(minutes=30))
    assert check_parity(world.rt).opened == 0


def test_a_till_still_on_the_old_price_within_the_grace_period_is_not_flagged(
    world: World,
) -> None:
    world.prices("SOCKS,5.00,default")  # changed just now: tills have an hour to follow
    world.ring("1001", 1, ("SOCKS", "4.50"))
    assert check_parity(world.rt).opened == 0
    assert world.divergences() == []


def test_the_schedule_asks_for_a_full_scan_once_per_interval(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default")
    assert scan_if_due(world.rt) is True
    assert world.dispatcher.log[-1] == (CHECK, ())
    with world.rt.sessions() as s:
        state = s.get(ParityState, "prices")
        assert state is not None and state.scan_finished_at is not None
        assert state.skus_scanned == 1
    assert scan_if_due(world.rt) is False  # within the hour
    with world.rt.transaction() as s:
        s.execute(
            update(ParityState).values(scan_requested_at=datetime.now(UTC) - timedelta(hours=2))
        )
    assert scan_if_due(world.rt) is True


def test_without_a_policy_nothing_runs(tmp_path, database_url: str) -> None:
    from tests.parity.world import mapping_text

    world = World(tmp_path, database_url, mapping_text(policy=None))
    try:
        world.prices("TSHIRT-RED-M,20.00,default", "TSHIRT-RED-M,10.00,lyon")
        assert not [c for c in world.dispatcher.log if c[0] == CHECK]
        assert scan_if_due(world.rt) is False
        assert check_parity(world.rt).skipped is not None
        assert world.divergences() == []
    finally:
        world.close()


def test_excluded_skus_and_lists_are_not_compared(tmp_path, database_url: str) -> None:
    from tests.parity.world import POLICY, mapping_text

    policy = POLICY + '    exclude: {skus: ["GIFT-*"], price_lists: [belgium]}\n'
    policy = policy.replace("regions: [FR]", "regions: [FR, BE]")
    world = World(tmp_path, database_url, mapping_text(policy))
    try:
        world.prices(
            "GIFT-50,20.00,default", "GIFT-50,10.00,lyon",  # an excluded SKU
            "SOCKS,5.00,default", "SOCKS,4.00,belgium",  # an excluded list
            "SCARF,30.00,default", "SCARF,25.00,lyon",  # neither
        )  # fmt: skip
        assert [(r.sku, r.member) for r in world.divergences()] == [("SCARF", "store:LYON-02")]
        # Excluding a SKU later resolves its open divergence.
        text = world.mapping.read_text().replace('"GIFT-*"', '"GIFT-*", SCARF')
        world.mapping.write_text(text)
        assert world.rt.mapping.reload_if_changed()
        assert check_parity(world.rt).resolved == 1
    finally:
        world.close()


def test_a_policy_naming_an_unknown_store_stops_with_its_place_in_the_file(
    tmp_path, database_url: str
) -> None:
    """Refused when the mapping loads (a running installation keeps its last good one)."""
    from bridge.yamlio import YamlConfigError
    from tests.parity.world import POLICY, mapping_text

    with pytest.raises(YamlConfigError) as caught:
        World(tmp_path, database_url, mapping_text(POLICY.replace("[FR]", "[FR, PARIS-1]")))
    assert str(caught.value).endswith(
        "mapping.yaml:31:23: prices.parity.groups.france.regions.1: no store in region "
        "'PARIS-1' (regions: BE, FR)"
    )


def test_prices_gone_from_the_referential_resolve_their_divergences(world: World) -> None:
    world.prices("TSHIRT-RED-M,20.00,default", "TSHIRT-RED-M,18.00,lyon")
    assert len(world.divergences("open")) == 1
    with world.rt.transaction() as s:
        s.execute(PriceRow.__table__.delete())
    assert check_parity(world.rt).resolved == 1
    assert world.divergences("open") == []


def test_a_large_catalogue_is_read_in_pages_not_per_sku(world: World) -> None:
    """2,500 SKUs x 2 shops x 3 stores: the statements grow with pages, not with SKUs."""
    from sqlalchemy import event, insert

    now = datetime.now(UTC)
    rows = [
        {"sku": f"SKU-{n:05d}", "price_list": "default", "amount": "10.00", "currency": "EUR",
         "tax_included": True, "updated_at": now}
        for n in range(2500)
    ]  # fmt: skip
    rows += [
        {**row, "price_list": "lyon", "amount": "9.00"} for row in rows[::100]
    ]  # one SKU in a hundred is cheaper in Lyon
    with world.rt.transaction() as s:
        s.execute(insert(PriceRow), rows)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(world.rt.engine, "before_cursor_execute", listener)
    try:
        result = check_parity(world.rt)
        first, statements[:] = len(statements), []
        again = check_parity(world.rt)  # the steady state: everything already known
    finally:
        event.remove(world.rt.engine, "before_cursor_execute", listener)
    assert (result.skus, result.opened) == (2500, 25)
    assert (again.skus, again.opened, again.resolved) == (2500, 0, 0)
    assert len(world.events()) == 25
    # Three pages of 1,000: a handful of statements each, plus a few per new divergence.
    assert first < 25 * 5 + 40, first
    assert len(statements) < 40, statements
    divergent = sorted(r.sku for r in world.divergences())
    assert divergent == [f"SKU-{n:05d}" for n in range(0, 2500, 100)]
    assert {r.observed for r in world.divergences()} == {str(Decimal("9.00"))}


def test_a_shop_field_holding_the_price_in_another_form_is_judged_by_fingerprint(
    tmp_path, database_url: str, no_commit_margin: None
) -> None:
    """The webshop's rule writes ``price`` in cents: what was sent reads 2000, not 20.00,
    and is still what the mapping computes (the push's own fingerprint says so)."""
    from tests.parity.world import mapping_text

    cents = "price: {from: price.amount, apply: [{multiply: 100}, integer]}"
    text = mapping_text().replace("price: {from: price.amount, apply: [string]}", cents)
    world = World(tmp_path, database_url, text)
    try:
        world.prices("TSHIRT-RED-M,20.00,default")
        assert world.shop.prices["TSHIRT-RED-M"] == {"price": 2000}
        assert check_parity(world.rt).opened == 0
        world.shop.refuse_skus = {"TSHIRT-RED-M"}
        world.prices("TSHIRT-RED-M,21.00,default")
        (row,) = world.divergences()
        assert (row.rule, row.expected) == ("shop_holds", "21.00")
    finally:
        world.close()


def test_sales_just_recorded_wait_for_the_commit_margin_on_postgresql(
    tmp_path, database_url: str, monkeypatch
) -> None:
    """PostgreSQL hands out ids at insert and shows rows at commit: the journal cursor stays
    behind sales younger than the margin so an earlier id still uncommitted is not skipped.
    SQLite commits one writer at a time: nothing to wait for."""
    from bridge.parity import tills
    from tests.parity.world import mapping_text

    monkeypatch.setattr(tills, "COMMIT_MARGIN", timedelta(hours=1))
    world = World(tmp_path, database_url, mapping_text())
    try:
        world.ring("1001", 1, ("SOCKS", "5.00"))
        postgres = database_url.startswith("postgresql")
        assert tills.catch_up(world.rt, timedelta(days=30)) == (0 if postgres else 1)
        monkeypatch.setattr(tills, "COMMIT_MARGIN", timedelta(0))
        assert tills.catch_up(world.rt, timedelta(days=30)) == (1 if postgres else 0)
        assert tills.catch_up(world.rt, timedelta(days=30)) == 0  # each sale is read once
    finally:
        world.close()

"""The sync use-cases end to end in one process: inbox -> ledger -> coalesced shop writes.

Runs on SQLite and on PostgreSQL. Follow-up work runs through an inline dispatcher; the
same use-cases run under real Celery workers in ``test_flow_workers.py``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.errors import AuthError, RateLimited, TransientError
from bridge.model import Money, Sale, SaleLine, SaleStatus, TicketKey
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.store.tables import (
    DeadLetter,
    InboxRow,
    OutboxAttempt,
    OutboxRow,
    SaleRow,
    StockMovementRow,
    StockPublication,
)
from bridge.sync import apply, deadletters, ingest, push_stock, reconcile, sweep
from bridge.sync.runtime import Runtime
from tests.fakes import FakePos, FakeShop, InlineDispatcher

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
  - code: LYON-02
    ids: {tills: "1002", webshop: "gid://shopify/Location/2"}
    safety_buffer: "2"
skus:
  tills: {"3600000000017": TSHIRT-RED-M}
"""
PARIS = "gid://shopify/Location/1"


def sale(seq: int, *lines: tuple[str, str], store: str = "1001", **kw: object) -> Sale:
    return Sale(
        key=TicketKey(
            store=store, workstation="01", business_day=date(2026, 11, 23), sequence=str(seq)
        ),
        status=kw.pop("status", SaleStatus.COMPLETED),
        currency="EUR",
        lines=tuple(
            SaleLine(
                line_no=str(i),
                sku=sku,
                quantity=Decimal(qty),
                unit_price=Money(amount="10.00", currency="EUR"),
                is_return=Decimal(qty) < 0,
                voided=bool(kw.get(f"void{i}", False)),
            )
            for i, (sku, qty) in enumerate(lines, start=1)
        ),
    )


def make_world(tmp_path: Path, database_url: str, mapping_text: str):
    """A runtime on a fresh database with a fake till ("tills") and a fake shop ("webshop")."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_text)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="poslog"),
            "webshop": ConnectionSettings(connector="shopify"),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    pos, shop = FakePos(), FakeShop()
    rt.use("tills", pos)
    rt.use("webshop", shop)
    return rt, pos, shop, dispatcher


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    world = make_world(tmp_path, database_url, MAPPING)
    yield world
    world[0].close()


def count_stock(rt: Runtime, sku: str, location: str, qty: str) -> None:
    from bridge.sync.stock_import import import_counts

    path = rt.settings.data_dir / f"count-{sku}-{location}-{qty}.csv"
    path.write_text(f"sku,location,quantity\n{sku},{location},{qty}\n")
    import_counts(rt, path)


def test_sale_lowers_shop_stock_once(world) -> None:
    rt, pos, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 20
    pos.pending = [sale(1, ("3600000000017", "2"))]
    ingest.poll(rt, "tills", "sales")
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 18
    write = shop.calls[-1]
    assert write.items[0].previous == 20  # compare-and-set against what we published
    with rt.sessions() as s:
        moves = s.scalars(select(StockMovementRow).where(StockMovementRow.reason == "sale")).all()
        assert [(m.sku, m.location, m.delta_e4) for m in moves] == [
            ("TSHIRT-RED-M", "PARIS-01", -20000)
        ]
        assert moves[0].mapping_version == rt.mapping.plan.version
        assert s.scalar(select(func.count()).select_from(SaleRow)) == 1


def test_replaying_the_same_ticket_changes_nothing(world) -> None:
    rt, pos, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    pos.pending = [sale(1, ("3600000000017", "2"))]
    ingest.poll(rt, "tills", "sales")
    calls = len(shop.calls)
    pos.pending = [sale(1, ("3600000000017", "2"))]
    result = ingest.poll(rt, "tills", "sales")
    assert result.duplicates == 1 and not result.accepted
    with rt.sessions() as s:
        inbox_id = s.scalar(select(InboxRow.id))
    # A redelivered message for an already-processed row is a no-op too.
    assert apply.process_inbox(rt, inbox_id) == []
    assert len(shop.calls) == calls
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 18


def test_return_restocks_and_cancelled_or_voided_lines_do_not_move(world) -> None:
    rt, pos, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    pos.pending = [
        sale(1, ("3600000000017", "2")),
        sale(2, ("3600000000017", "-1")),
        sale(3, ("3600000000017", "5"), status=SaleStatus.CANCELLED),
        sale(4, ("3600000000017", "3"), void1=True),
    ]
    ingest.poll(rt, "tills", "sales")
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 19
    with rt.sessions() as s:
        reasons = sorted(s.scalars(select(StockMovementRow.reason)).all())
        assert reasons == ["count", "return", "sale"]
        assert s.scalar(select(func.count()).select_from(SaleRow)) == 4


def test_ten_sales_coalesce_into_one_write(world) -> None:
    rt, pos, shop, dispatcher = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    before = len(shop.calls)
    dispatcher.paused = True
    pos.pending = [sale(i, ("3600000000017", "1")) for i in range(1, 11)]
    ingest.poll(rt, "tills", "sales")
    dispatcher.paused = False
    dispatcher.drain()
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 10
    assert len(shop.calls) - before == 1
    pushes = [c for c in dispatcher.log if c[0] == "push_stock"]
    assert len(pushes) == 2  # one for the count import, one for the ten sales


def test_batches_respect_the_connector_maximum(world) -> None:
    rt, pos, shop, _ = world
    pos.pending = [sale(1, *[(f"SKU-{i}", "1") for i in range(7)])]
    ingest.poll(rt, "tills", "sales")
    assert [len(c.items) for c in shop.calls] == [3, 3, 1]
    assert len({c.idempotency_key for c in shop.calls}) == 3
    # Nothing was counted, so the shop may sell nothing: never a negative quantity.
    assert all(q == 0 for q in shop.levels.values())


def test_safety_buffer_is_kept_back(world) -> None:
    rt, _, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "LYON-02", "5")
    assert shop.levels[("TSHIRT-RED-M", "gid://shopify/Location/2")] == 3


def test_unmapped_store_goes_to_dead_letters_and_replays(world, tmp_path) -> None:
    rt, pos, shop, _ = world
    pos.pending = [sale(1, ("3600000000017", "1"), store="9999")]
    ingest.poll(rt, "tills", "sales")
    with rt.sessions() as s:
        dl = s.scalars(select(DeadLetter)).one()
        assert dl.stage == "inbox" and "9999" in dl.error and "locations" in dl.error
        assert dl.actor == "data owner"
    assert not shop.calls
    # The admin adds the store to the mapping, then replays.
    rt.settings.mapping.write_text(MAPPING.replace('"1002"', '"9999"'))
    import os

    os.utime(rt.settings.mapping, (1, 1))
    assert rt.mapping.reload_if_changed()
    deadletters.replay(rt, dl.id)
    with rt.sessions() as s:
        assert s.scalar(select(InboxRow.status)) == "done"
        assert s.get(DeadLetter, dl.id).status == "replayed"
    assert ("TSHIRT-RED-M", "gid://shopify/Location/2") in shop.levels


def test_refused_item_is_dead_lettered_and_the_rest_written(world) -> None:
    rt, pos, shop, _ = world
    shop.refuse_skus = {"GHOST"}
    pos.pending = [sale(1, ("GHOST", "1"), ("3600000000017", "1"))]
    ingest.poll(rt, "tills", "sales")
    assert ("TSHIRT-RED-M", PARIS) in shop.levels
    with rt.sessions() as s:
        dl = s.scalars(select(DeadLetter)).one()
        assert dl.stage == "outbox" and dl.record == "GHOST@PARIS-01"
        ghost = s.scalars(select(StockPublication).where(StockPublication.sku == "GHOST")).one()
        assert not ghost.dirty and ghost.claimed_by is None and ghost.published_e4 is None


def test_transient_failure_keeps_outbox_pending_and_resend_is_idempotent(world) -> None:
    rt, pos, shop, dispatcher = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    shop.fail_next = [TransientError("503")]
    pos.pending = [sale(1, ("3600000000017", "2"))]
    with pytest.raises(TransientError):
        ingest.poll(rt, "tills", "sales")
    dispatcher.queue.clear()
    dispatcher.running = False
    with rt.sessions() as s:
        out = s.scalars(select(OutboxRow).where(OutboxRow.status == "pending")).one()
        attempts = s.scalars(select(OutboxAttempt).where(OutboxAttempt.outbox_id == out.id)).all()
        assert [a.outcome for a in attempts] == ["transient"]
    # The sweeper finds the pending row and sends it again, with the same key.
    result = sweep.sweep(rt, stale_seconds=0)
    assert result.outbox == 1
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 18
    assert shop.calls[-1].idempotency_key == out.idempotency_key


def test_crash_after_remote_write_resends_same_key_without_double_effect(world) -> None:
    rt, pos, shop, dispatcher = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    dispatcher.paused = True
    pos.pending = [sale(1, ("3600000000017", "2"))]
    ingest.poll(rt, "tills", "sales")
    dispatcher.queue.clear()
    with rt.sessions() as s:
        inbox_id = s.scalar(select(InboxRow.id).where(InboxRow.status == "pending"))
    apply.process_inbox(rt, inbox_id)
    outbox_id = push_stock.claim(rt, "webshop")
    # The remote applies the write, then the worker dies before recording it.
    batch_key = None
    real_write = shop.write

    def write_then_crash(sink, batch):
        nonlocal batch_key
        batch_key = batch.idempotency_key
        real_write(sink, batch)
        raise SystemExit("worker killed")

    shop.write = write_then_crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        push_stock.send(rt, outbox_id)
    shop.write = real_write  # type: ignore[method-assign]
    dispatcher.paused = False
    sweep.sweep(rt, stale_seconds=0)
    assert shop.calls[-1].idempotency_key == batch_key
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 18
    with rt.sessions() as s:
        assert s.get(OutboxRow, outbox_id).status == "sent"
        assert s.get(OutboxRow, outbox_id).attempts == 2


def test_auth_error_stops_the_connection(world) -> None:
    rt, pos, shop, _ = world
    shop.fail_next = [AuthError("401")]
    pos.pending = [sale(1, ("3600000000017", "1"))]
    with pytest.raises(AuthError):
        ingest.poll(rt, "tills", "sales")
    from bridge.sync.status import connection_status

    report = connection_status(rt)
    assert report["webshop"]["state"] == "stopped"
    assert push_stock.claim(rt, "webshop") is None


def test_rate_limited_is_recorded_as_such(world) -> None:
    rt, pos, shop, _ = world
    shop.fail_next = [RateLimited("429", retry_after=2)]
    pos.pending = [sale(1, ("3600000000017", "1"))]
    with pytest.raises(RateLimited) as info:
        ingest.poll(rt, "tills", "sales")
    assert info.value.retry_after == 2
    with rt.sessions() as s:
        assert s.scalar(select(OutboxAttempt.outcome)) == "rate_limited"


def test_echo_of_our_own_write_is_dropped_and_drift_is_corrected(world) -> None:
    rt, _, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    calls = len(shop.calls)
    from bridge.connector import InboundEvent

    echo = InboundEvent(
        key="hook-1",
        kind="level",
        payload={"sku": "TSHIRT-RED-M", "location": PARIS, "available": "20"},
    )
    drift = InboundEvent(
        key="hook-2",
        kind="level",
        payload={"sku": "TSHIRT-RED-M", "location": PARIS, "available": "7"},
    )
    with rt.transaction() as s:
        stored = ingest._store(s, "webshop", [echo, drift])
    for inbox_id in stored.accepted:
        for shop_name in apply.process_inbox(rt, inbox_id):
            push_stock.push(rt, shop_name)
    with rt.sessions() as s:
        statuses = dict(s.execute(select(InboxRow.event_key, InboxRow.status)).all())
    assert statuses == {"hook-1": "echo", "hook-2": "done"}
    assert len(shop.calls) == calls + 1
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 20


def test_reconciliation_repairs_a_hand_edit(world) -> None:
    rt, _, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    shop.levels[("TSHIRT-RED-M", PARIS)] = Decimal(3)
    result = reconcile.reconcile_stock(rt, "webshop")
    assert (result.checked, result.drifted) == (1, 1)
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 20
    assert reconcile.reconcile_stock(rt, "webshop").drifted == 0


def test_a_gap_in_a_registers_ticket_numbers_is_reported_until_filled(world) -> None:
    from bridge.sync.status import connection_status

    rt, pos, _, _ = world
    pos.pending = [sale(n, ("3600000000017", "1")) for n in (1, 2, 5)]
    pos.pending.append(sale(9, ("3600000000017", "1"), store="1002"))
    ingest.poll(rt, "tills", "sales")
    gaps = connection_status(rt)["tills"]["ticket_gaps"]
    assert gaps == ["tills store 1001 register 01 on 2026-11-23: ticket(s) 3, 4 missing"]
    pos.pending = [sale(n, ("3600000000017", "1")) for n in (3, 4)]
    ingest.poll(rt, "tills", "sales")
    assert connection_status(rt)["tills"]["ticket_gaps"] == []


def test_changes_to_many_skus_in_a_window_queue_one_push(world) -> None:
    rt, pos, shop, dispatcher = world
    dispatcher.paused = True
    pos.pending = [sale(i, (f"SKU-{i % 5}", "1")) for i in range(1, 21)]
    ingest.poll(rt, "tills", "sales")
    inbox = [args for name, args in dispatcher.queue if name == "process_inbox"]
    dispatcher.queue.clear()
    pushes = []
    for (inbox_id,) in inbox:
        pushes += apply.process_inbox(rt, inbox_id)
    assert pushes == ["webshop"]
    push_stock.push(rt, "webshop")
    assert len(shop.calls) == 2  # 5 SKUs in batches of 3: the cost follows the changes
    # Once that push has started, the next change queues the next push.
    pos.pending = [sale(99, ("SKU-1", "1"))]
    ingest.poll(rt, "tills", "sales")
    (_, (inbox_id,)) = dispatcher.queue.popleft()
    assert apply.process_inbox(rt, inbox_id) == ["webshop"]


def test_a_rate_limited_write_is_resent_by_the_retried_push(world) -> None:
    rt, pos, shop, dispatcher = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    shop.fail_next = [RateLimited("429", retry_after=1)]
    pos.pending = [sale(1, ("3600000000017", "2"))]
    with pytest.raises(RateLimited):
        ingest.poll(rt, "tills", "sales")
    dispatcher.queue.clear()
    dispatcher.running = False
    # What Celery does after retry_after: run the same push again. No sweeper needed.
    assert push_stock.push(rt, "webshop")
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 18
    with rt.sessions() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
            )
            == 0
        )


def test_a_refused_compare_and_set_is_recomputed_from_the_ledger(world) -> None:
    rt, pos, shop, _ = world
    count_stock(rt, "TSHIRT-RED-M", "PARIS-01", "20")
    shop.levels[("TSHIRT-RED-M", PARIS)] = Decimal(3)  # someone edits the shop meanwhile
    pos.pending = [sale(1, ("3600000000017", "2"))]
    ingest.poll(rt, "tills", "sales")
    first, second = shop.calls[-2:]
    assert (first.items[0].previous, first.items[0].quantity) == (20, 18)  # refused: holds 3
    assert (second.items[0].previous, second.items[0].quantity) == (3, 18)
    assert shop.levels[("TSHIRT-RED-M", PARIS)] == 18
    with rt.sessions() as s:
        pub = s.scalars(select(StockPublication)).one()
        assert (pub.dirty, pub.claimed_by, pub.published_e4) == (False, None, 180000)


def test_push_leaves_a_write_in_flight_elsewhere_alone(world) -> None:
    rt, pos, shop, dispatcher = world
    dispatcher.paused = True
    pos.pending = [sale(1, ("3600000000017", "1"))]
    ingest.poll(rt, "tills", "sales")
    (_, (inbox_id,)) = dispatcher.queue.popleft()
    apply.process_inbox(rt, inbox_id)
    outbox_id = push_stock.claim(rt, "webshop")
    with rt.transaction() as s:  # another worker started sending it and has not finished
        s.add(OutboxAttempt(outbox_id=outbox_id))
    assert push_stock.push(rt, "webshop") == []
    assert not shop.calls
    rt.settings.stale_seconds = 0  # ...until that attempt is older than stale_seconds
    assert push_stock.push(rt, "webshop") == [outbox_id]
    assert len(shop.calls) == 1


@pytest.mark.parametrize("payload", ["x" * 300 + "/y", "store,ticket\n1,2\n", "a\0b"])
def test_an_ingest_dead_letter_holding_content_is_not_taken_for_a_file(world, payload) -> None:
    """A rejected ticket's rows (long, multi-line, odd bytes) cannot be replayed as a file:
    the replay says so instead of crashing on the file system."""
    from bridge.errors import ConfigError

    rt, *_ = world
    with rt.transaction() as s:
        dl = deadletters.record(
            s, connection="tills", stage="ingest", error="bad row", payload=payload
        )
        s.flush()
        dl_id = dl.id
    with pytest.raises(ConfigError, match="cannot be replayed automatically"):
        deadletters.replay(rt, dl_id)

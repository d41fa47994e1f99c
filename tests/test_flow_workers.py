"""The foundation flow with real worker processes, on every supported broker and database.

A POSLog sale dropped in a folder lowers the shop's stock through the inbox, a Celery
worker, the ledger and one coalesced Shopify write; replays change nothing; a worker killed
with SIGKILL mid-flight loses nothing and applies nothing twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.connector import WebhookRequest
from bridge.store.tables import InboxRow, StockMovementRow
from bridge.sync import ingest, sweep
from bridge.sync.stock_import import import_counts
from connectors.poslog.samples import BUSINESS_DAY, Line, document, ticket, transaction
from connectors.shopify.sandbox import SandboxServer
from tests.flow import PARIS_GID, SKUS, TOKEN, Installation, shop_seed
from tests.support import wait_until

pytestmark = pytest.mark.slow

BACKENDS = ["embedded", "postgresql+redis", "postgresql+rabbitmq"]


@pytest.fixture(params=BACKENDS)
def install(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installation]:
    if request.param == "embedded":
        database_url, broker_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}", None
    else:
        database_url = request.getfixturevalue("postgres_url")
        broker = "redis_url" if request.param.endswith("redis") else "rabbitmq_url"
        broker_url = request.getfixturevalue(broker)
    with SandboxServer(shop_seed(), access_token=TOKEN) as sandbox:
        inst = Installation(tmp_path, database_url, broker_url, sandbox)
        try:
            yield inst
        except BaseException:
            print(inst.logs())
            raise
        finally:
            inst.close()


def counted(inst: Installation, quantities: dict[str, int]) -> None:
    path = inst.root / "count.csv"
    path.write_text(
        "sku,location,quantity\n" + "".join(f"{s},PARIS-01,{q}\n" for s, q in quantities.items())
    )
    import_counts(inst.rt, path)


def test_store_sale_reaches_shop_stock(install: Installation) -> None:
    inst = install
    inst.start("worker", "--concurrency", "2")
    counted(inst, {"TSHIRT-RED-M": 20})
    wait_until(lambda: inst.level("TSHIRT-RED-M") == 20, what="the counted stock on the shop")
    writes_before = inst.sandbox.state.stats["mutations"]

    sale = ticket("1001", 1, [Line("3600000000017", "2")])
    inst.drop("sale-1.xml", sale)
    ingest.poll(inst.rt, "tills", "sales")
    wait_until(lambda: inst.level("TSHIRT-RED-M") == 18, what="the sale on the shop")
    wait_until(inst.settled, what="the installation to settle")
    assert inst.sandbox.state.stats["mutations"] == writes_before + 1
    last = inst.sandbox.state.snapshot()["history"][-1]
    day = BUSINESS_DAY.isoformat()
    assert last["reason"] == "correction"
    assert last["reference_document_uri"] == f"gid://brique/Ticket/1001%2F01%2F{day}%2F1"
    assert (inst.incoming / "done" / "sale-1.xml").exists()

    inst.drop("return-2.xml", ticket("1001", 2, [Line("3600000000017", "1", returned=True)]))
    ingest.poll(inst.rt, "tills", "sales")
    wait_until(lambda: inst.level("TSHIRT-RED-M") == 19, what="the return on the shop")
    wait_until(inst.settled, what="the installation to settle")

    # The same file again: the inbox knows the tickets, nothing moves, nothing is written.
    writes = inst.sandbox.state.stats["mutations"]
    inst.drop("sale-1-again.xml", sale)
    result = ingest.poll(inst.rt, "tills", "sales")
    assert (len(result.accepted), result.duplicates) == (0, 1)
    wait_until(inst.settled, what="the installation to settle")
    assert inst.level("TSHIRT-RED-M") == 19
    assert inst.sandbox.state.stats["mutations"] == writes
    with inst.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StockMovementRow)) == 3

    # Shopify tells us about our own write: an echo, dropped. Someone edits stock by hand
    # in the shop: drift, and the ledger's truth is published again.
    item = inst.sandbox.state.item_for("TSHIRT-RED-M").rsplit("/", 1)[-1]
    for delivery, available in (("echo-1", 19), ("drift-1", 4)):
        inst.sandbox.state.set_level("TSHIRT-RED-M", PARIS_GID, available)
        body = json.dumps(
            {"inventory_item_id": int(item), "location_id": 1001, "available": available}
        ).encode()
        signature = hmac.new(b"hook-secret", body, hashlib.sha256).digest()
        headers = {
            "X-Shopify-Topic": "inventory_levels/update",
            "X-Shopify-Webhook-Id": delivery,
            "X-Shopify-Hmac-Sha256": base64.b64encode(signature).decode(),
        }
        ingest.receive_webhook(inst.rt, "webshop", WebhookRequest(headers=headers, body=body))
        wait_until(inst.settled, what=f"the {delivery} webhook")
    with inst.rt.sessions() as s:
        statuses = dict(
            s.execute(
                select(InboxRow.event_key, InboxRow.status).where(InboxRow.connection == "webshop")
            ).all()
        )
    assert statuses == {"echo-1": "echo", "drift-1": "done"}
    wait_until(lambda: inst.level("TSHIRT-RED-M") == 19, what="the ledger's truth again")


@pytest.mark.parametrize("install", ["embedded", "postgresql+redis"], indirect=True)
def test_worker_killed_mid_flight_loses_nothing_and_applies_nothing_twice(
    install: Installation,
) -> None:
    inst = install
    start = {sku: 1000 for sku in SKUS}
    counted(inst, start)
    tickets = 300
    sold: Counter[str] = Counter()
    transactions = []
    for n in range(1, tickets + 1):
        sku = SKUS[n % len(SKUS)]
        qty = 1 + n % 3
        sold[sku] += qty
        transactions.append(transaction("1001", n, [Line(sku, str(qty))]))
    inst.drop("burst.xml", document(transactions))
    ingest.poll(inst.rt, "tills", "sales")  # 300 inbox rows, 300 task messages

    worker = inst.start("worker", "--concurrency", "2")
    wait_until(lambda: inst.counts()["inbox_done"] >= 20, what="the worker to start processing")
    worker.kill()
    before = inst.counts()
    assert before["inbox_pending"] > 0, "the kill came too late to test anything"

    inst.start("worker", "--concurrency", "2")
    # What beat's sweeper does every few seconds: re-dispatch what the database says is pending.
    sweep.sweep(inst.rt, stale_seconds=0)
    wait_until(lambda: inst.counts()["inbox_done"] == tickets, timeout=120, what="every ticket")
    sweep.sweep(inst.rt, stale_seconds=0)
    wait_until(inst.settled, timeout=60, what="every push")

    with inst.rt.sessions() as s:
        moves = s.execute(
            select(StockMovementRow.sku, func.sum(StockMovementRow.delta_e4), func.count())
            .where(StockMovementRow.reason == "sale")
            .group_by(StockMovementRow.sku)
        ).all()
    assert sum(n for _, _, n in moves) == tickets
    assert {sku: -total // 10000 for sku, total, _ in moves} == dict(sold)
    for sku in SKUS:
        assert inst.level(sku) == start[sku] - sold[sku], (sku, inst.explain(sku))

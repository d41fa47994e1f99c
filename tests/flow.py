"""A whole Brique installation for end-to-end tests: config file, sandbox shop, processes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bridge.settings import Settings, load_settings
from bridge.store import db
from bridge.store.tables import InboxRow, OutboxRow, StockPublication
from bridge.sync.runtime import Runtime
from connectors.shopify.sandbox import SandboxServer
from tests.support import BriqueProcess, unique, write_yaml

SKUS = ["TSHIRT-RED-M", "TSHIRT-RED-L", "JEANS-BLUE-32", "COFFEE-BEANS-1KG"]
EANS = {"3600000000017": "TSHIRT-RED-M", "3600000000024": "TSHIRT-RED-L"}
PARIS_GID = "gid://shopify/Location/1001"
TOKEN = "test-admin-token"


def shop_seed() -> dict[str, Any]:
    return {
        "shop": {"name": "test shop"},
        "locations": [{"id": PARIS_GID, "name": "Paris"}],
        "variants": [
            {"sku": sku, "inventory_item": f"gid://shopify/InventoryItem/{100 + n}"}
            for n, sku in enumerate(SKUS)
        ],
        "levels": [],
    }


@dataclass
class Installation:
    root: Path
    database_url: str
    broker_url: str | None
    sandbox: SandboxServer
    web_port: int = 0
    processes: list[BriqueProcess] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """More settings (subscribers, baskets...), merged into the generated file."""

    def __post_init__(self) -> None:
        self.incoming = self.root / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        mapping = self.root / "mapping.yaml"
        write_yaml(
            mapping,
            {
                "version": 1,
                "locations": [{"code": "PARIS-01", "ids": {"tills": "1001", "webshop": PARIS_GID}}],
                "skus": {"tills": dict(EANS)},
            },
        )
        config: dict[str, Any] = {
            "data_dir": str(self.root / "data"),
            "database_url": self.database_url,
            "queue_prefix": unique("bq"),
            "mapping": str(mapping),
            "coalesce_seconds": 0.3,
            "sweep_seconds": 2,
            "stale_seconds": 5,
            "web": {"port": self.web_port or 8000},
            "connections": {
                "tills": {
                    "connector": "poslog",
                    "config": {"drop_folder": str(self.incoming), "default_currency": "EUR"},
                },
                "webshop": {
                    "connector": "shopify",
                    "config": {
                        "shop_url": self.sandbox.url,
                        "access_token": TOKEN,
                        "webhook_secret": "hook-secret",
                    },
                },
            },
        }
        if self.broker_url:
            config["broker_url"] = self.broker_url
        config.update(self.extra)
        self.config_path = write_yaml(self.root / "brique.yaml", config)
        self.settings: Settings = load_settings(self.config_path)
        db.upgrade(self.settings.resolved_database_url())
        from workers.app import create_app
        from workers.dispatch import CeleryDispatcher

        self.celery = create_app(self.settings)
        self.rt = Runtime(self.settings, CeleryDispatcher(self.celery))

    def start(self, command: str = "worker", *extra: str) -> BriqueProcess:
        log = self.root / f"{command}-{len(self.processes)}.log"
        proc = BriqueProcess([command, "--config", str(self.config_path), *extra], log)
        self.processes.append(proc)
        return proc

    def drop(self, name: str, content: bytes) -> None:
        tmp = self.incoming / f".{name}.part"
        tmp.write_bytes(content)
        tmp.rename(self.incoming / name)

    def level(self, sku: str, location: str = PARIS_GID) -> int | None:
        for row in self.sandbox.state.level_rows():
            if row["sku"] == sku and row["location"] == location:
                return row["available"]
        return None

    def counts(self) -> dict[str, int]:
        with self.rt.sessions() as s:
            inbox = dict(
                s.execute(select(InboxRow.status, func.count()).group_by(InboxRow.status)).all()
            )
            outbox = dict(
                s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
            )
            stale = s.scalar(
                select(func.count())
                .select_from(StockPublication)
                .where((StockPublication.dirty.is_(True)) | StockPublication.claimed_by.isnot(None))
            )
        return {
            "inbox_pending": inbox.get("pending", 0),
            "inbox_done": inbox.get("done", 0),
            "outbox_pending": outbox.get("pending", 0),
            "outbox_sent": outbox.get("sent", 0),
            "stale": stale or 0,
        }

    def explain(self, sku: str) -> str:
        """What Brique believes and what it sent for ``sku``: for failure messages."""
        with self.rt.sessions() as s:
            pubs = s.scalars(select(StockPublication).where(StockPublication.sku == sku)).all()
            outs = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
            lines = [
                f"pub published={p.published_e4} dirty={p.dirty} v={p.version} "
                f"claimed={p.claimed_by}"
                for p in pubs
            ]
            for out in outs:
                for item in json.loads(out.payload)["items"]:
                    if item["sku"] == sku:
                        lines.append(
                            f"outbox {out.id} {out.status} attempts={out.attempts} "
                            f"q={item['quantity']} prev={item['previous']} v={item['version']}"
                        )
        history = [
            (h.get("idempotency_key"), h.get("errors"), h.get("replayed"))
            for h in self.sandbox.state.snapshot()["history"]
        ]
        return "\n".join([*lines, *map(str, history[-15:])])

    def settled(self) -> bool:
        c = self.counts()
        return not (c["inbox_pending"] or c["outbox_pending"] or c["stale"])

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.output()[-4000:]}" for p in self.processes)

    def close(self) -> None:
        for proc in self.processes:
            proc.stop()
        self.rt.close()
        try:
            if self.broker_url:
                delete_queues(self.celery, self.settings)
        finally:
            self.celery.close()


def delete_queues(celery: Any, settings: Settings) -> None:
    """Remove this installation's queues from the shared broker, best effort (tests and
    benchmarks).

    Every test uses a fresh queue prefix, so without this each run leaves its queues (and
    any unconsumed messages) behind on the developers' RabbitMQ and Redis."""
    from workers.queues import all_queues

    if settings.embedded_broker:
        return  # the queue folder lives in the installation's temporary directory
    names = all_queues(settings)
    with celery.connection_for_write() as conn:
        channel = conn.channel()
        try:
            if celery.conf.broker_url.startswith("redis"):
                _delete_redis_keys(channel, names)
            else:
                for name in names:  # idempotent on RabbitMQ; Celery names the exchange alike
                    channel.queue_delete(name)
                    channel.exchange_delete(name)
        except Exception:  # a cleanup failure must not hide the test's own result
            pass
        finally:
            channel.close()


def _delete_redis_keys(channel: Any, names: list[str]) -> None:
    """kombu's Redis queue is a list per priority step plus binding tables keyed by the
    exchange, which Celery names after the queue. A fresh channel knows no bindings, so
    ``queue_delete`` would delete nothing: the keys are removed by name instead.

    Messages a SIGKILLed worker had taken wait in the shared ``unacked`` hash; any worker
    on this Redis would push them back (re-creating our queue) an hour later, so they go too.
    """
    client = channel.client
    keys = []
    for name in names:
        keys += [name, *(f"{name}{channel.sep}{p}" for p in channel.priority_steps if p)]
        keys += [channel.keyprefix_queue % name, channel.keyprefix_binding_permanent % name]
    client.delete(*keys)
    client.zrem(channel.keyprefix_binding_deadlines, *names)
    ours = [tag for tag, entry in client.hscan_iter(channel.unacked_key) if _ours(entry, names)]
    if ours:
        client.hdel(channel.unacked_key, *ours)
        client.zrem(channel.unacked_index_key, *ours)


def _ours(entry: bytes, names: list[str]) -> bool:
    """An ``unacked`` entry is [message, exchange, routing key]; Celery publishes to the
    default exchange ("") with the queue's name as routing key, or to the queue's exchange."""
    _, exchange, routing_key = json.loads(entry)
    return exchange in names or routing_key in names


def sandbox_writes(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [h for h in sandbox.state.snapshot().get("history", []) if h]


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)

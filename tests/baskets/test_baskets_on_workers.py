"""Basket events on real worker processes: the embedded transport, a worker and beat, and
a subscriber listening on 127.0.0.1. An event emitted by a request is delivered by the
worker, signed; an idle basket is expired by beat's sweeper; a subscriber that is down
gets the event once it is back (retries with attempt rows)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.baskets import flows
from bridge.events import DeliveryAttemptRow
from bridge.events.delivery import verify
from bridge.model import BasketLine
from connectors.shopify.sandbox import SandboxServer
from tests.flow import TOKEN, Installation, shop_seed
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow
SECRET = "worker-test-secret"


class Subscriber:
    """A marketing tool's endpoint: records signed events; can be 'down' (503)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.down = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header = self.headers["Brique-Signature"]
                at = int(header.split(",")[0][2:])
                if owner.down:
                    self.send_response(503)
                elif verify(SECRET, body, header, now=at):
                    owner.received.append(json.loads(body))
                    self.send_response(204)
                else:
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def topics(self) -> list[str]:
        return [e["topic"] for e in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Installation, Subscriber]]:
    subscriber = Subscriber()
    with SandboxServer(shop_seed(), access_token=TOKEN) as sandbox:
        install = Installation(
            tmp_path,
            f"sqlite:///{tmp_path / 'brique.sqlite3'}",
            None,
            sandbox,
            extra={
                "subscribers": {
                    "marketing": {"url": subscriber.url, "secret": SECRET, "topics": ["basket.*"]}
                },
                "baskets": {"expire_after_seconds": 3},
            },
        )
        try:
            yield install, subscriber
        except BaseException:
            print(install.logs())
            raise
        finally:
            install.close()
            subscriber.close()


def test_worker_delivers_events_and_beat_expires_idle_baskets(setup) -> None:
    install, subscriber = setup
    install.start("worker", "--concurrency", "1")
    install.start("beat")
    subscriber.down = True
    view = flows.build(
        install.rt,
        store="PARIS-01",
        currency="EUR",
        lines=[BasketLine(sku="TSHIRT-RED-M", quantity=Decimal(1))],
    )

    def tried() -> int:
        with install.rt.sessions() as s:
            return s.scalar(select(func.count()).select_from(DeliveryAttemptRow))

    wait_until(tried, timeout=30, what="a first (refused) delivery attempt")
    subscriber.down = False
    # The worker's retry (10 s backoff) or beat's sweeper brings the first event; beat
    # expires the basket meanwhile. Events are not ordered: receivers sort by occurred_at.
    wanted = {"basket.created", "basket.expired"}
    wait_until(lambda: wanted <= set(subscriber.topics()), timeout=60, what=str(wanted))
    created = next(e for e in subscriber.received if e["topic"] == "basket.created")
    assert created["data"]["code"] == view["code"]
    assert flows.show(install.rt, view["code"])["status"] == "expired"
    assert sorted(subscriber.topics()) == ["basket.created", "basket.expired"]

"""End to end: a sale at a real Tryton POS lowers the stock of a real Vendure shop.

Session fixtures install Tryton 8.2 (``tests.tryton.server``) and Vendure 3.7.3 with sql.js
(``tests.vendure.server``, npm) in a cache folder outside the checkout, each once under a
lock, build their set-up databases once and serve fresh copies on free ports, stopped
afterwards whatever happens. A Brique Runtime on a temporary SQLite database joins them:
connection ``tills`` (tryton) and ``webshop`` (vendure, Admin API as ``superadmin``),
mapping ``mappings/defaults/tryton-vendure.yaml`` (sale point 1 <-> stock location ``1``;
the same SKU on both sides, Tryton's product code = the Vendure variant's ``sku``). The
sync runs in-process with an inline dispatcher. A sale of 2 -> the variant's stock level
reads 8 over GraphQL; a return of 1 -> 9; polling again changes nothing.

Outside CI, a machine that cannot install the packages skips with the reason; with
``CI=true`` it fails (``tests.support.need``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.connector import ConnectorContext
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from bridge.sync.stock_import import import_counts
from connectors.tryton import TrytonConnector
from connectors.vendure import VendureConnector
from tests.fakes import InlineDispatcher
from tests.support import REPO, free_port, need
from tests.tryton import server as tryton
from tests.vendure import server as vendure

pytestmark = pytest.mark.slow
SKU = tryton.SKU


@pytest.fixture(scope="session")
def tryton_pos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tryton.TrytonServer]:
    yield from tryton.serve(tmp_path_factory.mktemp("tryton"), "tryton set-up")


@pytest.fixture(scope="session")
def vendure_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[vendure.VendureServer]:
    started = time.monotonic()
    try:
        app = vendure.ensure_install()
    except vendure.InstallUnavailable as exc:
        need(False, f"Vendure {vendure.VERSION} cannot be installed here: {exc}")
        raise
    template = vendure.ensure_template(app)
    server = vendure.VendureServer(
        app, tmp_path_factory.mktemp("vendure"), free_port(), template=template
    )
    try:
        server.start()
        print(f"\nvendure set-up: {time.monotonic() - started:.1f}s")
        yield server
    finally:
        server.stop()


@pytest.fixture
def runtime(
    tmp_path: Path, tryton_pos: tryton.TrytonServer, vendure_shop: vendure.VendureServer
) -> Iterator[Runtime]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text((REPO / "mappings" / "defaults" / "tryton-vendure.yaml").read_text())
    database_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    config = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="tryton"),
            "webshop": ConnectionSettings(connector="vendure"),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(config, dispatcher)
    dispatcher.rt = rt
    rt.use(
        "tills",
        TrytonConnector(
            {
                "url": tryton_pos.url,
                "database": tryton.DATABASE,
                "username": "admin",
                "password": tryton.ADMIN_PASSWORD,
                "start_at": "2000-01-01T00:00:00Z",
                "timezone": "Europe/Paris",
            },
            ConnectorContext("tills"),
        ),
    )
    rt.use(
        "webshop",
        VendureConnector(
            {
                "admin_api_url": vendure_shop.admin_api_url,
                "username": vendure.ADMIN_USER,
                "password": vendure.ADMIN_PASSWORD,
            },
            ConnectorContext("webshop"),
        ),
    )
    yield rt
    rt.close()


def test_real_tryton_sale_and_return_move_real_vendure_stock(
    runtime: Runtime, tryton_pos: tryton.TrytonServer, vendure_shop: vendure.VendureServer
) -> None:
    rt = runtime
    till = tryton_pos.client()
    try:
        rt.connector("tills").check()
        rt.connector("webshop").check()
        assert vendure_shop.stock() == vendure.INITIAL_STOCK
        counts = rt.settings.data_dir / "counts.csv"
        counts.write_text(f"sku,location,quantity\n{SKU},STORE-01,{tryton.INITIAL_STOCK}\n")
        import_counts(rt, counts)
        ingest.poll(rt, "tills", "sales")
        assert vendure_shop.stock() == tryton.INITIAL_STOCK

        till.sale(2)
        first = ingest.poll(rt, "tills", "sales")
        assert len(first.accepted) == 1
        assert vendure_shop.stock() == tryton.INITIAL_STOCK - 2

        till.sale(-1)
        second = ingest.poll(rt, "tills", "sales")
        assert len(second.accepted) == 1
        assert vendure_shop.stock() == tryton.INITIAL_STOCK - 1

        again = ingest.poll(rt, "tills", "sales")
        assert not again.accepted
        assert vendure_shop.stock() == tryton.INITIAL_STOCK - 1
        shop = rt.connector("webshop")
        assert shop.read_stock([(SKU, vendure.LOCATION)]) == {(SKU, vendure.LOCATION): 9}
    finally:
        till.close()

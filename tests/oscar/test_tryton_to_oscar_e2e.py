"""End to end: a sale at a real Tryton POS lowers the stock of a real Django Oscar shop.

Session fixtures install Tryton 8.2 (``tests.tryton.server``) and Django Oscar 4.2.1 +
django-oscar-api 3.3.0 (``tests.oscar.server``) in a cache folder outside the checkout,
each once under a lock, build their set-up databases once and serve fresh copies on free
ports, stopped afterwards whatever happens. A Brique Runtime on a temporary SQLite database
joins them: connection ``tills`` (tryton) and ``webshop`` (oscar, partner ``store-1``),
mapping ``mappings/defaults/tryton-oscar.yaml`` (sale point 1 <-> partner ``store-1``; the
same SKU on both sides, Tryton's product code = Oscar's ``partner_sku``). The sync runs
in-process with an inline dispatcher. A sale of 2 -> Oscar's stock record reads 8 over HTTP;
a return of 1 -> 9; polling again changes nothing.

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
from connectors.oscar import OscarConnector
from connectors.tryton import TrytonConnector
from tests.fakes import InlineDispatcher
from tests.oscar import server as oscar
from tests.support import REPO, free_port, need
from tests.tryton import server as tryton

pytestmark = pytest.mark.slow
SKU = tryton.SKU


@pytest.fixture(scope="session")
def tryton_pos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tryton.TrytonServer]:
    yield from tryton.serve(tmp_path_factory.mktemp("tryton"), "tryton set-up")


@pytest.fixture(scope="session")
def oscar_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[oscar.OscarServer]:
    started = time.monotonic()
    try:
        venv = oscar.ensure_install()
    except oscar.InstallUnavailable as exc:
        need(False, f"Django Oscar {oscar.VERSION} cannot be installed here: {exc}")
        raise
    template = oscar.ensure_template(venv)
    server = oscar.OscarServer(venv, template, tmp_path_factory.mktemp("oscar"), free_port())
    try:
        server.start()
        print(f"\noscar set-up: {time.monotonic() - started:.1f}s")
        yield server
    finally:
        server.stop()


def oscar_stock(shop: oscar.OscarServer) -> int:
    response = shop.get(f"/api/admin/stockrecords/{oscar.STOCKRECORD_ID}/")
    response.raise_for_status()
    body = response.json()
    assert body["partner_sku"] == SKU
    return int(body["num_in_stock"])


@pytest.fixture
def runtime(
    tmp_path: Path, tryton_pos: tryton.TrytonServer, oscar_shop: oscar.OscarServer
) -> Iterator[Runtime]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text((REPO / "mappings" / "defaults" / "tryton-oscar.yaml").read_text())
    database_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    config = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="tryton"),
            "webshop": ConnectionSettings(connector="oscar"),
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
        OscarConnector(
            {
                "base_url": oscar_shop.url,
                "username": oscar.ADMIN_USER,
                "password": oscar.ADMIN_PASSWORD,
                "partner": oscar.PARTNER,
            },
            ConnectorContext("webshop"),
        ),
    )
    yield rt
    rt.close()


def test_real_tryton_sale_and_return_move_real_oscar_stock(
    runtime: Runtime, tryton_pos: tryton.TrytonServer, oscar_shop: oscar.OscarServer
) -> None:
    rt = runtime
    till = tryton_pos.client()
    try:
        rt.connector("tills").check()
        rt.connector("webshop").check()
        assert oscar_stock(oscar_shop) == oscar.INITIAL_STOCK
        counts = rt.settings.data_dir / "counts.csv"
        counts.write_text(f"sku,location,quantity\n{SKU},STORE-01,{tryton.INITIAL_STOCK}\n")
        import_counts(rt, counts)
        ingest.poll(rt, "tills", "sales")
        assert oscar_stock(oscar_shop) == tryton.INITIAL_STOCK

        till.sale(2)
        first = ingest.poll(rt, "tills", "sales")
        assert len(first.accepted) == 1
        assert oscar_stock(oscar_shop) == tryton.INITIAL_STOCK - 2

        till.sale(-1)
        second = ingest.poll(rt, "tills", "sales")
        assert len(second.accepted) == 1
        assert oscar_stock(oscar_shop) == tryton.INITIAL_STOCK - 1

        again = ingest.poll(rt, "tills", "sales")
        assert not again.accepted
        assert oscar_stock(oscar_shop) == tryton.INITIAL_STOCK - 1
        shop = rt.connector("webshop")
        assert shop.read_stock([(SKU, oscar.PARTNER)]) == {(SKU, oscar.PARTNER): 9}
    finally:
        till.close()

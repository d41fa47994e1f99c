"""End to end: an order placed in a real Vendure holds stock at a real Tryton store.

Module fixtures start a real Tryton 8.2 POS, a real Vendure 3.7.3 and a real Oscar 4.2.1 +
oscar-api 3.3.0 (installed once in a cache folder by ``tests.*.server``; see
``tests.orders.e2e`` for what each gets on top), stopped afterwards whatever happens. Brique
runs in-process with an inline dispatcher: ``tills`` (tryton), ``vendure``, ``oscar``, all on
``STORE-01`` with 10 units.

A guest buys 3 through Vendure's Shop API (add, address, shipping, dummy payment) -> Brique
polls Vendure -> a draft customer shipment of 3, referenced by the order, appears in Tryton
(read back over JSON-RPC: the store's forecast drops to 7, its stock stays 10) and Oscar,
the other shop, drops to 7; Vendure itself keeps 10 on hand (it allocated 3 to its own
order). The staff cancels the order through the Admin API -> Brique's next poll releases
it: the shipment is cancelled in Tryton (forecast 10) and Oscar is back at 10. Polling
again changes nothing.

Outside CI, a machine that cannot install the packages skips with the reason; with
``CI=true`` it fails (``tests.support.need``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from tests.orders import e2e
from tests.oscar import server as oscar
from tests.tryton import server as tryton
from tests.vendure import server as vendure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tryton_pos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tryton.TrytonServer]:
    yield from tryton.serve(tmp_path_factory.mktemp("tryton"), "tryton set-up")


@pytest.fixture(scope="module")
def vendure_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[vendure.VendureServer]:
    yield from e2e.serve_vendure(tmp_path_factory.mktemp("vendure"))


@pytest.fixture(scope="module")
def oscar_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[oscar.OscarServer]:
    yield from e2e.serve_oscar(tmp_path_factory.mktemp("oscar"))


@pytest.fixture
def runtime(
    tmp_path: Path,
    tryton_pos: tryton.TrytonServer,
    oscar_shop: oscar.OscarServer,
    vendure_shop: vendure.VendureServer,
) -> Iterator[Runtime]:
    rt = e2e.make_runtime(tmp_path, tryton_pos, oscar_shop, vendure_shop)
    yield rt
    rt.close()


def test_a_vendure_order_holds_stock_in_tryton_until_cancelled(
    runtime: Runtime,
    tryton_pos: tryton.TrytonServer,
    oscar_shop: oscar.OscarServer,
    vendure_shop: vendure.VendureServer,
) -> None:
    rt = runtime
    till = tryton_pos.client()
    try:
        assert e2e.tryton_stock(till) == (10, 10)
        assert e2e.oscar_record(oscar_shop)[0] == 10
        assert e2e.vendure_stock(vendure_shop) == (10, 0)

        code = e2e.VendureShopper(vendure_shop).buy(3)
        assert e2e.vendure_stock(vendure_shop) == (10, 3)  # Vendure allocated its own order
        placed = ingest.poll(rt, "vendure", "orders")
        assert len(placed.accepted) == 1
        ref = f"vendure:{code}#"
        ((reference, state, held),) = e2e.tryton_holds(till, ref)
        assert reference.startswith(ref) and (state, held) == ("draft", 3)
        assert e2e.tryton_stock(till) == (10, 7)  # on hand stays, the forecast drops
        assert e2e.oscar_record(oscar_shop)[0] == 7  # the other shop sells what is left
        assert e2e.vendure_stock(vendure_shop) == (10, 3)  # told nothing twice

        e2e.vendure_cancel(vendure_shop, code)
        cancelled = ingest.poll(rt, "vendure", "orders")
        assert len(cancelled.accepted) == 1
        assert e2e.tryton_holds(till, ref) == [(reference, "cancelled", 3)]
        assert e2e.tryton_stock(till) == (10, 10)
        assert e2e.oscar_record(oscar_shop)[0] == 10

        again = ingest.poll(rt, "vendure", "orders")  # polling again changes nothing
        assert again.accepted == []
        assert e2e.tryton_holds(till, ref) == [(reference, "cancelled", 3)]
        assert e2e.tryton_stock(till) == (10, 10)
        assert e2e.oscar_record(oscar_shop)[0] == 10
        assert e2e.vendure_stock(vendure_shop) == (10, 0)
    finally:
        till.close()

"""The mapping's ``orders`` section: problems at their file:line:col, and what it decides."""

from __future__ import annotations

from pathlib import Path

from bridge.mapping.loader import load_plan
from bridge.model import Sale, SaleStatus, TicketKey
from bridge.orders.fulfilment import named_store, shipped, store_for
from tests.test_yaml_errors import at, mapping_problems, single, write

LOCATIONS = """\
version: 1
locations:
  - code: PARIS-01
    ids: {shop: P1}
  - code: LYON-02
    ids: {shop: L2}
stock:
  pools:
    - {code: WEB, sum: [PARIS-01, LYON-02], ids: {shop: W}}
"""


def test_an_unknown_default_store_is_located_with_a_hint(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, LOCATIONS + "orders:\n  shop:\n    store: PARIS-1\n"))
    assert at(p) == (12, 12)
    assert p.message == (
        "orders.shop.store: unknown store 'PARIS-1' (did you mean 'PARIS-01'?) "
        "(known: PARIS-01, LYON-02)"
    )


def test_a_pool_fulfils_nothing(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, LOCATIONS + "orders:\n  shop: {store: WEB}\n"))
    assert at(p) == (11, 17)
    assert p.message == "orders.shop.store: 'WEB' is a pool: a web order is fulfilled by one store"


def test_paths_and_values_are_checked(tmp_path: Path) -> None:
    problems = mapping_problems(
        tmp_path,
        LOCATIONS
        + "orders:\n"
        + "  shop:\n"
        + "    store_from: 'pickup.['\n"
        + "    fulfilled: {field: state, values: []}\n"
        + "    shipped: yes\n",
    )
    messages = [(at(p), p.message) for p in problems]
    assert messages[0][0] == (12, 17) and "invalid JMESPath 'pickup.['" in messages[0][1]
    assert messages[1][0] == (13, 31) and "orders.shop.fulfilled.values" in messages[1][1]
    assert messages[2] == ((14, 5), "unknown key 'shipped'")


def sale(store: str = "web", status: SaleStatus = SaleStatus.COMPLETED) -> Sale:
    return Sale(
        key=TicketKey(store=store, transaction_id="7"), status=status, currency="EUR", channel="web"
    )


def test_which_store_fulfils(tmp_path: Path) -> None:
    plan = load_plan(
        write(
            tmp_path,
            "mapping.yaml",
            LOCATIONS
            + "orders:\n  shop:\n    store: LYON-02\n    store_from: fulfillments[0].location\n"
            + "    fulfilled: {field: state, values: [Shipped]}\n",
        )
    )
    spec = plan.spec.orders["shop"]
    native = {"fulfillments": [{"location": "P1"}], "state": " shipped "}
    assert named_store(spec, native) == "P1" and shipped(spec, native)
    assert store_for(plan, "shop", sale(), spec, "P1") == "PARIS-01"
    assert store_for(plan, "shop", sale(store="P1"), spec, None) == "PARIS-01"
    assert store_for(plan, "shop", sale(store="W"), spec, None) == "LYON-02"  # a pool: default
    assert store_for(plan, "shop", sale(), spec, None) == "LYON-02"
    assert named_store(spec, {"fulfillments": []}) is None
    assert not shipped(spec, {"state": ["Shipped"]}) and not shipped(spec, {})

"""Shared by the web-order e2e tests: a real Tryton till, a real Oscar and a real Vendure,
each driven through its own interfaces, joined by one Brique runtime.

* Oscar (``tests.oscar.server``) gets, before it starts, an order status pipeline
  (``new`` -> ``Shipped`` | ``Cancelled``: Oscar's default has none, so its dashboard could
  change no status) and a shipping country (checkout needs one). A shopper places orders
  through oscar-api's basket and checkout; the staff changes statuses on the dashboard
  (oscar-api has no endpoint for it).
* Vendure (``tests.vendure.server``) gets a payment method (the dummy handler its bootstrap
  offers) and a shipping method through the Admin API; a shopper places orders through the
  Shop API; the staff cancels through the Admin API.
* Brique: ``tills`` (tryton, sale point 1), ``oscar`` (partner ``store-1``, statuses re-read
  for a day) and ``vendure`` (stock location 1), all on store ``STORE-01``, whose web orders
  it fulfils.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from bridge.connector import ConnectorContext
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.sync.runtime import Runtime
from connectors.oscar import OscarConnector
from connectors.tryton import TrytonConnector
from connectors.vendure import VendureConnector
from tests.fakes import InlineDispatcher
from tests.oscar import server as oscar
from tests.support import free_port, need
from tests.tryton import server as tryton
from tests.vendure import server as vendure

SKU = tryton.SKU
STORE = "STORE-01"
MAPPING = f"""\
version: 1
locations:
  - code: {STORE}
    ids: {{tills: "1", oscar: {oscar.PARTNER}, vendure: "{vendure.LOCATION}"}}
    safety_buffer: "0"
stock:
  default: {{minimum: "0"}}
orders:
  oscar:
    store: {STORE}
    fulfilled: {{field: status, values: [Shipped]}}
  vendure:
    store: {STORE}
    fulfilled: {{field: state, values: [Shipped, Delivered]}}
"""
PIPELINE = """
OSCAR_INITIAL_ORDER_STATUS = "new"
OSCAR_ORDER_STATUS_PIPELINE = {"new": ("Shipped", "Cancelled"), "Shipped": (), "Cancelled": ()}
"""
COUNTRY = (
    "import django; django.setup(); from oscar.core.loading import get_model; "
    'get_model("address", "Country").objects.get_or_create(iso_3166_1_a2="FR", defaults='
    '{"iso_3166_1_a3": "FRA", "iso_3166_1_numeric": "250", "printable_name": "France", '
    '"name": "France", "is_shipping_country": True})'
)


# -- the servers ----------------------------------------------------------------------------


def serve_oscar(folder: Path) -> Iterator[oscar.OscarServer]:
    started = time.monotonic()
    try:
        venv = oscar.ensure_install()
    except oscar.InstallUnavailable as exc:
        need(False, f"Django Oscar {oscar.VERSION} cannot be installed here: {exc}")
        raise
    template = oscar.ensure_template(venv)
    server = oscar.OscarServer(venv, template, folder, free_port())
    settings = folder / "shop" / "settings.py"
    settings.write_text(settings.read_text() + PIPELINE)
    subprocess.run(
        [str(oscar._python(venv)), "-c", COUNTRY],
        env=oscar._env(folder, server.database),
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        server.start()
        print(f"\noscar set-up: {time.monotonic() - started:.1f}s")
        yield server
    finally:
        server.stop()


def serve_vendure(folder: Path) -> Iterator[vendure.VendureServer]:
    started = time.monotonic()
    try:
        app = vendure.ensure_install()
    except vendure.InstallUnavailable as exc:
        need(False, f"Vendure {vendure.VERSION} cannot be installed here: {exc}")
        raise
    template = vendure.ensure_template(app)
    server = vendure.VendureServer(app, folder, free_port(), template=template)
    try:
        server.start()
        server.gql(
            'mutation { createPaymentMethod(input: {code: "dummy", enabled: true, handler: '
            '{code: "dummy-payment-handler", arguments: [{name: "automaticSettle", '
            'value: "true"}]}, translations: [{languageCode: en, name: "Dummy"}]}) { id } }'
        )
        server.gql(
            'mutation { createShippingMethod(input: {code: "pickup", fulfillmentHandler: '
            '"manual-fulfillment", checker: {code: "default-shipping-eligibility-checker", '
            'arguments: [{name: "orderMinimum", value: "0"}]}, calculator: {code: '
            '"default-shipping-calculator", arguments: [{name: "rate", value: "0"}, '
            '{name: "taxRate", value: "0"}, {name: "includesTax", value: "auto"}]}, '
            'translations: [{languageCode: en, name: "Pickup in store", description: ""}]}) '
            "{ id } }"
        )
        print(f"\nvendure set-up: {time.monotonic() - started:.1f}s")
        yield server
    finally:
        server.stop()


# -- Brique ---------------------------------------------------------------------------------


def make_runtime(
    tmp_path: Path,
    till: tryton.TrytonServer,
    shop: oscar.OscarServer,
    web: vendure.VendureServer,
) -> Runtime:
    """Brique joining the three, counted at the till's 10 units, every shop told."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    database_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    config = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="tryton"),
            "oscar": ConnectionSettings(connector="oscar"),
            "vendure": ConnectionSettings(connector="vendure"),
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
                "url": till.url,
                "database": tryton.DATABASE,
                "username": "admin",
                "password": tryton.ADMIN_PASSWORD,
                "timezone": "Europe/Paris",
            },
            ConnectorContext("tills"),
        ),
    )
    rt.use(
        "oscar",
        OscarConnector(
            {
                "base_url": shop.url,
                "username": oscar.ADMIN_USER,
                "password": oscar.ADMIN_PASSWORD,
                "partner": oscar.PARTNER,
                "orders_since": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
                "orders_recheck_days": 1,
            },
            ConnectorContext("oscar"),
        ),
    )
    rt.use(
        "vendure",
        VendureConnector(
            {
                "admin_api_url": web.admin_api_url,
                "username": vendure.ADMIN_USER,
                "password": vendure.ADMIN_PASSWORD,
            },
            ConnectorContext("vendure"),
        ),
    )
    for name in ("tills", "oscar", "vendure"):
        rt.connector(name).check()
    from bridge.sync.stock_import import import_counts

    counts = tmp_path / "counts.csv"
    counts.write_text(f"sku,location,quantity\n{SKU},{STORE},{tryton.INITIAL_STOCK}\n")
    import_counts(rt, counts)
    return rt


# -- what each system shows -----------------------------------------------------------------


def tryton_stock(till: tryton.TrytonTill) -> tuple[Decimal, Decimal]:
    """(quantity, forecast_quantity) of the SKU in the sale point's storage location."""
    (point,) = till.rpc.search_read("sale.point", [], ["storage_location"])
    (row,) = till.rpc.search_read(
        "product.product",
        [["code", "=", SKU]],
        ["quantity", "forecast_quantity"],
        context={"locations": [point["storage_location"]]},
    )
    return Decimal(str(row["quantity"])), Decimal(str(row["forecast_quantity"]))


def tryton_holds(till: tryton.TrytonTill, prefix: str) -> list[tuple[str, str, Decimal]]:
    """(reference, state, quantity) of the customer shipments holding web orders."""
    shipments = till.rpc.search_read(
        "stock.shipment.out",
        [["reference", "like", f"{prefix}%"]],
        ["reference", "state", "moves"],
        order=(("id", "ASC"),),
    )
    found = []
    for shipment in shipments:
        moves = till.rpc.search_read(
            "stock.move", [["id", "in", shipment["moves"]]], ["quantity", "from_location"]
        )
        found.append(
            (
                shipment["reference"],
                shipment["state"],
                sum((Decimal(str(m["quantity"])) for m in moves), Decimal(0)),
            )
        )
    return found


def oscar_record(shop: oscar.OscarServer) -> tuple[int, int]:
    """(num_in_stock, num_allocated) of the partner's stock record."""
    response = shop.get(f"/api/admin/stockrecords/{oscar.STOCKRECORD_ID}/")
    response.raise_for_status()
    body = response.json()
    return int(body["num_in_stock"]), int(body["num_allocated"])


def vendure_stock(web: vendure.VendureServer) -> tuple[int, int]:
    """(stockOnHand, stockAllocated) of the variant at the default stock location."""
    data = web.gql(
        "query($s: String!) { productVariants(options: {filter: {sku: {eq: $s}}}) "
        "{ items { stockLevels { stockLocationId stockOnHand stockAllocated } } } }",
        {"s": SKU},
    )
    (item,) = data["productVariants"]["items"]
    (level,) = [lv for lv in item["stockLevels"] if lv["stockLocationId"] == vendure.LOCATION]
    return int(level["stockOnHand"]), int(level["stockAllocated"])


# -- shoppers and staff ---------------------------------------------------------------------


def oscar_checkout(shop: oscar.OscarServer, quantity: int) -> dict[str, Any]:
    """A guest buys ``quantity`` through oscar-api (basket, then checkout): the order."""
    session = requests.Session()
    base = f"{shop.url}/api"
    (product,) = session.get(f"{base}/products/", timeout=30).json()["results"]
    added = session.post(
        f"{base}/basket/add-product/",
        json={"url": product["url"], "quantity": quantity},
        timeout=30,
    )
    added.raise_for_status()
    order = session.post(
        f"{base}/checkout/",
        json={
            "basket": added.json()["url"],
            "guest_email": "web@example.com",
            "shipping_address": {
                "first_name": "Jane",
                "last_name": "Doe",
                "line1": "1 rue de Rivoli",
                "line4": "Paris",
                "postcode": "75001",
                "country": f"{base}/countries/FR/",
            },
        },
        timeout=60,
    )
    assert order.status_code == 200, order.text[:500]
    return order.json()


def oscar_set_status(shop: oscar.OscarServer, number: str, status: str) -> None:
    """The staff changes the order's status on Oscar's dashboard."""
    session = requests.Session()
    login = f"{shop.url}/dashboard/login/"
    page = session.get(login, timeout=30)
    session.post(
        login,
        data={"csrfmiddlewaretoken": _csrf(page.text), "username": "admin", "password": "admin"},
        headers={"Referer": login},
        timeout=30,
    ).raise_for_status()
    detail = f"{shop.url}/dashboard/orders/{number}/"
    page = session.get(detail, timeout=30)
    assert page.url == detail, f"not logged in to the dashboard: {page.url}"
    session.post(
        detail,
        data={
            "csrfmiddlewaretoken": _csrf(page.text),
            "order_action": "change_order_status",
            "new_status": status,
        },
        headers={"Referer": detail},
        timeout=30,
    ).raise_for_status()
    orders = shop.get("/api/admin/orders/").json()["results"]
    (order,) = [o for o in orders if o["number"] == number]
    assert order["status"] == status, order


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class VendureShopper:
    """One guest's session on the Shop API (the token comes back in a header)."""

    def __init__(self, web: vendure.VendureServer) -> None:
        self.url = f"http://127.0.0.1:{web.port}/shop-api"
        self.token: str | None = None

    def gql(self, query: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = requests.post(self.url, json={"query": query}, headers=headers, timeout=30)
        response.raise_for_status()
        self.token = response.headers.get("vendure-auth-token") or self.token
        body = response.json()
        assert not body.get("errors"), body["errors"]
        (value,) = body["data"].values()
        assert not (isinstance(value, dict) and value.get("errorCode")), value
        return value

    def buy(self, quantity: int) -> str:
        """Add, address, ship, pay: the placed order's code."""
        order = "... on Order { code state }"
        failed = "... on ErrorResult { errorCode message }"
        self.gql(
            f'mutation {{ addItemToOrder(productVariantId: "1", quantity: {quantity}) '
            f"{{ {order} {failed} }} }}"
        )
        self.gql(
            'mutation { setCustomerForOrder(input: {emailAddress: "web@example.com", '
            f'firstName: "Jane", lastName: "Doe"}}) {{ {order} {failed} }} }}'
        )
        self.gql(
            'mutation { setOrderShippingAddress(input: {streetLine1: "1 Strasse", '
            f'city: "Berlin", postalCode: "10115", countryCode: "DE"}}) {{ {order} {failed} }} }}'
        )
        self.gql(f'mutation {{ setOrderShippingMethod(shippingMethodId: ["1"]) {{ {failed} }} }}')
        self.gql(f'mutation {{ transitionOrderToState(state: "ArrangingPayment") {{ {failed} }} }}')
        paid = self.gql(
            'mutation { addPaymentToOrder(input: {method: "dummy", metadata: {}}) '
            f"{{ {order} {failed} }} }}"
        )
        assert paid["state"] == "PaymentSettled", paid
        return str(paid["code"])


def vendure_cancel(web: vendure.VendureServer, code: str) -> None:
    """The staff cancels the order through the Admin API."""
    orders = web.gql("query { orders { items { id code } } }")["orders"]["items"]
    (order_id,) = [o["id"] for o in orders if o["code"] == code]
    answer = web.gql(
        'mutation($id: ID!) { cancelOrder(input: {orderId: $id, reason: "customer"}) '
        "{ ... on Order { state } ... on ErrorResult { errorCode message } } }",
        {"id": order_id},
    )["cancelOrder"]
    assert answer.get("state") == "Cancelled", answer

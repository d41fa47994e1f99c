"""Whole journey, store -> web, through Brique's basket use-cases on a real Django Oscar.

In the showroom a seller scans what the customer wants (``flows.build`` at STORE-01); the
basket is handed to the web shop (``flows.handoff``: a real anonymous oscar-api basket,
through the outbox ``baskets`` sink); its QR code holds the resume link
(``flows.qr_content``). At home, a fresh HTTP session opens the link (Oscar's basket page
shows the scanned product) and checks out on the real Oscar 4.2.1 + django-oscar-api 3.3.0
with the session the link names, as a headless storefront does (``shop_views.py``). Brique
polls Oscar's orders: the order names the handed-off basket id, so the basket is
``converted`` by that order; nothing is closed (it was converted where it was opened).
Every stream polled again changes nothing.

What the real Oscar cannot link: a customer who signs in before paying gets the handed-off
basket merged into their own account basket (oscar-api's login, Oscar's ``Basket.merge``),
and the order names the account basket. Oscar keeps no pointer from a merged basket to the
one it went into, so Brique cannot tell that this order completed the handoff: the Brique
basket stays ``transferred`` (the baskets stream reads the handed-off basket as ``Merged``,
which changes nothing), and the account basket becomes a web basket of its own, converted
by the order. The second test asserts exactly that.

The connector is built by the Runtime from the connection settings (bindings in Brique's
own SQLite state store); follow-ups run inline (``tests.fakes.InlineDispatcher``).

Outside CI, a machine that cannot install the packages skips with the reason; with
``CI=true`` it fails (``tests.support.need``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from ruamel.yaml import YAML
from sqlalchemy import func, select

from bridge.baskets import codes, flows, service
from bridge.baskets.tables import BasketHandoffRow, BasketJournalRow, BasketRow
from bridge.events import EventRow
from bridge.model import BasketLine, CustomerRef
from bridge.settings import ConnectionSettings, Settings
from bridge.store import db
from bridge.store.tables import DeadLetter, InboxRow, OutboxRow, SaleRow
from bridge.sync import ingest
from bridge.sync.runtime import Runtime
from tests.fakes import InlineDispatcher
from tests.oscar import server as oscar
from tests.oscar.test_oscar_baskets_e2e import PRODUCT_TITLE, lines_of
from tests.support import REPO, free_port, need, write_yaml

pytestmark = pytest.mark.slow
SKU = oscar.SKU
STORE = "STORE-01"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[oscar.OscarServer]:
    started = time.monotonic()
    try:
        venv = oscar.ensure_install()
    except oscar.InstallUnavailable as exc:
        need(False, f"Django Oscar {oscar.VERSION} cannot be installed here: {exc}")
        raise
    template = oscar.ensure_template(venv)
    server = oscar.OscarServer(
        venv, template, tmp_path_factory.mktemp("oscar-journey"), free_port()
    )
    try:
        server.start()
        print(f"\noscar set-up: {time.monotonic() - started:.1f}s")
        yield server
    finally:
        server.stop()


def mapping_file(folder: Path) -> Path:
    """The shipped Tryton -> Oscar mapping (STORE-01 is partner ``store-1`` on the shop)."""
    data = YAML().load((REPO / "mappings" / "defaults" / "tryton-oscar.yaml").read_text())
    (store,) = data["locations"]
    assert store["code"] == STORE and store["ids"]["webshop"] == oscar.PARTNER
    return write_yaml(folder / "mapping.yaml", data)


@pytest.fixture
def runtime(tmp_path: Path, shop: oscar.OscarServer) -> Iterator[Runtime]:
    database_url = f"sqlite:///{tmp_path / 'brique.sqlite3'}"
    config = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping_file(tmp_path),
        connections={
            "webshop": ConnectionSettings(
                connector="oscar",
                config={
                    "base_url": shop.url,
                    "username": oscar.ADMIN_USER,
                    "password": oscar.ADMIN_PASSWORD,
                    "partner": oscar.PARTNER,
                    "read_baskets": True,
                },
            ),
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(config, dispatcher)
    dispatcher.rt = rt
    yield rt
    rt.close()


def poll_everything(rt: Runtime) -> dict[str, int]:
    """Every stream of the shop, as the scheduler polls them: accepted per stream."""
    return {
        stream: len(ingest.poll(rt, "webshop", stream).accepted)
        for stream in rt.connector("webshop").streams()
    }


def counts(rt: Runtime) -> dict[str, int]:
    with rt.sessions() as s:
        return {
            table.__tablename__: s.scalar(select(func.count()).select_from(table))
            for table in (
                BasketRow,
                BasketJournalRow,
                BasketHandoffRow,
                OutboxRow,
                InboxRow,
                SaleRow,
                EventRow,
                DeadLetter,
            )
        }


def basket_sales(rt: Runtime) -> list[tuple[str, str]]:
    """(ticket key, status) of the web sales Brique journaled, oldest first."""
    with rt.sessions() as s:
        rows = s.execute(select(SaleRow.ticket_key, SaleRow.status).order_by(SaleRow.id))
        return [tuple(r) for r in rows]


def check_out(
    browser: requests.Session, shop: oscar.OscarServer, basket_id: str, total: str
) -> str:
    """oscar-api's checkout in the browser's session; returns the order number. A signed-in
    session sends Django's CSRF token, as the shop's own pages do."""
    headers = {}
    browser.get(f"{shop.url}/basket/", timeout=(3.05, 30)).raise_for_status()
    if "csrftoken" in browser.cookies:
        headers["X-CSRFToken"] = browser.cookies["csrftoken"]
    placed = browser.post(
        f"{shop.url}/api/checkout/",
        headers=headers,
        json={
            "basket": f"{shop.url}/api/baskets/{basket_id}/",
            "guest_email": "bob@example.com",
            "total": total,
            "shipping_method_code": "no-shipping-required",
        },
        timeout=(3.05, 30),
    )
    assert placed.status_code == 200, placed.text
    return str(placed.json()["number"])


def lines_of_account(
    browser: requests.Session, shop: oscar.OscarServer, basket_id: str
) -> list[tuple[str, int]]:
    response = browser.get(f"{shop.url}/api/baskets/{basket_id}/lines/", timeout=(3.05, 30))
    response.raise_for_status()
    return [(line["product"], line["quantity"]) for line in response.json()["results"]]


def scanned(rt: Runtime, request_id: str, quantity: int) -> dict[str, Any]:
    return flows.build(
        rt,
        store=STORE,
        lines=[BasketLine(sku=SKU, quantity=Decimal(quantity))],
        customer=CustomerRef(email="bob@example.com"),
        request_id=request_id,
    )


def test_a_showroom_basket_is_checked_out_on_the_real_shop_through_its_link(
    runtime: Runtime, shop: oscar.OscarServer
) -> None:
    rt = runtime
    poll_everything(rt)  # what the shop held before (its sample order): cursors set
    before = counts(rt)

    # -- scanned in the showroom ---------------------------------------------------------
    view = scanned(rt, "showroom-scan-1", 3)
    code = view["code"]
    assert view["channel"] == "store" and view["status"] == "active"
    assert view["location"] == STORE
    assert view["source"] == {"connection": "api", "id": "showroom-scan-1"}  # the request id
    assert view["lines"] == [{"sku": SKU, "quantity": "3", "unit_price": None}]
    assert scanned(rt, "showroom-scan-1", 3)["code"] == code  # a retried request: same one
    assert flows.qr_content(rt, code) == code  # not handed over yet: the code itself

    # -- handed to the web shop: a real Oscar basket --------------------------------------
    handed = flows.handoff(rt, code, "webshop")
    assert handed["status"] == "transferred"
    (handoff,) = handed["handoffs"]
    basket_id, link = handoff["id"], handoff["url"]
    assert handoff == {
        "connection": "webshop",
        "status": "open",
        "store": STORE,
        "id": basket_id,
        "url": link,
        "error": None,
    }
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{shop.url}/basket/resume/"
    (session,) = parse_qs(parts.query)["session"]
    assert flows.qr_content(rt, code) == link == handed["url"]  # the QR code holds the link
    product = f"{shop.url}/api/products/1/"
    assert lines_of(shop, session, basket_id) == [(product, 3)]
    assert flows.handoff(rt, code, "webshop")["handoffs"] == [handoff]  # asked twice: one
    assert lines_of(shop, session, basket_id) == [(product, 3)]

    # the shop's baskets stream reads it back as ours: no second Brique basket
    assert poll_everything(rt) == {"orders": 0, "baskets": 1}
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(BasketRow)) == before["baskets"] + 1

    # -- at home: the link in a fresh browser, then the checkout -------------------------
    browser = requests.Session()
    page = browser.get(link, timeout=(3.05, 30))
    assert page.status_code == 200 and urlsplit(page.url).path == "/basket/"
    assert PRODUCT_TITLE in page.text
    assert browser.cookies.get("oscar_open_basket", "").startswith(f"{basket_id}:")
    # a headless storefront keeps the key the link carries as its session
    browser.cookies.set("sessionid", session, domain="127.0.0.1", path="/")
    number = check_out(browser, shop, basket_id, "59.97")

    # the order only: oscar-api's checkout freezes the basket without a change time
    assert poll_everything(rt) == {"orders": 1, "baskets": 0}
    done = flows.show(rt, code)
    assert done["status"] == "converted"
    assert done["converted_ref"] == f"webshop/web/tx/{number}"
    assert [e["event"] for e in done["journal"]] == [
        "created", "transferred", "handoff_opened", "converted",
    ]  # fmt: skip
    assert done["journal"][-1]["detail"] == {"by": f"webshop/web/tx/{number}", "on": "webshop"}
    # converted where it was opened: its handoff is done, nothing to close anywhere
    assert [(h["connection"], h["status"], h["id"]) for h in done["handoffs"]] == [
        ("webshop", "closed", basket_id)
    ]
    assert basket_sales(rt)[-1] == (f"web/tx/{number}", "completed")
    with rt.sessions() as s:
        sinks = s.scalars(select(OutboxRow.idempotency_key).where(OutboxRow.sink == "baskets"))
        assert list(sinks) == [f"basket:{codes.normalise(code)}:webshop:open:0"]
        assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0

    # -- every stream again: nothing changes ---------------------------------------------
    settled = counts(rt)
    assert poll_everything(rt) == {"orders": 0, "baskets": 0}
    assert counts(rt) == settled
    assert flows.show(rt, code)["journal"] == done["journal"]


def test_a_basket_merged_at_sign_in_is_not_linked_to_its_order(
    runtime: Runtime, shop: oscar.OscarServer
) -> None:
    rt = runtime
    poll_everything(rt)
    code = scanned(rt, "showroom-scan-2", 2)["code"]
    (handoff,) = flows.handoff(rt, code, "webshop")["handoffs"]
    basket_id = handoff["id"]
    (session,) = parse_qs(urlsplit(handoff["url"]).query)["session"]

    # the customer opens the link and signs in before paying: Oscar merges the basket
    browser = requests.Session()
    browser.get(handoff["url"], timeout=(3.05, 30)).raise_for_status()
    browser.cookies.set("sessionid", session, domain="127.0.0.1", path="/")
    signed_in = browser.post(
        f"{shop.url}/api/login/",
        json={"username": oscar.ADMIN_USER, "password": oscar.ADMIN_PASSWORD},
        timeout=(3.05, 30),
    )
    assert signed_in.status_code == 200, signed_in.text
    own = browser.get(f"{shop.url}/api/basket/", timeout=(3.05, 30)).json()
    account_basket = str(own["id"])
    assert account_basket != basket_id
    assert lines_of_account(browser, shop, account_basket) == [(f"{shop.url}/api/products/1/", 2)]
    number = check_out(browser, shop, account_basket, "39.98")

    # the order, then two baskets: the handed-off one (Merged) and the account's (Frozen)
    assert poll_everything(rt) == {"orders": 1, "baskets": 2}
    view = flows.show(rt, code)
    assert view["status"] == "transferred" and view["converted_ref"] is None
    assert [e["event"] for e in view["journal"]] == ["created", "transferred", "handoff_opened"]
    assert [(h["id"], h["status"]) for h in view["handoffs"]] == [(basket_id, "open")]
    with pytest.raises(service.NotFound):  # the merged basket was known as ours: no copy
        flows.by_source(rt, "webshop", basket_id)
    assert basket_sales(rt)[-1] == (f"web/tx/{number}", "completed")
    # the account basket is a web basket of its own, converted by the order
    account = flows.by_source(rt, "webshop", account_basket)
    assert account["status"] == "converted"
    # (read by the baskets stream: its ref is the order number, not the sale's ticket key)
    assert account["converted_ref"] == f"webshop/{number}"
    assert account["source"] == {"connection": "webshop", "id": account_basket}
    assert account["lines"][0]["sku"] == SKU and account["lines"][0]["quantity"] == "2"

    settled = counts(rt)
    assert poll_everything(rt) == {"orders": 0, "baskets": 0}
    assert counts(rt) == settled

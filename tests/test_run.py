"""``brique run``: the retailer's first command starts a working installation on this machine."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pytest
import requests

from connectors.poslog.samples import Line, ticket
from tests.support import REPO, BriqueProcess, free_port, wait_until, write_yaml

pytestmark = pytest.mark.slow


def levels(port: int) -> dict[tuple[str, str], int]:
    rows = requests.get(f"http://127.0.0.1:{port}/sandbox/levels", timeout=5).json()
    return {(r["sku"], r["location"].rsplit("/", 1)[-1]): r["available"] for r in rows}


def prices(port: int) -> dict[str, str]:
    rows = requests.get(f"http://127.0.0.1:{port}/sandbox/prices", timeout=5).json()
    return {r["sku"]: r["price"] for r in rows}


def test_brique_run_starts_everything_and_moves_stock(tmp_path: Path) -> None:
    shop_port, web_port = free_port(), free_port()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(REPO / "config/demo/shopify-seed.json", tmp_path / "seed.json")
    shutil.copy(REPO / "config/demo/stock.csv", tmp_path / "stock.csv")
    shutil.copy(REPO / "config/demo/prices.csv", tmp_path / "prices.csv")
    config = write_yaml(
        tmp_path / "brique.yaml",
        {
            "data_dir": "data",
            "mapping": str(REPO / "mappings/demo.yaml"),
            "stock_import": "stock.csv",
            "price_import": "prices.csv",
            "coalesce_seconds": 0.2,
            "sweep_seconds": 2,
            "web": {"port": web_port},
            "connections": {
                "tills": {
                    "connector": "poslog",
                    "config": {"drop_folder": "incoming", "default_currency": "EUR"},
                    "schedules": {"poll": 0.5},
                },
                "webshop": {
                    "connector": "shopify",
                    "config": {
                        "shop_url": f"http://127.0.0.1:{shop_port}",
                        "access_token": "sandbox-token",
                        "webhook_secret": "hook-secret",
                    },
                },
            },
            "sandboxes": [{"kind": "shopify", "port": shop_port, "seed": "seed.json"}],
        },
    )
    run = BriqueProcess(["run", "--config", str(config)], tmp_path / "run.log")
    try:
        health = f"http://127.0.0.1:{web_port}/health"

        def healthy() -> dict | None:
            try:
                response = requests.get(health, timeout=2)
            except requests.ConnectionError:
                return None
            return response.json() if response.status_code == 200 else None

        report = wait_until(healthy, timeout=60, what="/health")
        assert report["database"]["status"] == "ok"
        assert report["broker"]["status"] == "ok"
        assert set(report["connections"]) == {"tills", "webshop"}
        # The counted stock reaches the shop, less the Paris safety buffer of one unit.
        wait_until(
            lambda: levels(shop_port).get(("TSHIRT-RED-M", "1001")) == 19,
            timeout=60,
            what="counted stock on the sandbox",
        )

        # The price lists reach the shop through the mapping: the web list (19.90) moved to
        # the nearest .99 ending; a SKU absent from the web list falls back to default.
        wait_until(
            lambda: (
                prices(shop_port).get("TSHIRT-RED-M") == "19.99"
                and prices(shop_port).get("JEANS-BLUE-32") == "78.99"
            ),
            timeout=60,
            what="prices on the sandbox",
        )

        # A file dropped at the till's folder: beat polls, the worker applies, the shop moves.
        (incoming / "sale.xml").write_bytes(ticket("1001", 7, [Line("3600000000017", "3")]))
        wait_until(
            lambda: levels(shop_port).get(("TSHIRT-RED-M", "1001")) == 16,
            timeout=60,
            what="the sale on the sandbox",
        )
        assert (incoming / "done" / "sale.xml").exists()

        # A signed webhook is accepted once; a forged one is refused; unknown is 404.
        body = json.dumps({"id": 1, "name": "#1001", "currency": "EUR", "line_items": []}).encode()
        sig = base64.b64encode(hmac.new(b"hook-secret", body, hashlib.sha256).digest()).decode()
        headers = {
            "X-Shopify-Hmac-Sha256": sig,
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": "delivery-1",
            "Content-Type": "application/json",
        }
        url = f"http://127.0.0.1:{web_port}/webhooks/webshop"
        first = requests.post(url, data=body, headers=headers, timeout=5)
        again = requests.post(url, data=body, headers=headers, timeout=5)
        assert first.status_code == again.status_code == 200
        assert (first.json()["accepted"], again.json()["duplicates"]) == (1, 1)
        forged = requests.post(
            url, data=body, headers={**headers, "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"}, timeout=5
        )
        assert forged.status_code == 401
        unknown = f"http://127.0.0.1:{web_port}/webhooks/nope"
        assert requests.post(unknown, data=body, timeout=5).status_code == 404
    finally:
        run.proc.terminate()
        code = run.proc.wait(30)
        run.stop()
    assert code == 0, run.output()[-3000:]

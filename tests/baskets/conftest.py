"""A Brique with a basket-aware till ("tills") and shop ("webshop"), run inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.settings import BasketSettings, ConnectionSettings, Settings, SubscriberSettings
from bridge.store import db
from bridge.sync.runtime import Runtime
from tests.baskets.fakes import BasketShop, BasketTill
from tests.fakes import InlineDispatcher

MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    region: FR
    price_list: paris
    ids: {tills: "1001", webshop: "paris"}
  - code: LYON-02
    region: FR
    ids: {tills: "1002"}
skus:
  webshop: {"SHOP-TEE": TSHIRT-RED-M}
prices:
  currency: EUR
  lists:
    default: {fallback: null}
    paris: {fallback: default}
"""

HOOK_URL = "https://hooks.marketing.test/brique"


def make(
    tmp_path: Path, database_url: str, **baskets: float
) -> tuple[Runtime, BasketTill, BasketShop, InlineDispatcher]:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        mapping=mapping,
        connections={
            "tills": ConnectionSettings(connector="poslog"),
            "webshop": ConnectionSettings(connector="shopify"),
        },
        baskets=BasketSettings(**baskets),
        subscribers={
            "marketing": SubscriberSettings(
                url=HOOK_URL, secret="s3cret-marketing", topics=["basket.*"]
            )
        },
    )
    db.upgrade(database_url)
    dispatcher = InlineDispatcher()
    rt = Runtime(settings, dispatcher)
    dispatcher.rt = rt
    till, shop = BasketTill("tills"), BasketShop("webshop")
    rt.use("tills", till)
    rt.use("webshop", shop)
    return rt, till, shop, dispatcher


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    made = make(tmp_path, database_url)
    yield made
    made[0].close()

"""The ``loyalty`` sinks of Shopify (customer metafield) and Odoo (loyalty card points).

Each runs against the documented payloads (``tests/loyalty/remotes.py``, ``responses``).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bridge.connector import Capability, ConnectorContext, LoyaltyWrite, WriteBatch
from bridge.errors import ConfigError
from bridge.model import CustomerRef
from connectors.odoo import OdooConnector
from connectors.shopify import ShopifyConnector
from connectors.shopify.loyalty import customer_gid, value_text
from tests.loyalty.remotes import FakeOdoo, FakeShopify, odoo_config, remotes, shop_config


def write(platform: str, ident: str, balance: str) -> LoyaltyWrite:
    return LoyaltyWrite(
        customer=CustomerRef(channel_ids={platform: ident}), balance=Decimal(balance)
    )


@pytest.fixture
def fakes() -> Iterator[tuple[FakeShopify, FakeOdoo]]:
    with remotes() as both:
        yield both


@pytest.fixture
def shopify() -> Iterator[ShopifyConnector]:
    conn = ShopifyConnector.from_settings(shop_config(), ConnectorContext("shop"))
    assert isinstance(conn, ShopifyConnector)
    yield conn
    conn.close()


@pytest.fixture
def odoo() -> Iterator[OdooConnector]:
    conn = OdooConnector.from_settings(odoo_config(), ConnectorContext("odoo"))
    assert isinstance(conn, OdooConnector)
    yield conn
    conn.close()


def test_both_declare_the_loyalty_sink() -> None:
    for cls in (ShopifyConnector, OdooConnector):
        assert Capability.WRITE_LOYALTY in cls.info.capabilities
        assert cls.info.batch_limits["loyalty"] > 0


# --- Shopify ---------------------------------------------------------------------------------


def test_shopify_sets_the_balance_metafield_25_per_call(
    shopify: ShopifyConnector, fakes: tuple[FakeShopify, FakeOdoo]
) -> None:
    shop, _ = fakes
    items = [write("shopify", str(1000 + n), f"{n}.50") for n in range(30)]
    result = shopify.write("loyalty", WriteBatch("loyalty-1", items))
    assert [len(call) for call in shop.calls] == [25, 5]
    assert result.written == 30 and not result.failed
    assert shop.values["gid://shopify/Customer/1003"] == "3.5"
    assert result.observed["1003"] == Decimal("3.5")
    before = dict(shop.values)
    shopify.write("loyalty", WriteBatch("loyalty-1", items))  # a replay: the same values
    assert shop.values == before


def test_shopify_reports_refused_accounts_and_still_writes_the_others(
    shopify: ShopifyConnector, fakes: tuple[FakeShopify, FakeOdoo]
) -> None:
    shop, _ = fakes
    shop.refuse.add("gid://shopify/Customer/2")
    items = [
        write("shopify", "1", "10"),
        write("shopify", "2", "20"),
        write("shopify", "gid://shopify/Customer/3", "30"),
        write("shopify", "not-an-id", "40"),
        write("odoo", "7", "50"),
    ]
    result = shopify.write("loyalty", WriteBatch("loyalty-2", items))
    assert set(result.failed) == {"2", "not-an-id", "item-4"}
    assert "INVALID_VALUE: Owner does not exist." == result.failed["2"]
    assert "no Shopify customer id" in result.failed["item-4"]
    assert result.written == 2
    # metafieldsSet is atomic: the refused call stored nothing, the retry without it did.
    assert [len(call) for call in shop.calls] == [3, 2]
    assert shop.values == {"gid://shopify/Customer/1": "10", "gid://shopify/Customer/3": "30"}


def test_shopify_ids_and_values() -> None:
    assert customer_gid("207119551") == "gid://shopify/Customer/207119551"
    assert customer_gid(" gid://shopify/Customer/5 ") == "gid://shopify/Customer/5"
    assert customer_gid("gid://shopify/Order/5") is None and customer_gid(None) is None
    assert value_text(Decimal("100.00")) == "100" and value_text(Decimal("-2.50")) == "-2.5"
    with pytest.raises(Exception, match="does not fit"):
        value_text(Decimal("1234567890"))


# --- Odoo ------------------------------------------------------------------------------------


def test_odoo_creates_missing_cards_and_writes_changed_ones_once_per_balance(
    odoo: OdooConnector, fakes: tuple[FakeShopify, FakeOdoo]
) -> None:
    _, remote = fakes
    remote.card(7, 5.0)
    remote.card(8, 12.5)  # already shows its balance
    remote.card(9, 1.0)
    remote.card(7, 99.0, program=4)  # another program's card is not Brique's
    items = [
        write("odoo", "7", "20"),
        write("odoo", "8", "12.5"),
        write("odoo", "9", "20"),
        write("odoo", "10", "3"),
    ]
    result = odoo.write("loyalty", WriteBatch("loyalty-3", items))
    assert result.written == 4 and not result.failed
    methods = [(m, a) for m, a in remote.calls if m != "search_read"]
    assert methods[0][0] == "write" and methods[0][1][1] == {"points": 20}
    assert sorted(methods[0][1][0]) == [101, 103]  # one write for both cards at 20
    assert methods[1][0] == "create" and methods[1][1][0] == [
        {"program_id": 3, "partner_id": 10, "points": 3}
    ]
    assert (remote.points_of(7), remote.points_of(8), remote.points_of(10)) == (20.0, 12.5, 3.0)
    calls = len(remote.writes())
    odoo.write("loyalty", WriteBatch("loyalty-3", items))  # a replay finds them all set
    assert len(remote.writes()) == calls


def test_odoo_isolates_a_refused_card(
    odoo: OdooConnector, fakes: tuple[FakeShopify, FakeOdoo]
) -> None:
    _, remote = fakes
    remote.card(7, 0.0)
    remote.card(8, 0.0)
    remote.refuse.add(8)
    result = odoo.write(
        "loyalty", WriteBatch("loyalty-4", [write("odoo", "7", "4"), write("odoo", "8", "4")])
    )
    assert set(result.failed) == {"8"} and "locked" in result.failed["8"]
    assert result.written == 1 and remote.points_of(7) == 4.0 and remote.points_of(8) == 0.0


def test_odoo_without_a_program_is_a_configuration_error(
    fakes: tuple[FakeShopify, FakeOdoo],
) -> None:
    conn = OdooConnector.from_settings(
        odoo_config(loyalty_program_id=None), ConnectorContext("odoo")
    )
    with pytest.raises(ConfigError, match="loyalty_program_id"):
        conn.write("loyalty", WriteBatch("loyalty-5", [write("odoo", "7", "1")]))
    conn.close()

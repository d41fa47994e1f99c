"""check(), the error taxonomy, and XML that must not be trusted."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
import requests
import responses

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from connectors.prestashop import PrestaShopConfig, PrestaShopConnector
from connectors.prestashop.connector import ITEM_ENTITY, STOCK_ENTITY
from tests.prestashop.prestashop_fakes import (
    API,
    API_KEY,
    HEADERS,
    FakeClock,
    FakePrestaShop,
    data,
    make_config,
)


def test_check_reads_the_resource_list(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        root = mock.get(API, body=data("api.xml"), headers=HEADERS)
        connector.check()
    request = root.calls[0].request
    user, _, password = (
        base64.b64decode(request.headers["Authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == (API_KEY, "")  # HTTP Basic, the key as user name
    assert API_KEY not in request.url and "ws_key" not in request.url


def test_check_names_missing_permissions(
    connector: PrestaShopConnector, shop: FakePrestaShop
) -> None:
    shop.permissions["stock_availables"] = {"get"}
    del shop.permissions["currencies"]
    with pytest.raises(ConfigError, match="stock_availables PUT, currencies GET"):
        connector.check()


def test_check_401_is_an_auth_error_without_the_key(context: ConnectorContext) -> None:
    clock = FakeClock()
    wrong = "WRONGKEYWRONGKEYWRONGKEYWRONGKEY"
    conn = PrestaShopConnector(make_config(api_key=wrong), context, clock=clock, sleep=clock.sleep)
    with responses.RequestsMock() as mock:
        mock.get(API, body=data("error_unauthorized.xml"), status=401, headers=HEADERS)
        with pytest.raises(AuthError, match=r"\[18\] Invalid authentication key format") as caught:
            conn.check()
    assert wrong not in str(caught.value)


def test_check_404_is_a_config_error(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(API, status=404, body=b"<html>Not Found</html>")
        with pytest.raises(ConfigError, match="no PrestaShop webservice at"):
            connector.check()


def test_a_disabled_webservice_is_a_config_error(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(API, status=503, body=data("error_disabled.xml"), headers=HEADERS)
        with pytest.raises(ConfigError, match=r"\[22\] The PrestaShop webservice is disabled"):
            connector.check()


def test_rate_limits_are_waited_out(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(API, status=429, headers={"Retry-After": "7"})
        with pytest.raises(RateLimited) as caught:
            connector.check()
        assert caught.value.retry_after == 7
    with responses.RequestsMock() as mock:
        mock.get(API, status=503, headers={"Retry-After": "30"}, body=b"maintenance")
        with pytest.raises(RateLimited) as caught:
            connector.check()
        assert caught.value.retry_after == 30


def test_server_errors_are_retried_then_transient(
    context: ConnectorContext, clock: FakeClock
) -> None:
    conn = PrestaShopConnector(make_config(), context, clock=clock, sleep=clock.sleep)
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">
<errors>
<error>
<code><![CDATA[5]]></code>
<message><![CDATA[[PHP Notice #8] Trying to access array offset on value of type null]]></message>
</error>
</errors>
</prestashop>
"""
    with responses.RequestsMock() as mock:
        failing = mock.get(API, status=500, body=body, headers=HEADERS)
        with pytest.raises(TransientError, match=r"HTTP 500: \[5\] \[PHP Notice #8\]"):
            conn.check()
    assert failing.call_count == 3
    assert len([s for s in clock.sleeps if s >= 0.2]) == 2  # backed off between the tries


def test_network_failures_are_transient(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(API, body=requests.ReadTimeout("slow shop"))
        with pytest.raises(TransientError, match="timed out"):
            connector.check()


def test_error_xml_on_a_put_fails_that_item_with_prestashop_s_message(
    connector: PrestaShopConnector, context: ConnectorContext
) -> None:
    context.bindings.put(ITEM_ENTITY, "demo_2", "2:0")
    context.bindings.put(STOCK_ENTITY, "demo_2@1", "2")
    with responses.RequestsMock() as mock:
        mock.get(f"{API}stock_availables/2", body=data("stock_available_2.xml"), headers=HEADERS)
        mock.put(
            f"{API}stock_availables/2",
            status=400,
            body=data("error_not_writable.xml"),
            headers=HEADERS,
        )
        result = connector.write(
            "stock",
            WriteBatch("k", [StockWrite(sku="demo_2", location="1", quantity=Decimal(3))]),
        )
    assert result.written == 0
    assert result.failed["demo_2@1"] == (
        "prestashop PUT stock_availables/2 (demo_2): HTTP 400: [93] parameter "
        '"manufacturer_name" not writable. Please remove this attribute of this XML'
    )


def test_error_xml_with_a_200_is_a_data_error(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}currencies/1", body=data("error_not_writable.xml"), headers=HEADERS)
        with pytest.raises(DataError, match=r"\[93\]"):
            connector.currency_iso("1")


def test_malformed_xml_names_the_url(connector: PrestaShopConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}stock_availables/2", body=data("malformed.xml"), headers=HEADERS)
        with pytest.raises(DataError) as caught:
            connector.client.get("stock_availables/2")
    message = str(caught.value)
    assert message.startswith(f"{API}stock_availables/2: malformed XML at line")


@pytest.mark.parametrize("name", ["entity_expansion.xml", "external_entity.xml"])
def test_doctype_and_entities_are_refused(connector: PrestaShopConnector, name: str) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}currencies/1", body=data(name), headers=HEADERS)
        with pytest.raises(DataError, match="DOCTYPE/ENTITY declarations are refused"):
            connector.currency_iso("1")


def test_an_entity_after_the_prolog_is_never_expanded(connector: PrestaShopConnector) -> None:
    """No DOCTYPE, so no entity is declared: libxml2 must refuse the reference, not fetch it."""
    body = data("currency_1.xml").replace(b"<![CDATA[EUR]]>", b"&xxe;")
    with responses.RequestsMock() as mock:
        mock.get(f"{API}currencies/1", body=body, headers=HEADERS)
        with pytest.raises(DataError, match="malformed XML"):
            connector.currency_iso("1")


def test_the_key_is_a_secret() -> None:
    config = PrestaShopConfig.model_validate(make_config())
    assert API_KEY not in repr(config) and API_KEY not in config.model_dump_json()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"timezone": "Europe/Pariss"}, "unknown time zone"),
        ({"shop_url": "shop.example.test"}, "shop_url"),
        ({"orders_since": "2026-03-01"}, "orders_since"),
        ({"poll_page_size": 0}, "poll_page_size"),
    ],
)
def test_bad_settings_are_config_errors(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PrestaShopConnector.from_settings(make_config(**overrides), ConnectorContext("c"))


def test_shop_url_may_end_with_api() -> None:
    config = PrestaShopConfig.model_validate(make_config(shop_url="https://shop.example.test/api/"))
    assert config.shop_url == "https://shop.example.test"

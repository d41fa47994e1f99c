"""Errors: Magento's messages rendered, each status the right taxonomy error, auth, check."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
import responses

from bridge.connector import ConnectorContext, StockWrite, WriteBatch
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from connectors.magento2 import Magento2Config, Magento2Connector
from connectors.magento2.client import (
    MagentoNotFound,
    MagentoRequestError,
    dumps,
    error_text,
    render,
)
from tests.magento2.magento_fakes import TOKEN, FakeMagento, load, make_config

# -- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "parameters", "expected"),
    [
        ('The "%1" value\'s type is invalid.', ["abc"], 'The "abc" value\'s type is invalid.'),
        ("%1 of %2, not %3", ["a", "b"], "a of b, not %3"),  # a missing value stays visible
        ("%10 then %1", [str(n) for n in range(1, 11)], "10 then 1"),
        ('"%fieldName" is required.', {"fieldName": "sku"}, '"sku" is required.'),
        ("Invalid attribute %fieldName = %fieldValue.", ["SKU", "A"], "Invalid attribute SKU = A."),
        ("%a and %a again, %b", ["x", "y"], "x and x again, y"),
        ("Amount %1", [Decimal("19.90")], "Amount 19.90"),
        ("No placeholder", None, "No placeholder"),
        ("100% cotton: %1", ["ok"], "100% cotton: ok"),
    ],
)
def test_render_fills_magento_placeholders(message, parameters, expected) -> None:
    assert render(message, parameters) == expected


def test_error_text_renders_the_message_and_each_validation_error() -> None:
    assert error_text(load("error_placeholders.json")) == (
        'The "abc" value\'s type is invalid. The "float" type was expected. Verify and try again.'
    )
    assert error_text(load("error_source_unknown.json")) == (
        'Validation Failed; Source with code "lyon_bellecour" is not found. Verify and try again.'
    )
    assert error_text({"message": "x", "trace": "#0 /var/www/..."}) == "x"  # never the trace


def test_a_400_is_a_data_error_with_the_rendered_message(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.forced = (400, {}, load("error_placeholders.json"))
    with pytest.raises(MagentoRequestError) as caught:
        list(connector.read("orders"))
    assert isinstance(caught.value, DataError) and caught.value.status == 400
    assert str(caught.value) == (
        'magento2 orders page 1: HTTP 400: The "abc" value\'s type is invalid. The "float" '
        "type was expected. Verify and try again."
    )
    assert "%1" not in str(caught.value)


def test_a_400_on_one_source_item_fails_that_item(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop.add_product("MUG-BLUE", quantity=1)
    shop.add_product("MUG-RED", quantity=1)
    shop.sources.remove("paris_rivoli")  # removed in Magento after Brique was configured
    result = connector.write(
        "stock",
        WriteBatch(
            "push-1",
            [
                StockWrite(sku="MUG-BLUE", location="default", quantity=Decimal(2)),
                StockWrite(sku="MUG-RED", location="paris_rivoli", quantity=Decimal(2)),
            ],
        ),
    )
    assert result.written == 1
    assert result.failed["MUG-RED@paris_rivoli"].endswith(
        'HTTP 400: Validation Failed; Source with code "paris_rivoli" is not found. '
        "Verify and try again."
    )


# -- statuses -------------------------------------------------------------------------------


def test_401_is_an_auth_error_naming_the_resource_and_never_the_token(
    shop: FakeMagento,
) -> None:
    connector = Magento2Connector(
        make_config(access_token="wrong-token-0123"), ConnectorContext(connection="webshop")
    )
    with pytest.raises(AuthError) as caught:
        connector.check()
    text = str(caught.value)
    assert "The consumer isn't authorized to access Magento_InventoryApi::source." in text
    assert "standalone Bearer tokens" in text and "System > Integrations" in text
    assert "wrong-token-0123" not in text and TOKEN not in text
    assert not any("wrong-token" in repr(v) for v in connector.config.__dict__.values())


def test_the_token_is_sent_as_a_bearer_token(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    connector.check()
    assert connector.client.session.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(connector) and TOKEN not in repr(connector.config)


def test_404_without_a_route_is_a_config_error_and_on_an_entity_a_data_error(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    with pytest.raises(ConfigError, match="Request does not match any route"):
        connector.client.get("inventory/stocks-resolver", what="stocks")
    shop.add_product("MUG-BLUE", quantity=1)
    with pytest.raises(MagentoNotFound, match="requested doesn't exist"):
        connector.client.get("inventory/get-product-salable-quantity/GHOST/1", what="salable")


@pytest.mark.parametrize(
    ("status", "headers", "expected", "retry_after"),
    [
        (429, {"Retry-After": "12"}, RateLimited, 12.0),
        (503, {"Retry-After": "30"}, RateLimited, 30.0),  # maintenance mode, a CDN throttle
        (503, {}, TransientError, None),
        (500, {}, TransientError, None),
        (502, {}, TransientError, None),
    ],
)
def test_throttles_and_server_errors(
    connector: Magento2Connector, shop: FakeMagento, status, headers, expected, retry_after
) -> None:
    shop.forced = (status, headers, {"message": "Service Unavailable"})
    with pytest.raises(expected) as caught:
        connector.check()
    if retry_after is not None:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == retry_after
    else:
        assert not isinstance(caught.value, RateLimited)
        # bridge.http's short retries ran (three tries) before giving up.
        assert len(shop.requests) == 3


def test_network_failures_are_transient(connector: Magento2Connector, shop: FakeMagento) -> None:
    shop.error = requests.ConnectionError("connection refused")
    with pytest.raises(TransientError, match="connection failed"):
        connector.check()


def test_an_answer_that_is_not_json(connector: Magento2Connector) -> None:
    with responses.RequestsMock() as mock:  # a proxy's or PHP's HTML page with a 200
        mock.add(responses.GET, f"{connector.client.base}/store/storeConfigs", body="<html>")
        with pytest.raises(ConfigError, match="did not answer with Magento JSON"):
            connector.check()
        mock.add(responses.GET, f"{connector.client.base}/orders", body="<html>")
        with pytest.raises(TransientError, match="not JSON"):
            list(connector.read("orders"))


# -- check ----------------------------------------------------------------------------------


def test_check_reads_store_views_and_sources(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    connector.check()
    assert [p for _, p, _ in shop.requests] == [
        "/rest/all/V1/store/storeConfigs",
        "/rest/all/V1/inventory/sources",
    ]
    assert connector.base_currency() == "EUR"


def test_check_refuses_an_unknown_store_code_or_source(shop: FakeMagento) -> None:
    context = ConnectorContext(connection="webshop")
    # Magento routes /rest/<unknown code>/V1/... nowhere: "Request does not match any route."
    with pytest.raises(ConfigError, match="check base_url and store_code"):
        Magento2Connector(make_config(store_code="fr_de"), context).check()
    with pytest.raises(ConfigError, match="source_codes lyon"):
        Magento2Connector(make_config(source_codes=["default", "lyon"]), context).check()


def test_check_without_msi_is_a_config_error(
    connector: Magento2Connector, shop: FakeMagento
) -> None:
    shop._routes = [r for r in shop._routes if "inventory" not in r[1]]
    with pytest.raises(ConfigError, match=r"MSI for inventory/\*"):
        connector.check()


# -- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://shop.example.com", "https"),
        ("https://shop.example.com/rest/default", "without /rest"),
        ("shop.example.com", "https://"),
    ],
)
def test_config_refuses_unsafe_or_wrong_urls(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Magento2Config(base_url=url, access_token="t0k3n-abcd")


def test_config_defaults() -> None:
    config = Magento2Config(base_url="http://localhost:8080/", access_token="t0k3n-abcd")
    assert config.base_url == "http://localhost:8080"
    assert config.store_code == "all" and config.source_codes == ("default",)
    assert config.page_size == 100 and config.batch_size == 20 and config.price_store_id == 0
    assert "t0k3n-abcd" not in repr(config)


def test_dumps_is_exact_and_refuses_floats() -> None:
    assert dumps({"a": [Decimal("0.10"), 3, "é", None, True]}) == '{"a":[0.10,3,"é",null,true]}'
    with pytest.raises(TypeError):
        dumps({"price": 0.1})
    with pytest.raises(ValueError):
        dumps(Decimal("NaN"))

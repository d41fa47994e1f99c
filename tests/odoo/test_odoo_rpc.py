"""JSON-RPC transport: login, calls, and every Odoo failure as the right taxonomy error."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from bridge.connector import ConnectorContext
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from connectors.odoo import OdooConfig, OdooConnector
from connectors.odoo.rpc import error_of
from tests.odoo.odoo_fake import (
    API_KEY,
    DATABASE,
    UID,
    USERNAME,
    FakeOdoo,
    load,
    rpc_error,
    settings,
)


def test_check_logs_in_with_the_api_key_then_reads_as_that_user(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    connector.check()
    assert connector.rpc.uid == UID
    assert odoo.calls[0] == {"service": "common", "method": "authenticate"}
    assert [(c.get("model"), c["method"]) for c in odoo.calls[1:]] == [
        ("pos.config", "search_count"),
        ("pos.order", "search_count"),
    ]


def test_the_request_is_json_rpc_with_the_key_in_place_of_the_password(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    connector.check()
    sent = odoo.bodies
    assert sent[0]["params"] == {
        "service": "common",
        "method": "authenticate",
        "args": [DATABASE, USERNAME, API_KEY, {}],
    }
    assert sent[1]["params"]["service"] == "object"
    assert sent[1]["params"]["method"] == "execute_kw"
    assert sent[1]["params"]["args"][:5] == [DATABASE, UID, API_KEY, "pos.config", "search_count"]
    assert len({body["id"] for body in sent}) == len(sent)


def test_a_refused_login_is_an_auth_error_without_the_key(make) -> None:
    connector = make(api_key="not-the-key-0000")
    with pytest.raises(AuthError, match="brique-bot") as caught:
        connector.check()
    assert "not-the-key-0000" not in str(caught.value)
    assert "api_key" in str(caught.value)


def test_a_key_revoked_after_login_is_an_auth_error(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    connector.check()
    odoo.rpc_errors["pos.order.search_read"] = load("error_access_denied.json")["error"]
    with pytest.raises(AuthError, match="AccessDenied: Access Denied"):
        list(connector.read("orders"))


def test_check_names_a_missing_point_of_sale(make) -> None:
    with pytest.raises(ConfigError, match=r"pos.config 9 not found"):
        make(config_ids=[1, 9]).check()
    make(config_ids=[1, 2]).check()


def test_check_without_point_of_sale_rights_is_a_config_error(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.rpc_errors["pos.order.search_count"] = load("error_access_error.json")["error"]
    with pytest.raises(ConfigError, match="Point of Sale User rights"):
        connector.check()


def test_an_access_error_while_reading_is_a_data_error_with_odoos_message(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.rpc_errors["pos.order.search_read"] = load("error_access_error.json")["error"]
    with pytest.raises(DataError, match=r"AccessError: You are not allowed to access"):
        list(connector.read("orders"))


@pytest.mark.parametrize(
    ("name", "message", "code", "expected"),
    [
        ("odoo.exceptions.AccessDenied", "Access Denied", 200, AuthError),
        ("odoo.http.SessionExpiredException", "Session expired", 100, AuthError),
        ("odoo.exceptions.AccessError", "not allowed", 200, DataError),
        ("odoo.exceptions.ValidationError", "The payment method is not allowed", 200, DataError),
        ("odoo.exceptions.UserError", "No open session available", 200, DataError),
        ("odoo.exceptions.MissingError", "Record does not exist", 200, DataError),
        ("psycopg2.errors.SerializationFailure", "could not serialize access", 200, TransientError),
        ("psycopg2.OperationalError", "server closed the connection", 200, TransientError),
        ("psycopg2.errors.LockNotAvailable", "could not obtain lock", 200, TransientError),
        ("builtins.KeyError", "'pos.order'", 200, ConfigError),
        ("builtins.ValueError", "Invalid field 'foo' on model 'pos.order'", 200, ConfigError),
        ("werkzeug.exceptions.NotFound", "404: Not Found", 404, ConfigError),
        ("builtins.TypeError", "unsupported operand", 200, DataError),
    ],
)
def test_json_rpc_errors_map_to_the_taxonomy(
    name: str, message: str, code: int, expected: type[Exception]
) -> None:
    error = error_of(rpc_error(name, message, code), "odoo pos.order.search_read")
    assert type(error) is expected or isinstance(error, expected)
    assert isinstance(error, expected)
    assert message.split()[0].strip("'") in str(error)
    assert "Traceback" not in str(error)  # Odoo's debug traceback never reaches a message


def test_a_serialization_failure_read_from_odoos_answer_is_transient(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.rpc_errors["pos.order.search_read"] = load("error_serialization.json")["error"]
    with pytest.raises(TransientError, match="concurrent update"):
        list(connector.read("orders"))


def test_an_unknown_model_says_to_install_point_of_sale(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.tables.pop("pos.config")
    with pytest.raises(ConfigError, match="Point of Sale app installed"):
        connector.check()


def test_http_429_is_rate_limited_with_retry_after(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.answer_status(429, {"Retry-After": "12"})
    with pytest.raises(RateLimited) as caught:
        connector.check()
    assert caught.value.retry_after == 12


def test_http_502_is_transient_after_the_short_retries(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.answer_status(502)
    with pytest.raises(TransientError, match="HTTP 502"):
        connector.check()
    assert len(odoo.bodies) == 3  # bridge.http's short retries, then the error


def test_a_timeout_is_transient_never_a_raw_requests_error(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    odoo.fail_with(requests.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="timed out"):
        connector.check()


def test_an_answer_that_is_not_json_is_transient(odoo: FakeOdoo, connector: OdooConnector) -> None:
    import responses

    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST, "https://odoo.example.com/jsonrpc", body="<html>Maintenance</html>"
        )
        with pytest.raises(TransientError, match="not JSON"):
            connector.check()


def test_amounts_are_parsed_as_decimals_exactly_as_written(
    odoo: FakeOdoo, connector: OdooConnector
) -> None:
    rows = connector.rpc.search_read("pos.order", [("id", "=", 102)], ["amount_total"])
    assert rows == [{"id": 102, "amount_total": Decimal("0.30000000000000004")}]
    assert isinstance(rows[0]["amount_total"], Decimal)


def test_config_is_checked_and_hides_the_key() -> None:
    config = OdooConfig.model_validate(settings(url="https://odoo.example.com/jsonrpc/"))
    assert config.url == "https://odoo.example.com"
    assert API_KEY not in repr(config) and API_KEY not in config.model_dump_json()
    connector = OdooConnector(config, ConnectorContext(connection="tills"))
    assert API_KEY not in repr(connector)
    with pytest.raises(ConfigError, match="timezone"):
        OdooConnector.from_settings(settings(timezone="Europe/Atlantis"), ConnectorContext("t"))
    with pytest.raises(ConfigError, match="url"):
        OdooConnector.from_settings(settings(url="odoo.example.com"), ConnectorContext("t"))
    with pytest.raises(ConfigError, match="config_ids"):
        OdooConnector.from_settings(settings(config_ids=[0]), ConnectorContext("t"))

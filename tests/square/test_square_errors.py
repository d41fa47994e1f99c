"""Configuration, check() and Square's errors mapped onto Brique's taxonomy."""

from __future__ import annotations

import pytest
import requests
import responses

from bridge.connector import ConnectorContext
from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from connectors.square import SquareConfig, SquareConnector
from tests.square.square_fake import BASE_URL, TOKEN, FakeSquare, load, settings

LOCATIONS_URL = BASE_URL + "/v2/locations"


def test_environment_picks_the_base_url() -> None:
    assert SquareConfig.model_validate(settings()).api_url == BASE_URL
    production = SquareConfig.model_validate(settings(environment="production"))
    assert production.api_url == "https://connect.squareup.com"
    local = SquareConfig.model_validate(settings(base_url="http://127.0.0.1:9000/"))
    assert local.api_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"location_ids": []}, "location_ids"),
        ({"location_ids": [f"L{n}" for n in range(11)]}, "location_ids"),
        ({"environment": "staging"}, "environment"),
        ({"square_version": "latest"}, "square_version"),
        ({"notification_url": None}, "both webhook_signature_key and notification_url"),
        ({"base_url": "connect.squareup.com"}, "base_url"),
        ({"start_at": "2026-11-01T00:00:00"}, "time zone"),
        ({"page_size": 501}, "page_size"),
    ],
)
def test_bad_settings_are_config_errors(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SquareConnector.from_settings(settings(**change), ConnectorContext(connection="tills"))


def test_secrets_never_print(context: ConnectorContext) -> None:
    conn = SquareConnector(settings(), context)
    shown = repr(conn.config) + str(conn.config) + conn.config.model_dump_json() + repr(conn)
    assert TOKEN not in shown
    assert "square-signature-key" not in shown


def test_check_reads_locations_with_the_pinned_version(
    connector: SquareConnector, square: FakeSquare
) -> None:
    connector.check()
    assert square.calls == [("GET", "/v2/locations", None)]


def test_check_names_a_location_the_seller_does_not_have(
    square: FakeSquare, context: ConnectorContext
) -> None:
    conn = SquareConnector(settings(location_ids=["LQXDZ2N3P7S2A", "LGONE"]), context)
    with pytest.raises(ConfigError, match="LGONE"):
        conn.check()


@pytest.fixture
def conn(context: ConnectorContext):
    connector = SquareConnector(settings(), context)
    yield connector
    connector.close()


def test_401_is_an_auth_error_naming_square_code(conn: SquareConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=401, json=load("error_unauthorized.json"))
        with pytest.raises(AuthError, match="UNAUTHORIZED: This request could not be authorized"):
            conn.check()


def test_403_insufficient_scopes_is_an_auth_error(conn: SquareConnector) -> None:
    error = {
        "category": "AUTHENTICATION_ERROR",
        "code": "INSUFFICIENT_SCOPES",
        "detail": "The merchant has not given your application permission.",
    }
    body = {"errors": [error]}
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=403, json=body)
        with pytest.raises(AuthError, match="INSUFFICIENT_SCOPES"):
            conn.check()


def test_429_is_rate_limited_with_retry_after(conn: SquareConnector) -> None:
    body = {"errors": [{"category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED"}]}
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=429, json=body, headers={"Retry-After": "12"})
        with pytest.raises(RateLimited) as caught:
            conn.check()
    assert caught.value.retry_after == 12


def test_429_without_retry_after_waits_a_default(conn: SquareConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=429, json={"errors": [{"code": "RATE_LIMITED"}]})
        with pytest.raises(RateLimited) as caught:
            conn.check()
    assert caught.value.retry_after > 0


def test_5xx_is_transient_after_short_retries(conn: SquareConnector) -> None:
    body = {"errors": [{"category": "API_ERROR", "code": "SERVICE_UNAVAILABLE"}]}
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=503, json=body)
        with pytest.raises(TransientError, match="503"):
            conn.check()
        assert len(mock.calls) == 3


def test_a_timeout_is_transient(conn: SquareConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, body=requests.ReadTimeout("slow"))
        with pytest.raises(TransientError, match="timed out"):
            conn.check()


def test_400_with_errors_is_a_data_error_naming_code_and_detail(conn: SquareConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=400, json=load("error_invalid_request.json"))
        with pytest.raises(DataError) as caught:
            conn.check()
    text = str(caught.value)
    assert "INVALID_TIME" in text and "Invalid time" in text
    assert "GET /v2/locations" in text


def test_a_404_without_square_errors_points_at_the_url(conn: SquareConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=404, body="<html>not here</html>")
        with pytest.raises(ConfigError, match="check the URL"):
            conn.check()


def test_a_non_json_answer_is_transient(conn: SquareConnector) -> None:
    with responses.RequestsMock() as mock:
        mock.get(LOCATIONS_URL, status=200, body="<html>maintenance</html>")
        with pytest.raises(TransientError, match="without JSON"):
            conn.check()

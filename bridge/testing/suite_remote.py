"""The ``check`` and ``errors`` suites: remote failures become the errors of the taxonomy.

The worker decides what to do from the error class alone (stop and alert, back off, retry),
so a raw ``requests`` exception or a 401 reported as a data error breaks that decision.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bridge.connector import Connector
from bridge.errors import AuthError, RateLimited, TransientError
from bridge.http import without_backoff
from bridge.testing.base import ContractBase, suite
from bridge.testing.harness import FailingRemote, require


def _raised(call: Any) -> BaseException | None:
    """What ``call`` raised; ``bridge.http``'s short retries run without their waits."""
    try:
        with without_backoff():
            call()
    except Exception as exc:
        return exc
    return None


def _expect(error: BaseException | None, wanted: type[BaseException], situation: str) -> None:
    if error is None:
        pytest.fail(f"{situation}: nothing was raised, expected {wanted.__name__}", pytrace=False)
    if isinstance(error, requests.RequestException):
        pytest.fail(
            f"{situation}: a raw requests exception escaped the connector: {error!r}; "
            f"raise bridge.errors.{wanted.__name__}",
            pytrace=False,
        )
    if not isinstance(error, wanted):
        pytest.fail(
            f"{situation}: raised {type(error).__name__}({error}), expected {wanted.__name__}",
            pytrace=False,
        )


class RemoteSuite(ContractBase):
    @suite("check")
    def test_check_401_is_auth_error(self, connector: Connector, harness: Any) -> None:
        require(harness, FailingRemote, "check")
        harness.answer_status(401)
        _expect(_raised(connector.check), AuthError, "check() against a 401")

    @suite("errors")
    def test_errors_429_is_rate_limited(self, connector: Connector, harness: Any) -> None:
        require(harness, FailingRemote, "errors")
        harness.answer_status(429, {"Retry-After": "7"})
        error = _raised(lambda: self.remote_operation(connector))
        _expect(error, RateLimited, "a 429 with Retry-After: 7")
        assert isinstance(error, RateLimited)
        assert error.retry_after == pytest.approx(7), (
            f"RateLimited.retry_after is {error.retry_after}, the remote said 7 seconds"
        )

    @pytest.mark.parametrize("status", [500, 502, 503])
    @suite("errors")
    def test_errors_5xx_is_transient(self, connector: Connector, harness: Any, status: int) -> None:
        require(harness, FailingRemote, "errors")
        harness.answer_status(status)
        _expect(_raised(lambda: self.remote_operation(connector)), TransientError, f"HTTP {status}")

    @pytest.mark.parametrize(
        "failure",
        [requests.ConnectTimeout, requests.ReadTimeout, requests.ConnectionError],
        ids=lambda f: f.__name__,
    )
    @suite("errors")
    def test_errors_network_failure_is_transient(
        self, connector: Connector, harness: Any, failure: type[Exception]
    ) -> None:
        require(harness, FailingRemote, "errors")
        harness.fail_with(failure("contract kit: simulated network failure"))
        _expect(
            _raised(lambda: self.remote_operation(connector)),
            TransientError,
            f"a {failure.__name__}",
        )

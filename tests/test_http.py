"""The shared HTTP layer: errors classified by who must act, short bounded retries, pacing."""

from __future__ import annotations

import pytest
import requests
import responses

from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from bridge.http import RateLimiter, build_session, parse_retry_after, request

URL = "https://shop.example/api"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, ConfigError),
        (422, DataError),
        (503, TransientError),
    ],
)
@responses.activate
def test_statuses_become_taxonomy_errors(status: int, error: type[Exception]) -> None:
    responses.post(URL, status=status, body="nope")
    with pytest.raises(error):
        request(build_session(), "POST", URL, what="write")


@responses.activate
def test_429_carries_retry_after_and_is_not_retried_inline() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "2.5"})
    with pytest.raises(RateLimited) as info:
        request(build_session(), "POST", URL)
    assert info.value.retry_after == 2.5
    assert len(responses.calls) == 1


@responses.activate
def test_transient_failures_retry_briefly_then_succeed() -> None:
    responses.post(URL, status=502)
    responses.post(URL, status=200, json={"ok": True})
    assert request(build_session(), "POST", URL).json() == {"ok": True}
    assert len(responses.calls) == 2


@responses.activate
def test_retries_are_bounded() -> None:
    responses.post(URL, status=503)
    with pytest.raises(TransientError):
        request(build_session(), "POST", URL)
    assert len(responses.calls) == 3


@responses.activate
def test_network_errors_never_escape_raw() -> None:
    responses.post(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(TransientError) as info:
        request(build_session(), "POST", URL)
    assert not isinstance(info.value, requests.RequestException)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None, 1.5) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 4.0) == 4.0
    assert parse_retry_after("-5") == 0.0


def test_limiter_paces_to_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=10, clock=clock)
    for _ in range(30):
        limiter.acquire(1, sleep=clock.sleep)
    # 10 from the full bucket, then 20 more at 10 per second.
    assert clock.now - 100.0 == pytest.approx(2.0, abs=0.01)


def test_limiter_cost_above_capacity_waits_for_a_full_bucket_not_forever() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=100, burst=50, clock=clock)
    limiter.drain(0)
    waited = limiter.acquire(500, sleep=clock.sleep)
    assert waited == pytest.approx(0.5, abs=0.01)


def test_limiter_follows_the_remote_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=100, burst=1000, clock=clock)
    limiter.drain(100)
    limiter.resize(capacity=2000, rate=200)
    assert limiter.acquire(300, sleep=clock.sleep) == pytest.approx(1.0, abs=0.01)

"""One way to talk HTTP: timeouts, short tenacity retries, an error classifier, a rate limiter.

Connectors build their session here so that every remote is called the same way and raw
``requests`` exceptions never escape: they become the errors of ``bridge.errors``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError

DEFAULT_TIMEOUT = (3.05, 30.0)
"""(connect, read) seconds: no call to a remote may hang a worker."""


def parse_retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header (a number; HTTP dates fall back to the default)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def classify_response(response: requests.Response, what: str = "") -> None:
    """Raise the taxonomy error that a non-2xx response means; return for a success."""
    status = response.status_code
    if status < 400:
        return
    label = f"{what}: " if what else ""
    snippet = response.text[:200] if response.text else ""
    if status == 429:
        raise RateLimited(
            f"{label}HTTP 429", retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status in (401, 403):
        raise AuthError(f"{label}HTTP {status}: credentials refused")
    if status == 404:
        raise ConfigError(f"{label}HTTP 404 at {response.url}: check the URL and API version")
    if status >= 500 or status in (408, 409, 423, 425):
        raise TransientError(f"{label}HTTP {status}: {snippet}")
    raise DataError(f"{label}HTTP {status}: {snippet}")


class RateLimiter:
    """A token bucket shared by the calls of one connection: waits instead of failing."""

    _EPSILON = 1e-9
    _MIN_SLEEP = 0.001

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else rate)
        self._tokens = self.capacity
        self._last = clock()

    def acquire(self, cost: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Take ``cost`` tokens, sleeping as needed; returns the seconds waited.

        A cost above the bucket's capacity is charged as a full bucket, so the call still
        happens (the remote decides) instead of waiting forever.
        """
        cost = min(float(cost), self.capacity)
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens + self._EPSILON >= cost:
                    self._tokens = max(0.0, self._tokens - cost)
                    return waited
                need = max(self._MIN_SLEEP, (cost - self._tokens) / self.rate)
            sleep(need)
            waited += need

    def drain(self, available: float) -> None:
        """Align the bucket with what the remote says is left (e.g. Shopify throttleStatus)."""
        with self._lock:
            self._tokens = min(self.capacity, max(0.0, float(available)))
            self._last = self._clock()

    def resize(self, capacity: float, rate: float) -> None:
        """Adopt the remote's bucket size and refill rate (a plan change, a bigger shop)."""
        with self._lock:
            self.capacity, self.rate = float(capacity), float(rate)
            self._tokens = min(self._tokens, self.capacity)


def build_session(user_agent: str = "brique") -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


_pause: Callable[[float], None] = time.sleep


def _sleep(seconds: float) -> None:
    _pause(seconds)


@contextmanager
def without_backoff() -> Iterator[None]:
    """Tests only: the short retries still happen, without waiting between them (the
    contract kit's ``errors`` suite counts attempts, not seconds)."""
    global _pause
    saved, _pause = _pause, lambda _seconds: None
    try:
        yield
    finally:
        _pause = saved


_short_retry = retry(
    retry=retry_if_exception(
        lambda e: isinstance(e, TransientError) and not isinstance(e, RateLimited)
    ),
    stop=stop_after_attempt(3),
    wait=wait_exponential_jitter(multiplier=0.2, max=2.0),
    sleep=_sleep,
    reraise=True,
)


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str = "",
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> requests.Response:
    """Send one request with short retries on transient failures; classify the outcome.

    Retries here last seconds; longer waits are the worker's job (Celery retry with backoff),
    so the two never multiply without bound.
    """

    @_short_retry
    def _send() -> requests.Response:
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as exc:
            raise TransientError(f"{what or url}: timed out") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"{what or url}: connection failed") from exc
        except requests.RequestException as exc:
            raise TransientError(f"{what or url}: {type(exc).__name__}") from exc
        classify_response(response, what)
        return response

    return _send()

"""PrestaShop Webservice transport: HTTP Basic with the key, paced calls, classified errors.

PrestaShop has no built-in rate limit and no signal for one (no 429, no cost header): every call
boots the shop's whole PHP stack on the merchant's own hosting, often shared with the storefront,
and a stock PUT fires ``actionUpdateQuantity`` for every module hooked on it (feeds, search
indexes, marketplaces). So the client paces itself with a token bucket (``RateLimiter``), by
default 5 calls per second with a burst of 5: a 50-item stock batch (one GET and one PUT per
item) then takes about 20 seconds, and the shop keeps serving its customers. A host or a WAF in
front of the shop may still answer 429 or 503 with ``Retry-After``: that is ``RateLimited``.

Errors: the Webservice answers ``<prestashop><errors><error><code/><message/>`` with a status.
401/403 are ``AuthError``, 405 (a method the key may not use) and 503 code 22 (webservice
disabled) are ``ConfigError``, other 5xx ``TransientError`` (retried a few times here, with
the injected ``sleep``), other 4xx ``DataError`` carrying PrestaShop's message; a 404 is
``NotFound`` (a ``DataError``) so a caller can tell a vanished resource from a wrong URL.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from bridge.errors import AuthError, ConfigError, DataError, RateLimited, TransientError
from bridge.http import DEFAULT_TIMEOUT, RateLimiter, build_session, parse_retry_after
from connectors.prestashop import xml

log = logging.getLogger(__name__)

ATTEMPTS = 3
"""Tries per call on a transient failure; longer waits are the worker's (Celery backoff)."""

WEBSERVICE_DISABLED = "22"
"""PrestaShop's error code for ``PS_WEBSERVICE`` off (HTTP 503)."""


class NotFound(DataError):
    """HTTP 404: the resource (a stock row, a product) does not exist (any more)."""


class WebserviceClient:
    """One shop's ``/api`` endpoint. Answers are parsed XML roots (``<prestashop>``)."""

    def __init__(
        self,
        shop_url: str,
        api_key: SecretStr,
        *,
        id_shop: int | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        burst: float = 5.0,
        user_agent: str = "brique-prestashop",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = shop_url.rstrip("/") + "/api/"
        self.id_shop = id_shop
        self.timeout = timeout
        self.limiter = RateLimiter(rate, burst, clock=clock)
        self._sleep = sleep
        self._key = api_key
        self.session = build_session(user_agent)
        # HTTP Basic, the key as user name and an empty password (the documented way; the
        # ``ws_key`` query parameter would put the key in every URL, hence in logs).
        self.session.auth = (api_key.get_secret_value(), "")

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, what: str = "") -> Any:
        return self.call("GET", path, params=params, what=what)

    def put(self, path: str, body: bytes, *, what: str = "") -> Any:
        return self.call("PUT", path, body=body, what=what)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        what: str = "",
    ) -> Any:
        """Send one call (with short retries on transient failures); the parsed answer."""
        query = dict(params or {})
        if self.id_shop is not None:
            query.setdefault("id_shop", str(self.id_shop))
        url = self.url(path)
        label = what or f"{method} {path}"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._send(method, url, query, body, label)
            except RateLimited:
                raise
            except TransientError as exc:
                if attempt == ATTEMPTS:
                    raise
                delay = min(2.0, 0.2 * 2 ** (attempt - 1)) * (1 + random.random() / 2)
                log.info("prestashop %s: %s; retrying in %.1fs", label, exc, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, method: str, url: str, query: dict[str, Any], body: bytes | None, label: str
    ) -> Any:
        self.limiter.acquire(sleep=self._sleep)
        headers = {"Content-Type": "text/xml; charset=utf-8"} if body is not None else None
        try:
            response = self.session.request(
                method, url, params=query, data=body, headers=headers, timeout=self.timeout
            )
        except requests.Timeout as exc:
            raise TransientError(f"prestashop {label}: timed out") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"prestashop {label}: connection failed") from exc
        except requests.RequestException as exc:
            raise TransientError(f"prestashop {label}: {type(exc).__name__}") from exc
        return self._answer(response, url, label)

    def _answer(self, response: requests.Response, url: str, label: str) -> Any:
        status = response.status_code
        where = _public(url)
        if status < 300:
            root = xml.parse(response.content, where)
            errors = xml.errors_of(root)
            if errors:
                raise DataError(f"prestashop {label}: {xml.describe_errors(errors)}")
            return root
        errors = _errors(response, where)
        detail = xml.describe_errors(errors) or _snippet(response)
        message = f"prestashop {label}: HTTP {status}" + (f": {detail}" if detail else "")
        retry_after = response.headers.get("Retry-After")
        if status == 429 or (status == 503 and retry_after):
            raise RateLimited(message, retry_after=parse_retry_after(retry_after))
        if status in (401, 403):
            raise AuthError(message + " (check the webservice key and its permissions)")
        if status == 405:
            raise ConfigError(message + " (give the webservice key this method)")
        if status == 503 and any(code == WEBSERVICE_DISABLED for code, _ in errors):
            raise ConfigError(message)
        if status == 404:
            raise NotFound(message)
        if status >= 500 or status in (408, 409, 423, 425):
            raise TransientError(message)
        raise DataError(message)


def _errors(response: requests.Response, where: str) -> list[tuple[str, str]]:
    """PrestaShop's ``<errors>`` of a failed answer; none if the body is not its XML."""
    content = response.content
    if not content or b"<prestashop" not in content[:4096]:
        return []
    try:
        return xml.errors_of(xml.parse(content, where))
    except DataError:
        return []


def _snippet(response: requests.Response) -> str:
    text = response.text.strip() if response.content else ""
    return text[:200]


def _public(url: str) -> str:
    """The URL without credentials or query (``id_shop``...), to name it in messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"

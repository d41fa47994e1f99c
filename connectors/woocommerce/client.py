"""WooCommerce REST v3 transport: one authenticated session, JSON in and out, no raw errors.

Every call goes through ``bridge.http.request`` (timeouts, short retries, the status
classifier), so a 401/403 is an ``AuthError``, a 429 a ``RateLimited`` honouring
``Retry-After``, a 5xx or a timeout a ``TransientError``. A refused request (400, 413...) is a
``WooRequestError``, a ``DataError`` that also carries the HTTP status and WooCommerce's own
error ``code`` (``{"code", "message", "data": {"status"}}``), so callers can react to e.g.
``woocommerce_rest_request_entity_too_large``.

Authentication (WooCommerce REST API docs, "Authentication over HTTPS"): the consumer key and
secret as HTTP Basic credentials. Servers that drop the ``Authorization`` header can be given
them as ``consumer_key``/``consumer_secret`` query parameters instead (documented for HTTPS
only); that puts the secret in the server's access logs, so it is off by default. Over plain
HTTP the docs require OAuth 1.0a signatures, which this client does not implement: the config
refuses ``http://`` URLs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from pydantic import SecretStr

from bridge.errors import (
    AuthError,
    BriqueError,
    ConfigError,
    DataError,
    RateLimited,
    TransientError,
)
from bridge.http import RateLimiter, build_session, request

log = logging.getLogger(__name__)

API_PATH = "/wp-json/wc/v3"


class WooRequestError(DataError):
    """WooCommerce refused a request (4xx other than auth, 404 and 429)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class WooClient:
    """HTTP to one shop's ``/wp-json/wc/v3``; secrets stay in the session, never in messages."""

    def __init__(
        self,
        site_url: str,
        consumer_key: SecretStr,
        consumer_secret: SecretStr,
        *,
        timeout: float,
        query_string_auth: bool = False,
        requests_per_second: float = 0.0,
        user_agent: str = "brique-woocommerce",
    ) -> None:
        self.base = site_url.rstrip("/") + API_PATH
        self.session: requests.Session = build_session(user_agent)
        self._key = consumer_key
        self._secret = consumer_secret
        self._query_auth = query_string_auth
        if not query_string_auth:
            self.session.auth = (
                consumer_key.get_secret_value(),
                consumer_secret.get_secret_value(),
            )
        self.timeout = (min(3.05, timeout), float(timeout))
        self.limiter = RateLimiter(requests_per_second) if requests_per_second > 0 else None
        self.calls = 0

    def __repr__(self) -> str:
        return f"WooClient({self.base!r})"

    def close(self) -> None:
        self.session.close()

    # -- calls ----------------------------------------------------------------------------

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, what: str
    ) -> requests.Response:
        return self.call("GET", path, params=params, what=what)

    def post(self, path: str, body: Any, *, what: str) -> requests.Response:
        return self.call("POST", path, body=body, what=what)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        what: str,
    ) -> requests.Response:
        """One request; errors are the taxonomy's, with any secret scrubbed from messages."""
        query = dict(params or {})
        if self._query_auth:
            query["consumer_key"] = self._key.get_secret_value()
            query["consumer_secret"] = self._secret.get_secret_value()
        seen: dict[str, requests.Response] = {}

        def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            seen["response"] = response

        kwargs: dict[str, Any] = {"params": query or None, "hooks": {"response": remember}}
        if body is not None:
            kwargs["data"] = json.dumps(body, separators=(",", ":"))
            kwargs["headers"] = {"Content-Type": "application/json"}
        if self.limiter is not None:
            self.limiter.acquire()
        self.calls += 1
        try:
            return request(
                self.session,
                method,
                f"{self.base}/{path.lstrip('/')}",
                what=what,
                timeout=self.timeout,
                **kwargs,
            )
        except BriqueError as exc:
            raise self._explain(exc, seen.get("response"), what) from None

    def json(self, response: requests.Response, what: str) -> Any:
        """The decoded body; an unreadable 2xx body (a proxy page, a PHP notice) is transient."""
        try:
            return response.json()
        except ValueError:
            raise TransientError(f"{what}: the answer is not JSON") from None

    # -- errors ---------------------------------------------------------------------------

    def _explain(
        self, exc: BriqueError, response: requests.Response | None, what: str
    ) -> BriqueError:
        """The same error class with WooCommerce's ``code: message`` and no secret in it."""
        status = response.status_code if response is not None else None
        code, message = _error_body(response)
        if isinstance(exc, RateLimited):
            return RateLimited(self._scrub(str(exc)), retry_after=exc.retry_after)
        if isinstance(exc, AuthError):
            detail = f" ({code})" if code else ""
            return AuthError(self._scrub(f"{what}: HTTP {status}{detail}: credentials refused"))
        if isinstance(exc, ConfigError):
            detail = f"{code}: {message}" if code else "not found"
            return ConfigError(
                self._scrub(
                    f"{what}: HTTP 404 ({detail}); check site_url and that pretty permalinks "
                    "are on (the REST API needs them)"
                )
            )
        if isinstance(exc, DataError) and status is not None:
            text = f"{code}: {message}" if code else (message or f"HTTP {status}")
            return WooRequestError(
                self._scrub(f"{what}: HTTP {status}: {text}"), status=status, code=code
            )
        return type(exc)(self._scrub(str(exc)))

    def _scrub(self, text: str) -> str:
        for secret in (self._key, self._secret):
            value = secret.get_secret_value()
            if value:
                text = text.replace(value, "***")
        return text


def _error_body(response: requests.Response | None) -> tuple[str | None, str]:
    """WooCommerce/WP REST errors are ``{"code", "message", "data": {"status"}}``."""
    if response is None:
        return None, ""
    try:
        body = response.json()
    except ValueError:
        return None, (response.text or "")[:200]
    if isinstance(body, dict):
        code = body.get("code")
        message = body.get("message")
        return (str(code) if code else None), str(message or "")[:300]
    return None, ""


def int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def has_next(response: requests.Response, page: int, count: int, per_page: int) -> bool:
    """Whether a page-numbered list goes on: ``X-WP-TotalPages``, else ``Link: rel=next``,
    else a full page (WooCommerce REST docs, "Pagination")."""
    total = int_header(response, "X-WP-TotalPages")
    if total is not None:
        return page < total
    if response.headers.get("Link"):
        return "next" in response.links
    return count >= per_page


def ids_of(items: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(i.get("id")) for i in items if isinstance(i, dict))

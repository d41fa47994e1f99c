"""django-oscar-api transport: one authenticated session, exact JSON both ways, no raw errors.

Every call goes through ``bridge.http.request`` (timeouts, short retries, the classifier):
401/403 -> ``AuthError``, 429 -> ``RateLimited``, 5xx and network failures ->
``TransientError``. A 404 is ``OscarNotFound`` (a ``DataError`` about one object, e.g. a
deleted stock record) except where the caller says a 404 means the admin API itself is
missing (``check``). Other 4xx are ``OscarRequestError`` carrying DRF's field errors
(``{"num_in_stock": ["Ensure this value is greater than or equal to 0."]}``).

Bodies are read with ``parse_float=Decimal``; oscar-api prints money as strings
(``"19.99"``), which are read as ``Decimal`` by the callers, never as floats.

Authentication: HTTP Basic with a staff user's ``username``/``password`` (DRF's
``BasicAuthentication``, on in DRF's defaults and in oscar-api's), or a DRF token
(``Authorization: Token <key>``) when the site installed ``rest_framework.authtoken``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from pydantic import SecretStr

from bridge.errors import BriqueError, ConfigError, DataError, TransientError
from bridge.http import build_session, request

log = logging.getLogger(__name__)

MAX_PAGES = 10_000
"""Pages followed through ``next`` before a listing is declared a loop."""


class OscarRequestError(DataError):
    """oscar-api refused a request (a 4xx other than auth, 404 and 429)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OscarNotFound(DataError):
    """A 404 about one object (a stock record, an order)."""


def loads(content: bytes | str) -> Any:
    return json.loads(content, parse_float=Decimal)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot send {type(value).__name__} {value!r} to Oscar")


def dumps(value: Any) -> str:
    """JSON with Decimals as exact strings (``"24.99"``), which DRF's DecimalField reads."""
    return json.dumps(value, default=_default, ensure_ascii=False)


def id_from_url(url: Any) -> str | None:
    """``http://shop/api/admin/stockrecords/12/`` -> ``"12"``; None when there is none."""
    if isinstance(url, int) and not isinstance(url, bool):
        return str(url)
    if not isinstance(url, str) or not url:
        return None
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return last if last.isdigit() else None


class OscarClient:
    """HTTP to ``<base_url>/api``; credentials stay in the session, never in messages."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None,
        password: SecretStr | None,
        token: SecretStr | None,
        timeout: float,
        user_agent: str = "brique-oscar",
    ) -> None:
        self.base = f"{base_url.rstrip('/')}/api/"
        self.session: requests.Session = build_session(user_agent)
        self.session.headers["Accept"] = "application/json"
        self._secrets = [s.get_secret_value() for s in (password, token) if s is not None]
        if token is not None:
            self.session.headers["Authorization"] = f"Token {token.get_secret_value()}"
        elif username and password is not None:
            self.session.auth = (username, password.get_secret_value())
        self.timeout = (min(3.05, timeout), float(timeout))
        self.calls = 0

    def __repr__(self) -> str:
        return f"OscarClient({self.base!r})"

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else urljoin(self.base, path)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        what: str,
        cookies: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Any:
        """One call; with ``cookies``, sent alone: the jar is emptied first, so a shopper's
        session never leaks into another's call (``cookie`` reads what the answer set)."""
        seen: dict[str, requests.Response] = {}

        def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            seen["response"] = response

        kwargs: dict[str, Any] = {"hooks": {"response": remember}}
        if params:
            kwargs["params"] = params
        if body is not None:
            kwargs["data"] = dumps(body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        if cookies is not None:
            self.session.cookies.clear()
            kwargs["cookies"] = dict(cookies)
        self.calls += 1
        try:
            response = request(
                self.session, method, self.url(path), what=what, timeout=self.timeout, **kwargs
            )
        except BriqueError as exc:
            raise self._explain(exc, seen.get("response"), what) from None
        if not response.content.strip():
            return None
        try:
            return loads(response.content)
        except ValueError:
            raise TransientError(f"{what}: the answer is not JSON") from None

    def get(
        self, path: str, *, what: str, cookies: Mapping[str, str] | None = None, **params: Any
    ) -> Any:
        return self.call("GET", path, what=what, cookies=cookies, **params)

    def patch(
        self, path: str, body: Any, *, what: str, cookies: Mapping[str, str] | None = None
    ) -> Any:
        return self.call("PATCH", path, body=body, what=what, cookies=cookies)

    def cookie(self, name: str) -> str | None:
        """A cookie the last answers set (e.g. Django's ``sessionid``)."""
        return self.session.cookies.get(name)

    def listing(
        self,
        path: str,
        *,
        what: str,
        cookies: Mapping[str, str] | None = None,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every object of a DRF list: a page ``{"count", "next", "results"}`` followed
        through ``next`` (never the same URL twice), or a plain list when unpaginated."""
        url: str | None = self.url(path)
        seen: set[str] = set()
        first = True
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise TransientError(f"{what}: pagination loops at {url}")
            seen.add(url)
            body = self.get(url, what=what, cookies=cookies, **(params if first else {}))
            first = False
            if isinstance(body, list):
                yield from (o for o in body if isinstance(o, dict))
                return
            if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
                raise TransientError(f"{what}: the answer is not a DRF list")
            yield from (o for o in body["results"] if isinstance(o, dict))
            nxt = body.get("next")
            url = nxt if isinstance(nxt, str) and nxt else None

    def _explain(
        self, exc: BriqueError, response: requests.Response | None, what: str
    ) -> BriqueError:
        status = response.status_code if response is not None else None
        if isinstance(exc, ConfigError) and status == 404:
            return OscarNotFound(self._scrub(f"{what}: HTTP 404 at {response.url}"))
        if isinstance(exc, DataError) and status is not None:
            detail = _detail(response)
            return OscarRequestError(
                self._scrub(f"{what}: HTTP {status}{': ' + detail if detail else ''}"),
                status=status,
            )
        error = type(exc).__new__(type(exc))
        error.__dict__.update(exc.__dict__)
        error.args = (self._scrub(str(exc)),)
        return error

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def _detail(response: requests.Response | None) -> str:
    """DRF's error body (``{"detail": ...}`` or field -> messages), rendered on one line."""
    if response is None or not response.content:
        return ""
    try:
        body = loads(response.content)
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping):
        parts = []
        for key, value in body.items():
            text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(text if key in ("detail", "non_field_errors") else f"{key}: {text}")
        return " | ".join(parts)[:500]
    return str(body)[:500]

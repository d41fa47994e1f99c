"""Magento 2 REST transport: one bearer-token session, exact JSON both ways, no raw errors.

Every call goes through ``bridge.http.request`` (timeouts, short retries, the classifier) and
its error is re-raised with Magento's own message rendered:

* 401/403 -> ``AuthError``. Magento answers 401 ``"The consumer isn't authorized to access
  %resources."`` both for a refused token and for an integration lacking that API resource:
  the rendered message names the resource and the error names both causes.
* 404 -> ``ConfigError`` when Magento says ``"Request does not match any route."`` (a wrong
  ``base_url``/``store_code``, or the module behind the route, e.g. MSI, is not installed);
  any other 404 is ``MagentoNotFound``, a ``DataError`` about one entity (an unknown SKU).
* 429 -> ``RateLimited`` (``Retry-After`` honoured); 503 with ``Retry-After`` (maintenance
  mode, a CDN's throttle) -> ``RateLimited`` too; other 5xx and network failures ->
  ``TransientError``.
* other 4xx -> ``MagentoRequestError`` (a ``DataError``) whose text is Magento's
  ``message`` with its ``%1``/``%name`` placeholders filled from ``parameters``, plus the
  rendered ``errors[]`` of a ``Validation Failed``.

Bodies are read with ``parse_float=Decimal`` (a JSON number ``19.99`` is ``Decimal("19.99")``,
never a binary float) and written by ``dumps``, which prints Decimals exactly.

Authentication: the integration's access token as ``Authorization: Bearer``. Since 2.4.4
Magento accepts an integration token as a standalone bearer token only when *Stores >
Configuration > Services > OAuth > Consumer Settings > Allow OAuth Access Tokens to be used
as standalone Bearer tokens* is Yes (``oauth/consumer/enable_integration_as_bearer``);
OAuth 1.0a request signing is not implemented. A 401 says so.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

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
from bridge.http import RateLimiter, build_session, parse_retry_after, request

log = logging.getLogger(__name__)

NO_ROUTE = "Request does not match any route"
BEARER_HINT = (
    "check the integration's access token and the API resources granted to it (System > "
    "Integrations); Magento 2.4.4+ accepts the token as a bearer token only with Stores > "
    "Configuration > Services > OAuth > Consumer Settings > 'Allow OAuth Access Tokens to be "
    "used as standalone Bearer tokens' = Yes"
)
_PLACEHOLDER = re.compile(r"%(\d+|[A-Za-z_][A-Za-z0-9_]*)")


class MagentoRequestError(DataError):
    """Magento refused a request (a 4xx other than auth, 404 and 429)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MagentoNotFound(DataError):
    """A 404 about one entity (an unknown SKU, order...), not a missing route."""


# -- messages -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render(message: Any, parameters: Any = None) -> str:
    """Magento's message with its placeholders filled, as the admin panel would show it.

    Magento sends ``{"message": "...%1...", "parameters": ["x"]}`` (positional, 1-based) or
    ``{"message": "...%fieldName...", "parameters": {"fieldName": "sku"}}`` (named). The
    price APIs send named placeholders with a *list* of values (``"Invalid attribute
    %fieldName = %fieldValue."``, ``["SKU", "ABC"]``): those are filled in order of first
    appearance. A placeholder without a value is left as it is.
    """
    text = message if isinstance(message, str) else _text(message)
    if isinstance(parameters, Mapping):
        named = {str(k): v for k, v in parameters.items()}
        positional = list(parameters.values())
    elif isinstance(parameters, list | tuple):
        named, positional = {}, list(parameters)
    else:
        return text
    order: dict[str, int] = {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in named:
            return _text(named[name])
        if name.isdigit():
            index = int(name) - 1
            return _text(positional[index]) if 0 <= index < len(positional) else match.group(0)
        if named:
            return match.group(0)
        index = order.setdefault(name, len(order))
        return _text(positional[index]) if index < len(positional) else match.group(0)

    return _PLACEHOLDER.sub(fill, text)


def error_text(body: Any) -> str:
    """The rendered ``message`` of an error body, with each of its ``errors[]``."""
    if not isinstance(body, Mapping):
        return ""
    text = render(body.get("message"), body.get("parameters"))
    details = [
        render(e.get("message"), e.get("parameters"))
        for e in body.get("errors") or ()
        if isinstance(e, Mapping) and e.get("message")
    ]
    details = [d for d in details if d and d != text]
    return "; ".join([t for t in (text, *details) if t])


# -- exact JSON -----------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON text with Decimals written exactly (``Decimal("19.90")`` -> ``19.90``).

    The standard encoder would need a float on the way, which is how cents get lost; a
    float here is a programming error and is refused.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent as a JSON number")
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot send {type(value).__name__} {value!r} to Magento")


def loads(content: bytes | str) -> Any:
    """A JSON body with every number that has a fraction or exponent read as a Decimal."""
    return json.loads(content, parse_float=Decimal)


# -- search criteria -----------------------------------------------------------------------

Filter = tuple[str, str, str]
"""(field, value, conditionType): ``("sku", "A,B", "in")``."""


def search_criteria(
    groups: Sequence[Sequence[Filter]] = (),
    *,
    sort: Sequence[tuple[str, str]] = (),
    page_size: int | None = None,
    current_page: int | None = None,
) -> dict[str, str]:
    """``searchCriteria[...]`` query parameters. Filters in one group are OR-ed, groups are
    AND-ed (Adobe Commerce web API, "Search using REST endpoints")."""
    params: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filterGroups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = value
            params[f"{prefix}[conditionType]"] = condition
    for s, (field, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = field
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    if page_size is not None:
        params["searchCriteria[pageSize]"] = str(page_size)
    if current_page is not None:
        params["searchCriteria[currentPage]"] = str(current_page)
    return params


def listing(body: Any, what: str) -> tuple[list[dict[str, Any]], int | None]:
    """``{"items": [...], "search_criteria": {...}, "total_count": N}`` -> (items, N)."""
    if not isinstance(body, Mapping):
        raise TransientError(f"{what}: the answer is not a search result")
    items = body.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise TransientError(f"{what}: the answer's 'items' is not a list")
    total = body.get("total_count")
    count = total if isinstance(total, int) and not isinstance(total, bool) else None
    return [i for i in items if isinstance(i, dict)], count


# -- the client -----------------------------------------------------------------------------


class MagentoClient:
    """HTTP to ``<base_url>/rest/<store_code>/V1``; the token stays in the session."""

    def __init__(
        self,
        base_url: str,
        store_code: str,
        token: SecretStr,
        *,
        timeout: float,
        requests_per_second: float = 0.0,
        user_agent: str = "brique-magento2",
    ) -> None:
        self.base = f"{base_url.rstrip('/')}/rest/{quote(store_code, safe='')}/V1"
        self.session: requests.Session = build_session(user_agent)
        self.session.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        self.session.headers["Accept"] = "application/json"
        self._token = token
        self.timeout = (min(3.05, timeout), float(timeout))
        self.limiter = RateLimiter(requests_per_second) if requests_per_second > 0 else None
        self.calls = 0

    def __repr__(self) -> str:
        return f"MagentoClient({self.base!r})"

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, params: Mapping[str, str] | None = None, *, what: str) -> Any:
        return self.call("GET", path, params=params, what=what)

    def post(self, path: str, body: Any, *, what: str) -> Any:
        return self.call("POST", path, body=body, what=what)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        what: str,
    ) -> Any:
        """One request; the decoded body, or the taxonomy's error with Magento's message."""
        seen: dict[str, requests.Response] = {}

        def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            seen["response"] = response

        kwargs: dict[str, Any] = {"params": dict(params or {}) or None}
        kwargs["hooks"] = {"response": remember}
        if body is not None:
            kwargs["data"] = dumps(body).encode()
            kwargs["headers"] = {"Content-Type": "application/json"}
        if self.limiter is not None:
            self.limiter.acquire()
        self.calls += 1
        try:
            response = request(
                self.session,
                method,
                f"{self.base}/{path.lstrip('/')}",
                what=what,
                timeout=self.timeout,
                **kwargs,
            )
        except BriqueError as exc:
            raise self._explain(exc, seen.get("response"), what) from None
        try:
            return loads(response.content) if response.content.strip() else None
        except ValueError:
            raise TransientError(f"{what}: the answer is not JSON") from None

    # -- errors ---------------------------------------------------------------------------

    def _explain(
        self, exc: BriqueError, response: requests.Response | None, what: str
    ) -> BriqueError:
        status = response.status_code if response is not None else None
        message = _body_message(response)
        detail = f": {message}" if message else ""
        if isinstance(exc, RateLimited):
            return RateLimited(self._scrub(f"{what}: HTTP 429{detail}"), exc.retry_after)
        if isinstance(exc, AuthError):
            # Magento says "The consumer isn't authorized to access <resource>." both for a
            # refused token and for an integration lacking that resource: name both causes.
            text = f"{what}: HTTP {status}{detail or ': credentials refused'}"
            return AuthError(self._scrub(f"{text}; {BEARER_HINT}"))
        if isinstance(exc, ConfigError):
            if message and NO_ROUTE not in message:
                return MagentoNotFound(self._scrub(f"{what}: {message}"))
            return ConfigError(
                self._scrub(
                    f"{what}: HTTP 404{detail or ' (not Magento JSON)'}; check base_url and "
                    "store_code, and that the Magento module serving this route is installed "
                    "and enabled (MSI for inventory/*)"
                )
            )
        if status == 503 and response is not None and response.headers.get("Retry-After"):
            return RateLimited(
                self._scrub(f"{what}: HTTP 503{detail}"),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if isinstance(exc, TransientError):
            if status is None:
                return type(exc)(self._scrub(str(exc)))
            return TransientError(self._scrub(f"{what}: HTTP {status}{detail}"))
        if isinstance(exc, DataError) and status is not None:
            return MagentoRequestError(
                self._scrub(f"{what}: HTTP {status}{detail or ': refused'}"), status=status
            )
        return type(exc)(self._scrub(str(exc)))

    def _scrub(self, text: str) -> str:
        value = self._token.get_secret_value()
        return text.replace(value, "***") if value else text


def _body_message(response: requests.Response | None) -> str:
    """Magento's rendered error (never its ``trace``), or the start of a non-JSON body."""
    if response is None:
        return ""
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        return ""
    return error_text(body)[:500]

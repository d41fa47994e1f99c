"""Square REST transport: one session, the pinned ``Square-Version``, Square's errors decoded.

Calls go through ``bridge.http.request`` (timeouts, short retries, the status classifier).
A response hook reads Square's error body first, so a refusal names Square's own ``code``
and ``detail`` (``{"errors": [{"category", "code", "detail", "field"}]}``) instead of a raw
HTTP status: 400/404/422 with ``errors[]`` become ``SquareRefusal`` (a ``DataError``), 401/403
an ``AuthError``; 429 and 5xx are left to the classifier (``RateLimited`` with
``Retry-After``, ``TransientError``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from pydantic import SecretStr

from bridge.errors import AuthError, DataError, TransientError
from bridge.http import build_session, request

REFUSAL_STATUSES = frozenset({400, 404, 422})


class SquareRefusal(DataError):
    """Square refused the request as data, with its ``errors[]`` kept for attribution."""

    def __init__(self, message: str, *, status: int, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(message)
        self.status = status
        self.errors = list(errors)

    def codes(self) -> set[str]:
        return {str(e.get("code")) for e in self.errors if e.get("code")}


def error_text(error: Mapping[str, Any]) -> str:
    """``CODE: detail (field)`` for one entry of Square's ``errors[]``."""
    code = error.get("code") or error.get("category") or "ERROR"
    text = f"{code}: {error.get('detail') or 'refused by Square'}"
    if error.get("field"):
        text += f" (field {error['field']})"
    return text


def _errors_of(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict)]


def _label(response: requests.Response) -> str:
    req = response.request
    path = re.sub(r"\?.*$", "", req.path_url) if req is not None and req.path_url else ""
    method = req.method if req is not None and req.method else ""
    return f"square {method} {path}".rstrip()


def _translate(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Response hook: raise Square's refusals with their codes; leave the rest as it is."""
    status = response.status_code
    if status < 400 or status == 429 or status >= 500:
        return
    errors = _errors_of(response)
    label = _label(response)
    if status in (401, 403):
        detail = "; ".join(error_text(e) for e in errors) or "credentials refused"
        raise AuthError(f"{label}: HTTP {status}: {detail}")
    if status in REFUSAL_STATUSES and errors:
        detail = "; ".join(error_text(e) for e in errors[:10])
        raise SquareRefusal(f"{label}: HTTP {status}: {detail}", status=status, errors=errors)


class SquareApi:
    """The few Square endpoints the connector calls, as JSON in, JSON out."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        version: str,
        timeout: tuple[float, float],
        user_agent: str,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = build_session(user_agent)
        self.session.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        self.session.headers["Square-Version"] = version
        self.session.headers["Accept"] = "application/json"
        self.session.hooks["response"].append(_translate)

    def get(self, path: str, *, what: str) -> dict[str, Any]:
        return self._call("GET", path, None, what)

    def post(self, path: str, body: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        return self._call("POST", path, body, what)

    def _call(
        self, method: str, path: str, body: Mapping[str, Any] | None, what: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["data"] = json.dumps(body, separators=(",", ":"))
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = request(
            self.session,
            method,
            self.base_url + path,
            what=what,
            timeout=self.timeout,
            **kwargs,
        )
        try:
            data = response.json()
        except ValueError as exc:
            raise TransientError(f"{what}: Square answered without JSON") from exc
        if not isinstance(data, dict):
            raise TransientError(f"{what}: Square answered {type(data).__name__}, not an object")
        return data

    def close(self) -> None:
        self.session.close()

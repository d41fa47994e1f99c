"""Vendure Admin GraphQL transport: one session, a bearer token from ``login``, no raw errors.

Vendure answers GraphQL over ``POST <admin_api_url>`` with HTTP 200 even for most failures:

- ``login(username, password)`` returns a ``CurrentUser`` and the session token in the
  ``vendure-auth-token`` response header (``authOptions.tokenMethod`` must include
  ``bearer``, the default); a wrong password is the ``InvalidCredentialsError`` result
  (``errorCode: INVALID_CREDENTIALS_ERROR``), not an HTTP error;
- a call without a valid session is ``{"errors": [{"extensions": {"code": "FORBIDDEN"}}]}``:
  the client logs in again once (an expired session) and then raises ``AuthError``;
- other ``errors`` are ``DataError`` with their messages; HTTP 401/403/429/5xx and network
  failures go through ``bridge.http``'s classifier (``AuthError``, ``RateLimited``,
  ``TransientError``).

A channel is chosen with the ``vendure-token`` header (the channel's token); without it the
default channel answers. Credentials never appear in messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests
from pydantic import SecretStr

from bridge.errors import AuthError, BriqueError, DataError, TransientError
from bridge.http import build_session, request

log = logging.getLogger(__name__)

AUTH_HEADER = "vendure-auth-token"
CHANNEL_HEADER = "vendure-token"

LOGIN = """
mutation BriqueLogin($username: String!, $password: String!) {
  login(username: $username, password: $password, rememberMe: true) {
    __typename
    ... on CurrentUser { id identifier }
    ... on ErrorResult { errorCode message }
  }
}
"""


class VendureGraphQLError(DataError):
    """Vendure refused a query (GraphQL ``errors``); ``codes`` are their extension codes."""

    def __init__(self, message: str, codes: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.codes = codes


def loads(content: bytes | str) -> Any:
    return json.loads(content, parse_float=Decimal)


class VendureClient:
    """Calls one Vendure Admin API; every answer becomes data or a taxonomy error."""

    def __init__(
        self,
        endpoint: str,
        *,
        username: str | None,
        password: SecretStr | None,
        token: SecretStr | None = None,
        channel_token: SecretStr | None = None,
        timeout: float = 30.0,
        user_agent: str = "brique-vendure",
    ) -> None:
        self.endpoint = endpoint
        self.username = username
        self._password = password
        self._fixed_token = token
        self._token: str | None = token.get_secret_value() if token is not None else None
        self.session: requests.Session = build_session(user_agent)
        self.session.headers["Accept"] = "application/json"
        if channel_token is not None and channel_token.get_secret_value():
            self.session.headers[CHANNEL_HEADER] = channel_token.get_secret_value()
        self._secrets = [
            s.get_secret_value() for s in (password, token, channel_token) if s is not None
        ]
        self.timeout = (min(3.05, timeout), float(timeout))
        self.calls = 0

    def __repr__(self) -> str:
        return f"VendureClient({self.endpoint!r})"

    def close(self) -> None:
        self.session.close()

    # -- authentication -------------------------------------------------------------------

    def login(self) -> dict[str, Any]:
        """Log in with username/password; keeps the bearer token Vendure sends back."""
        if self.username is None or self._password is None:
            if self._token is None:
                raise AuthError("vendure: no credentials configured")
            return {}
        self._token = None
        body, response = self._post(
            LOGIN,
            {"username": self.username, "password": self._password.get_secret_value()},
            what="vendure login",
        )
        errors = body.get("errors")
        if errors:
            raise AuthError(self._scrub(f"vendure login: {_messages(errors)}"))
        result = (body.get("data") or {}).get("login") or {}
        if result.get("__typename") != "CurrentUser":
            code = result.get("errorCode") or result.get("__typename") or "no user"
            raise AuthError(
                self._scrub(f"vendure login refused ({code}): {result.get('message', '')}")
            )
        token = response.headers.get(AUTH_HEADER)
        if not token:
            raise AuthError(
                "vendure login gave no vendure-auth-token header: set "
                "authOptions.tokenMethod to include 'bearer' on the server"
            )
        self._token = token
        return result

    # -- queries --------------------------------------------------------------------------

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, what: str
    ) -> dict[str, Any]:
        """Run a query or mutation and return its ``data``."""
        if self._token is None:
            self.login()
        for attempt in (1, 2):
            body, _ = self._post(query, variables, what=what)
            errors = body.get("errors")
            if not errors:
                data = body.get("data")
                if not isinstance(data, dict):
                    raise TransientError(f"{what}: the answer carries no data")
                return data
            codes = frozenset(c for c in map(_code, errors) if c)
            if "FORBIDDEN" in codes:
                if attempt == 1 and self._fixed_token is None:
                    log.info("%s: the Vendure session was refused; logging in again", what)
                    self.login()
                    continue
                raise AuthError(self._scrub(f"{what}: {_messages(errors)}"))
            raise VendureGraphQLError(self._scrub(f"{what}: {_messages(errors)}"), codes)
        raise AuthError(f"{what}: not authorised")  # pragma: no cover - loop always returns

    def _post(
        self, query: str, variables: Mapping[str, Any] | None, *, what: str
    ) -> tuple[dict[str, Any], requests.Response]:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        payload = json.dumps({"query": query, "variables": dict(variables or {})})
        self.calls += 1
        try:
            response = request(
                self.session,
                "POST",
                self.endpoint,
                what=what,
                timeout=self.timeout,
                data=payload.encode(),
                headers=headers,
            )
        except BriqueError as exc:
            error = type(exc).__new__(type(exc))
            error.__dict__.update(exc.__dict__)
            error.args = (self._scrub(str(exc)),)
            raise error from None
        try:
            body = loads(response.content)
        except ValueError:
            raise TransientError(f"{what}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise TransientError(f"{what}: the answer is not a JSON object")
        return body, response

    def _scrub(self, text: str) -> str:
        for secret in [*self._secrets, self._token]:
            if secret:
                text = text.replace(secret, "***")
        return text


def _code(error: Any) -> str | None:
    if not isinstance(error, Mapping):
        return None
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return str(code) if code else None


def _messages(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if not isinstance(errors, list):
        return str(errors)[:500]
    parts = []
    for error in errors:
        if isinstance(error, Mapping):
            parts.append(str(error.get("message", error)))
        else:
            parts.append(str(error))
    return "; ".join(parts)[:1000]

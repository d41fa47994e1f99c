"""Vendure Shop API transport: the storefront's API, used as a shopper, one session per basket.

A basket handed to the web must be an *active order* a customer's browser can resume, and
only the Shop API makes those: an active order belongs to a session (anonymous until the
shopper signs in), and a session is what a bearer token names. With ``authOptions.tokenMethod``
including ``bearer`` (Vendure's default is ``cookie``), the first call without a token opens
an anonymous session and answers its token in the ``vendure-auth-token`` response header
(checked on Vendure 3.7.3: ``{ activeOrder { id } }`` alone is enough); later calls send
``Authorization: Bearer <token>``. A token Vendure no longer knows (an expired session) is
not an error: Vendure opens a new session and answers a new token, which ``execute`` reports
so the caller notices it lost the basket.

Errors: GraphQL ``errors`` are ``VendureGraphQLError`` (a ``DataError``); HTTP and network
failures go through ``bridge.http``'s classifier. Tokens never appear in messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests
from pydantic import SecretStr

from bridge.errors import BriqueError, TransientError
from bridge.http import build_session, request
from connectors.vendure.client import (
    AUTH_HEADER,
    CHANNEL_HEADER,
    VendureGraphQLError,
    _code,
    _messages,
    loads,
)


class ShopClient:
    """Calls one Vendure Shop API as the shopper whose session token is given."""

    def __init__(
        self,
        endpoint: str,
        *,
        channel_token: SecretStr | None = None,
        timeout: float = 30.0,
        user_agent: str = "brique-vendure",
    ) -> None:
        self.endpoint = endpoint
        self.session: requests.Session = build_session(user_agent)
        self.session.headers["Accept"] = "application/json"
        if channel_token is not None and channel_token.get_secret_value():
            self.session.headers[CHANNEL_HEADER] = channel_token.get_secret_value()
        self._secrets = [channel_token.get_secret_value()] if channel_token is not None else []
        self.timeout = (min(3.05, timeout), float(timeout))
        self.calls = 0

    def __repr__(self) -> str:
        return f"ShopClient({self.endpoint!r})"

    def close(self) -> None:
        self.session.close()

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        token: str | None,
        what: str,
    ) -> tuple[dict[str, Any], str | None]:
        """Run one operation in the session ``token`` names (a new one if None).

        Returns its ``data`` and the token of the session Vendure opened for this call, if it
        opened one (None when it recognised ``token``)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps({"query": query, "variables": dict(variables or {})})
        self.calls += 1
        # A fresh cookie jar per call: the token, not a cookie, names the session.
        self.session.cookies.clear()
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
            error.args = (self._scrub(str(exc), token),)
            raise error from None
        try:
            body = loads(response.content)
        except ValueError:
            raise TransientError(f"{what}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise TransientError(f"{what}: the answer is not a JSON object")
        errors = body.get("errors")
        if errors:
            codes = frozenset(c for c in map(_code, errors) if c)
            raise VendureGraphQLError(self._scrub(f"{what}: {_messages(errors)}", token), codes)
        data = body.get("data")
        if not isinstance(data, dict):
            raise TransientError(f"{what}: the answer carries no data")
        issued = response.headers.get(AUTH_HEADER)
        return data, (issued if issued and issued != token else None)

    def _scrub(self, text: str, token: str | None) -> str:
        for secret in [*self._secrets, token]:
            if secret:
                text = text.replace(secret, "***")
        return text

"""Odoo's external JSON-RPC API: one endpoint, two services, errors mapped to Brique's taxonomy.

Every call is a ``POST <url>/jsonrpc`` of ``{"jsonrpc": "2.0", "method": "call", "params":
{"service": ..., "method": ..., "args": [...]}, "id": n}``:

* ``common.authenticate(db, login, password_or_api_key, {})`` answers the user id, or
  ``false`` when the credentials are refused (no error object);
* ``object.execute_kw(db, uid, password_or_api_key, model, method, args, kwargs)`` runs an ORM
  method (``search_read``, ``fields_get``, ``search_count``...). Since Odoo 14 an API key
  replaces the password in both (Preferences > Account Security > New API Key).

The answer is ``{"jsonrpc": "2.0", "id": n, "result": ...}`` or, with HTTP 200 still,
``{"error": {"code": 200, "message": "Odoo Server Error", "data": {"name":
"odoo.exceptions.AccessDenied", "message": "Access Denied", "arguments": [...], "debug":
"<traceback>"}}}`` (``code`` 100 for an expired or invalid web session, 404 for a missing
route). ``error_of`` maps those to ``bridge.errors``; the traceback (``debug``) is never
copied into a message.

Odoo writes ``Float`` and ``Monetary`` values as JSON numbers, i.e. Python float reprs
(``0.30000000000000004`` when the server summed ``0.1 + 0.2`` in floats). The body is parsed
with ``parse_float=Decimal``: what Odoo wrote is what Brique holds, digit for digit, never
through a binary float; rounding to the currency is the decoder's decision.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from bridge.errors import AuthError, BriqueError, ConfigError, DataError, TransientError
from bridge.http import build_session, request

AUTH_ERRORS = frozenset({"AccessDenied", "AuthenticationError", "SessionExpiredException"})
"""Exception class names (last part of ``data.name``) that mean: credentials refused."""
DATA_ERRORS = frozenset(
    {"AccessError", "ValidationError", "UserError", "MissingError", "RedirectWarning"}
)
"""Business refusals: Odoo says no to this call with a message meant for a person."""
TRANSIENT_ERRORS = frozenset(
    {
        "OperationalError",
        "SerializationFailure",
        "TransactionRollbackError",
        "DeadlockDetected",
        "LockNotAvailable",
        "InterfaceError",
        "PoolError",
        "ConcurrencyError",
        "ServiceUnavailable",
    }
)
"""PostgreSQL concurrency and connection failures (Odoo retries a serialization failure a
few times itself, then gives up with it): the same call may pass later."""
TRANSIENT_TEXTS = (
    "could not serialize access",
    "deadlock detected",
    "could not obtain lock",
    "connection pool is full",
)


class OdooRefusal(DataError):
    """Odoo refused one call (``UserError``, ``AccessError``...); ``name`` is its class."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


def error_of(error: Any, what: str) -> BriqueError:
    """The taxonomy error for a JSON-RPC ``error`` object."""
    if not isinstance(error, Mapping):
        return TransientError(f"{what}: Odoo answered an unreadable error {str(error)[:200]!r}")
    code = error.get("code")
    data = error.get("data") if isinstance(error.get("data"), Mapping) else {}
    name = str(data.get("name") or "")
    short = name.rsplit(".", 1)[-1]
    text = " ".join(str(data.get("message") or error.get("message") or "").split())[:500]
    label = f"{what}: {short or 'error'}: {text or 'no message'}"
    lowered = text.lower()
    if short in AUTH_ERRORS or code == 100 or data.get("exception_type") == "access_denied":
        return AuthError(
            f"{label} (check database, username and api_key; an API key replaces the "
            "password since Odoo 14)"
        )
    if short in TRANSIENT_ERRORS or any(marker in lowered for marker in TRANSIENT_TEXTS):
        return TransientError(label)
    if code == 404:
        return ConfigError(f"{label} (check url: Odoo's /jsonrpc route was not found)")
    if short == "KeyError":
        return ConfigError(f"{label} (unknown model: is the Point of Sale app installed?)")
    if short == "ValueError" and "invalid field" in lowered:
        return ConfigError(f"{label} (a field Brique reads is missing in this Odoo version)")
    if short in DATA_ERRORS:
        return OdooRefusal(label, name=short)
    return OdooRefusal(label, name=short or "error")


class OdooRpc:
    """A JSON-RPC client for one database and one user, authenticated on first use."""

    def __init__(
        self,
        url: str,
        database: str,
        username: str,
        api_key: SecretStr,
        *,
        timeout: tuple[float, float],
        user_agent: str,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/jsonrpc"
        self.database = database
        self.username = username
        self._key = api_key
        self.timeout = timeout
        self.session = build_session(user_agent)
        self.session.headers["Accept"] = "application/json"
        self._ids = itertools.count(1)
        self.uid: int | None = None

    def close(self) -> None:
        self.session.close()

    def call(self, service: str, method: str, args: Sequence[Any], *, what: str) -> Any:
        """One JSON-RPC call; the ``result`` with exact Decimals, or a taxonomy error."""
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(self._ids),
        }
        response = request(
            self.session,
            "POST",
            self.endpoint,
            what=what,
            timeout=self.timeout,
            data=json.dumps(body, separators=(",", ":")),
            headers={"Content-Type": "application/json"},
        )
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise TransientError(
                f"{what}: the answer is not JSON (is url the Odoo server itself?)"
            ) from exc
        if not isinstance(data, dict):
            raise TransientError(f"{what}: the answer is not a JSON-RPC object")
        if data.get("error") is not None:
            raise error_of(data["error"], what)
        if "result" not in data:
            raise TransientError(f"{what}: a JSON-RPC answer without result nor error")
        return data["result"]

    def authenticate(self) -> int:
        """``common.authenticate``: the user id, or ``AuthError`` when Odoo answers false."""
        uid = self.call(
            "common",
            "authenticate",
            [self.database, self.username, self._key.get_secret_value(), {}],
            what="odoo common.authenticate",
        )
        if isinstance(uid, bool) or not isinstance(uid, int) or uid <= 0:
            raise AuthError(
                f"odoo refused login {self.username!r} on database {self.database!r}: "
                "check username and api_key (an API key replaces the password)"
            )
        self.uid = uid
        return uid

    def execute_kw(
        self,
        model: str,
        method: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        """``object.execute_kw`` on ``model``; authenticates first if needed."""
        uid = self.uid if self.uid is not None else self.authenticate()
        return self.call(
            "object",
            "execute_kw",
            [
                self.database,
                uid,
                self._key.get_secret_value(),
                model,
                method,
                list(args),
                dict(kwargs or {}),
            ],
            what=f"odoo {model}.{method}",
        )

    def search_read(
        self,
        model: str,
        domain: Sequence[Any],
        fields: Sequence[str],
        *,
        order: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"fields": list(fields)}
        if order:
            kwargs["order"] = order
        if limit is not None:
            kwargs["limit"] = limit
        if offset:
            kwargs["offset"] = offset
        if context:
            kwargs["context"] = dict(context)
        rows = self.execute_kw(model, "search_read", [list(domain)], kwargs)
        if not isinstance(rows, list):
            raise TransientError(f"odoo {model}.search_read answered {type(rows).__name__}")
        return [row for row in rows if isinstance(row, dict)]

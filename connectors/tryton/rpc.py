"""Tryton's JSON-RPC (trytond 8.2): one endpoint per database, sessions, typed JSON values.

* Endpoint: ``POST <url>/<database>/rpc/`` (8.2; the older ``/<database>/`` answers 405)
  with ``{"id": n, "method": name, "params": [...]}``.
* ``common.db.login(login, {"password": ...}, language)`` answers ``[user_id, session,
  bus_url]``; every later call carries ``Authorization: Session base64(login:user_id:session)``.
* ``model.<model>.<method>`` takes its positional arguments then the context, always last;
  the context is the user's (``model.res.user.get_preferences(true, {})``).
* An application error is HTTP 200 with ``{"error": [name, args]}`` (``UserError``,
  ``ConcurrencyException``...) or ``[str(exception), traceback]``; a refused or expired
  session is a plain HTTP 401, too many failed logins a 429.

Typed values travel as objects: ``{"__class__": "Decimal", "decimal": "24.00"}``, ``date``,
``datetime`` (naive UTC for ``create_date``/``write_date``), ``time``, ``timedelta``,
``bytes``. They are decoded with an ``object_hook`` and a JSON float (a ``Float`` field such
as a quantity) is parsed as a ``Decimal``: no number ever goes through a binary float.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import SecretStr

from bridge.errors import AuthError, BriqueError, ConfigError, DataError, TransientError
from bridge.http import build_session, request


def _object(dct: dict[str, Any]) -> Any:
    kind = dct.get("__class__")
    if kind is None:
        return dct
    try:
        if kind == "Decimal":
            return Decimal(str(dct["decimal"]))
        if kind == "datetime":
            return dt.datetime(
                dct["year"],
                dct["month"],
                dct["day"],
                dct.get("hour", 0),
                dct.get("minute", 0),
                dct.get("second", 0),
                dct.get("microsecond", 0),
            )
        if kind == "date":
            return dt.date(dct["year"], dct["month"], dct["day"])
        if kind == "time":
            return dt.time(
                dct.get("hour", 0), dct.get("minute", 0), dct.get("second", 0),
                dct.get("microsecond", 0),
            )  # fmt: skip
        if kind == "timedelta":
            return dt.timedelta(seconds=float(dct["seconds"]))
        if kind == "bytes":
            return base64.b64decode(dct["base64"])
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise DataError(f"tryton: unreadable {kind} value {dct!r}") from exc
    return dct


def loads(data: bytes | str) -> Any:
    """Tryton's JSON: typed objects decoded, floats as Decimals."""
    return json.loads(data, object_hook=_object, parse_float=Decimal)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable for Tryton")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))


class TrytonRefusal(DataError):
    """Tryton refused one call (``UserError``...); ``name`` is the exception's name."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


def error_of(error: Any, what: str) -> BriqueError:
    """The taxonomy error for a JSON-RPC ``error`` value (``[name, args]``)."""
    if not isinstance(error, list | tuple) or not error:
        return TransientError(f"{what}: Tryton answered an unreadable error {str(error)[:200]!r}")
    name = str(error[0])
    args = error[1] if len(error) > 1 else ""
    if isinstance(args, list | tuple):
        text = " ".join(str(a) for a in args if a not in (None, "") and not isinstance(a, list))
    elif name in ("UserError", "UserWarning", "LoginException", "ConcurrencyException"):
        text = str(args)
    else:
        text = ""  # args is the server traceback: never copied into a message
    text = " ".join(text.split())[:500]
    if name == "ConcurrencyException":
        return TransientError(f"{what}: ConcurrencyException: {text}")
    if name == "LoginException":
        return AuthError(f"{what}: the server asks for another login step ({text})")
    if name in ("UserError", "UserWarning"):
        return TrytonRefusal(f"{what}: {name}: {text or 'no message'}", name=name)
    lowered = name.lower()
    if "database is locked" in lowered or "could not serialize" in lowered:
        return TransientError(f"{what}: {name[:300]}")
    if "access" in lowered and "denied" in lowered:
        return ConfigError(f"{what}: {name[:300]} (give the API user the POS and Stock groups)")
    return TrytonRefusal(f"{what}: server error {name[:300]}", name="error")


class TrytonRpc:
    """A JSON-RPC client for one database and one user; logs in on first use and again
    once when the server says the session expired (HTTP 401)."""

    def __init__(
        self,
        url: str,
        database: str,
        username: str,
        password: SecretStr,
        *,
        timeout: tuple[float, float],
        user_agent: str,
        language: str = "en",
    ) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.database = database
        self.username = username
        self._password = password
        self.language = language
        self.timeout = timeout
        self.session = build_session(user_agent)
        self.session.headers["Accept"] = "application/json"
        self._ids = itertools.count(1)
        self.user_id: int | None = None
        self._token: str | None = None
        self.context: dict[str, Any] | None = None

    def close(self) -> None:
        if self._token is not None:
            try:
                self._send("common.db.logout", [], what="tryton common.db.logout")
            except BriqueError:
                pass
            self._token = None
        self.session.close()

    def _send(self, method: str, params: Sequence[Any], *, what: str) -> Any:
        headers = {"Content-Type": "application/json"}
        if self._token is not None:
            raw = f"{self.username}:{self.user_id}:{self._token}".encode()
            headers["Authorization"] = "Session " + base64.b64encode(raw).decode()
        body = {"id": next(self._ids), "method": method, "params": list(params)}
        response = request(
            self.session,
            "POST",
            self.endpoint,
            what=what,
            timeout=self.timeout,
            data=dumps(body),
            headers=headers,
        )
        try:
            data = loads(response.content)
        except ValueError as exc:
            raise TransientError(
                f"{what}: the answer is not JSON (is url the trytond server, and database right?)"
            ) from exc
        if not isinstance(data, dict):
            raise TransientError(f"{what}: the answer is not a JSON-RPC object")
        if data.get("error") is not None:
            raise error_of(data["error"], what)
        if "result" not in data:
            raise TransientError(f"{what}: a JSON-RPC answer without result nor error")
        return data["result"]

    def login(self) -> int:
        """``common.db.login``, then the user's context (``get_preferences``)."""
        self._token = None
        try:
            result = self._send(
                "common.db.login",
                [self.username, {"password": self._password.get_secret_value()}, self.language],
                what="tryton common.db.login",
            )
        except AuthError as exc:
            raise AuthError(
                f"tryton refused login {self.username!r} on database {self.database!r}: "
                f"check username and password ({exc})"
            ) from None
        if (
            not isinstance(result, list)
            or len(result) < 2
            or isinstance(result[0], bool)
            or not isinstance(result[0], int)
            or not isinstance(result[1], str)
        ):
            raise AuthError(f"tryton common.db.login answered {str(result)[:80]!r}")
        self.user_id, self._token = result[0], result[1]
        context = self._send(
            "model.res.user.get_preferences", [True, {}], what="tryton get_preferences"
        )
        self.context = dict(context) if isinstance(context, Mapping) else {}
        return self.user_id

    def call(self, model: str, method: str, args: Sequence[Any], context: Any = None) -> Any:
        """``model.<model>.<method>(*args, context)``; logs in first, and again once on 401."""
        what = f"tryton {model}.{method}"
        for attempt in (1, 2):
            if self._token is None:
                self.login()
            merged = {**(self.context or {}), **dict(context or {})}
            try:
                return self._send(f"model.{model}.{method}", [*args, merged], what=what)
            except AuthError:
                if attempt == 2:
                    raise
                self._token = None  # expired session (inactivity timeout): log in again
        raise AssertionError("unreachable")

    def search_read(
        self,
        model: str,
        domain: Sequence[Any],
        fields: Sequence[str],
        *,
        order: Sequence[tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int = 0,
        context: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        rows = self.call(
            model,
            "search_read",
            [
                list(domain),
                offset,
                limit,
                [list(o) for o in order] if order else None,
                list(fields),
            ],
            context,
        )
        if not isinstance(rows, list):
            raise TransientError(f"tryton {model}.search_read answered {type(rows).__name__}")
        return [row for row in rows if isinstance(row, dict)]

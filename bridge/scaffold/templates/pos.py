"""A POS connector: sales in, page by page with a resumable cursor, over a REST API."""

from __future__ import annotations

CONFIG = r'''"""Settings of a {{name}} connection, under ``connections.<name>.config``.

Secrets are ``SecretStr``: never printed, never logged. Write them as ``${ENV_VAR}`` in the
settings file so they stay out of it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bridge.connector import ConnectorConfig
from pydantic import Field, SecretStr, field_validator


class {{Class}}Config(ConnectorConfig):
    base_url: str
    """Root of the till system's REST API, e.g. ``https://tills.example.com/api``."""
    api_key: SecretStr
    """Sent as ``Authorization: Bearer <key>``. TODO(integrator): the API's auth scheme."""
    page_size: int = Field(default=100, ge=1, le=1000)
    """Sales asked per page (the API may answer fewer)."""
    default_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    """Currency of sales that do not name theirs."""
    requests_per_second: float | None = Field(default=None, gt=0)
    """Pace calls to the API's published rate limit; None: no pacing."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must look like https://tills.example.com/api")
        return value
'''

CONNECTOR = r'''"""The {{name}} till connector: sales in, page by page, over a REST API.

A working skeleton for a small, typical REST API (the one the fake API of
``tests/test_contract.py`` plays). Each ``TODO(integrator)`` marks a place to adapt to the
real API: paths, field names, the shape of a sale.

    GET /health                 200 when the key is good, 401 when it is not
    GET /sales?cursor=&limit=   {"sales": [...], "next_cursor": "...", "has_more": true}

Sales are fiscal records: Brique reads them, never edits them. Each is keyed by its own id
(the inbox drops a re-read) and decoded into a ``Sale`` whose ticket key carries the store,
register, business day and ticket number (gaps in the numbering are reported).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import requests
from bridge.connector import (
    Capability,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorInfo,
    InboundEvent,
    Page,
)
from bridge.errors import DataError
from bridge.http import RateLimiter, build_session, request
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, Tender, TicketKey
from bridge.model.base import Record
from pydantic import ValidationError

from {{package}}.config import {{Class}}Config
from {{package}}.values import (
    decimal,
    objects,
    optional_text,
    parse_day,
    parse_time,
    text,
)

NAME = "{{name}}"
"""The connector's name (its entry point in pyproject.toml) and its messages' prefix."""

SALE_STATUS = {  # TODO(integrator): the API's ticket states
    "completed": SaleStatus.COMPLETED,
    "cancelled": SaleStatus.CANCELLED,
    "voided": SaleStatus.VOIDED,
    "suspended": SaleStatus.SUSPENDED,
    "training": SaleStatus.TRAINING,
}


class {{Class}}Connector(Connector):
    """Reads the sales rung up at the {{name}} tills."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name=NAME,
        kind="pos",
        version="0.1.0",
        capabilities=frozenset({Capability.READ_SALES}),
        config_model={{Class}}Config,
        description=f"{NAME} REST API: sales in (GET /sales, cursor pagination).",
    )
    config: {{Class}}Config

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.session = build_session(f"brique-{NAME}/{self.info.version}")
        key = self.config.api_key.get_secret_value()
        self.session.headers["Authorization"] = f"Bearer {key}"
        rate = self.config.requests_per_second
        self.limiter = RateLimiter(rate) if rate else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.context.connection!r}, {self.config.base_url!r})"

    def close(self) -> None:
        self.session.close()

    # -- connection -----------------------------------------------------------------------

    def check(self) -> None:
        """A cheap authenticated call; a 401 becomes ``AuthError`` through ``bridge.http``."""
        self._call("GET", "/health", what=f"{NAME} check")  # TODO(integrator)

    # -- sales in -------------------------------------------------------------------------

    def streams(self) -> Sequence[str]:
        return ("sales",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """Sales page by page; each page's cursor resumes right after it."""
        if stream != "sales":
            raise DataError(f"{NAME} has no stream {stream!r}")
        while True:
            params: dict[str, Any] = {"limit": self.config.page_size}
            if cursor:
                params["cursor"] = cursor
            body = self._json("GET", "/sales", what=f"{NAME} sales", params=params)
            sales = body.get("sales")
            if not isinstance(sales, list):
                raise DataError(f"{NAME} sales: the answer has no 'sales' list")
            following = body.get("next_cursor") or None
            more = bool(body.get("has_more")) and following is not None
            if more and following == cursor:
                raise DataError(f"{NAME} sales: cursor {cursor!r} came back as the next one")
            yield Page(events=[_sale_event(sale) for sale in sales], cursor=following)
            if not more:
                return
            cursor = following

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != "sale":
            raise DataError(f"{NAME} events of kind {event.kind!r} are not handled")
        return [SaleBody(sale=to_sale(event.payload, self.config.default_currency))]

    # -- HTTP -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> requests.Response:
        """One call through ``bridge.http``: timeouts, short retries, and errors classified
        (401/403 AuthError, 429 RateLimited, 5xx and network TransientError, 404
        ConfigError, other 4xx DataError). No raw ``requests`` exception escapes."""
        if self.limiter is not None:
            self.limiter.acquire()
        return request(self.session, method, self.config.base_url + path, what=what, **kwargs)

    def _json(self, method: str, path: str, *, what: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, path, what=what, **kwargs)
        try:
            body = response.json(parse_float=Decimal)  # money stays exact
        except ValueError as exc:
            raise DataError(f"{what}: the answer is not JSON") from exc
        if not isinstance(body, dict):
            raise DataError(f"{what}: the answer is not a JSON object")
        return body


def _sale_event(sale: Any) -> InboundEvent:
    if not isinstance(sale, dict) or sale.get("id") in (None, ""):
        raise DataError(f"{NAME} sales: a sale without an id: {sale!r:.200}")
    return InboundEvent(
        key=str(sale["id"]),  # the source's own id: the inbox drops a re-read
        kind="sale",
        payload=sale,
        occurred_at=parse_time(sale.get("closed_at"), f"sale {sale['id']}"),
    )


def to_sale(payload: Mapping[str, Any], default_currency: str) -> Sale:
    """A sale of the API as a canonical ticket. TODO(integrator): the real sale shape
    (discounts, taxes, customer, links from returns to their sale), with a sample of it in
    the tests. Returned goods carry a negative quantity and amount."""
    sale_id = text(payload.get("id"), "sale id")
    where = f"sale {sale_id}"
    currency = str(payload.get("currency") or default_currency)

    def money(value: Any, what: str) -> Money | None:
        if value is None or value == "":
            return None
        return Money(amount=decimal(value, f"{where} {what}"), currency=currency)

    def line(raw: dict[str, Any], number: int) -> SaleLine:
        quantity = decimal(raw.get("quantity"), f"{where} line {number} quantity")
        return SaleLine(
            line_no=text(raw.get("line") or number, f"{where} line number"),
            sku=text(raw.get("sku"), f"{where} line {number} sku"),
            quantity=quantity,
            unit_price=money(raw.get("unit_price"), f"line {number} unit_price"),
            amount=money(raw.get("amount"), f"line {number} amount"),
            description=str(raw.get("description") or ""),
            unit=raw.get("unit") or None,
            is_return=quantity < 0,
            voided=bool(raw.get("voided")),
        )

    def tender(raw: dict[str, Any], number: int) -> Tender:
        amount = money(raw.get("amount"), f"payment {number} amount")
        if amount is None:
            raise DataError(f"{where}: payment {number} has no amount")
        kind = text(raw.get("method"), f"{where} payment {number} method")
        return Tender(kind=kind, amount=amount, refund=amount.amount < 0)

    try:
        return Sale(
            key=TicketKey(
                store=text(payload.get("store"), f"{where} store"),
                workstation=optional_text(payload.get("register")),
                business_day=parse_day(payload.get("business_day"), where),
                sequence=text(payload.get("number"), f"{where} number"),
            ),
            status=SALE_STATUS.get(str(payload.get("status")), SaleStatus.OTHER),
            occurred_at=parse_time(payload.get("closed_at"), where),
            currency=currency,
            lines=tuple(line(raw, n) for n, raw in enumerate(objects(payload, "lines", where), 1)),
            tenders=tuple(
                tender(raw, n) for n, raw in enumerate(objects(payload, "payments", where), 1)
            ),
            total=money(payload.get("total"), "total"),
        )
    except ValidationError as exc:
        raise DataError(f"{where}: {exc}") from exc
'''

TEST_CONTRACT = r'''"""The {{name}} connector against Brique's contract kit, over a fake of its API.

``FakeApi`` plays the till system through ``responses``: it answers the calls the
connector makes, and offers what the kit's suites ask of a harness (forced statuses,
network failures, seeded sales). The ``write`` and ``webhooks`` suites do not apply to a
connector that only reads sales: the kit skips them, saying so.
TODO(integrator): keep it in step with the real API as you adapt the connector.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from bridge.connector import Connector, InboundEvent
from bridge.testing import ConnectorContract

from {{package}} import {{Class}}Connector

BASE_URL = "https://tills.{{name}}.test/api"
API_KEY = "contract-api-key-0123456789"
PAGE_SIZE = 3
"""The fake's own page size: small, so the kit's reads span several pages."""
MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "{{name}}.yaml"

Reply = tuple[int, dict[str, str], str]


def sale(number: int) -> dict[str, Any]:
    """A sale as the API returns it. TODO(integrator): a real one, anonymised."""
    return {
        "id": f"S001-2-20261123-{number}",
        "store": "S001",
        "register": "2",
        "number": number,
        "business_day": "2026-11-23",
        "closed_at": "2026-11-23T10:15:00+01:00",
        "status": "completed",
        "currency": "EUR",
        "total": "9.98",
        "lines": [
            {"line": 1, "sku": "SOCKS-42", "quantity": "2", "unit_price": "4.99", "amount": "9.98"}
        ],
        "payments": [{"method": "CARD", "amount": "9.98"}],
    }


class FakeApi:
    """The {{name}} till API in memory: sales in the order they were rung up."""

    def __init__(self) -> None:
        self.sales: list[dict[str, Any]] = []
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None

    @contextmanager
    def serving(self) -> Iterator[FakeApi]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.GET, f"{BASE_URL}/health", self._guard(self.health))
            mock.add_callback(responses.GET, f"{BASE_URL}/sales", self._guard(self.list_sales))
            yield self

    def _guard(self, handler: Callable[[Any], Reply]) -> Callable[[Any], Reply]:
        def answer(request: Any) -> Reply:
            if self.error is not None:
                raise self.error
            if self.forced is not None:
                status, headers = self.forced
                return status, headers, json.dumps({"error": f"HTTP {status}"})
            if request.headers.get("Authorization") != f"Bearer {API_KEY}":
                return 401, {}, json.dumps({"error": "unauthorized"})
            return handler(request)

        return answer

    # -- the API ---------------------------------------------------------------------------

    def health(self, request: Any) -> Reply:
        return 200, {}, json.dumps({"ok": True})

    def list_sales(self, request: Any) -> Reply:
        query = parse_qs(urlsplit(request.url).query)
        start = int(query.get("cursor", ["0"])[0])
        limit = min(int(query.get("limit", [PAGE_SIZE])[0]), PAGE_SIZE)
        page = self.sales[start : start + limit]
        end = start + len(page)
        more = end < len(self.sales)
        return 200, {}, json.dumps({"sales": page, "next_cursor": str(end), "has_more": more})

    # -- what the kit asks of a harness -----------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    def seed(self, stream: str, count: int) -> None:
        assert stream == "sales", stream
        for _ in range(count):
            self.sales.append(sale(5000 + len(self.sales) + 1))


class Test{{Class}}Contract(ConnectorContract):
    connector_class = {{Class}}Connector
    config = {"base_url": BASE_URL, "api_key": API_KEY}
    mapping_file = MAPPING  # the default mapping fragment this package ships
    mapping_connection = "{{name}}"

    def remote(self) -> Any:
        return FakeApi().serving()

    def sample_events(self, connector: Connector, harness: Any) -> list[InboundEvent]:
        """Sales for the ``info`` suite to decode: a till has no webhooks, so read some."""
        harness.seed("sales", 2)
        return [event for page in connector.read("sales") for event in page.events]
'''

TEST_CONNECTOR = r'''"""Unit tests of the {{name}} connector, with ``responses``: an example.

The contract kit (``test_contract.py``) proves the rules every connector keeps; tests here
pin what is particular to the API. TODO(integrator): one test per payload shape you meet.
"""

from __future__ import annotations

from decimal import Decimal

import responses
from bridge.connector import ConnectorContext
from bridge.model import SaleBody

from {{package}} import {{Class}}Connector

BASE_URL = "https://tills.{{name}}.test/api"

RETURN = {
    "id": "S001-2-20261123-5007",
    "store": "S001",
    "register": "2",
    "number": 5007,
    "business_day": "2026-11-23",
    "closed_at": "2026-11-23T16:40:00+01:00",
    "status": "completed",
    "currency": "EUR",
    "lines": [{"line": 1, "sku": "SOCKS-42", "quantity": "-1", "amount": "-4.99"}],
    "payments": [{"method": "CASH", "amount": "-4.99"}],
}


def make_connector() -> {{Class}}Connector:
    settings = {"base_url": BASE_URL, "api_key": "unit-test-key"}
    context = ConnectorContext(connection="tills")
    connector = {{Class}}Connector.from_settings(settings, context)
    assert isinstance(connector, {{Class}}Connector)
    return connector


@responses.activate
def test_a_return_is_read_and_decoded_with_a_negative_quantity() -> None:
    responses.get(
        f"{BASE_URL}/sales",
        json={"sales": [RETURN], "next_cursor": "7", "has_more": False},
    )
    connector = make_connector()

    [page] = list(connector.read("sales", cursor="6"))
    [body] = connector.decode(page.events[0])

    assert responses.calls[0].request.params == {"cursor": "6", "limit": "100"}
    assert page.cursor == "7" and page.events[0].key == "S001-2-20261123-5007"
    assert isinstance(body, SaleBody)
    assert body.sale.key.as_string() == "S001/2/2026-11-23/5007"
    [line] = body.sale.lines
    assert line.is_return and line.quantity == Decimal("-1")
    assert body.sale.tenders[0].refund
'''

MAPPING = r"""# Default mapping fragment of the {{name}} till connector (connection "{{name}}").
# Brique reads one mapping file for all connections: copy these sections into yours, or
# start from this file, then:
#   brique mapping validate mappings/{{name}}.yaml
# Every key is documented in the JSON Schema:  brique mapping schema --output mapping.schema.json
version: 1

locations:
  - code: STORE-01                    # your code for the store (any text)
    name: First store
    timezone: Europe/Paris
    ids:                              # TODO(integrator): the "store" field of the sales
      "{{name}}": "S001"

# Till item ids -> your SKUs; ids not listed are used as SKUs unchanged.
skus:
  "{{name}}": {}

# The tills' payment methods -> Brique's tender kinds. TODO(integrator): the API's codes.
tenders:
  "{{name}}": {CASH: cash, CARD: card, VOUCHER: voucher, GIFT: gift_card}

# The tills' units -> Brique's units.
units:
  "{{name}}": {EA: each, KG: kg, L: l}

connections:
  "{{name}}":
    sale:
      inbound:                        # native sale fields rewritten before decoding
        fields:
          store: {from: store, apply: [string, strip, upper]}
"""

README = r"""# {{dist}}

The **{{name}}** point-of-sale connector for Brique: it reads the sales rung up at the
tills, page by page, with a cursor Brique keeps between polls. Generated by
`brique new-connector {{name}} --kind pos`; it works as generated against the small REST API
described at the top of `src/{{package}}/connector.py`, which the tests fake.

```
pyproject.toml                  entry point brique.connectors: {{name}}
src/{{package}}/config.py       the settings of a connection (secrets are SecretStr)
src/{{package}}/connector.py    the connector: check, read("sales"), decode -> SaleBody
mappings/{{name}}.yaml          a default mapping fragment for a connection named {{name}}
tests/test_contract.py          Brique's contract kit, over FakeApi (the API, in memory)
tests/test_connector.py         an example unit test with responses
```

## Install next to Brique

```console
pip install -e path/to/brique        # unless Brique comes from your package index
pip install -e '.[test]'
brique connectors list               # shows {{name}}, from {{dist}}
```

## Prove it with the contract kit

```console
pytest          # the kit's suites (info, check, errors, read, logs) + unit tests
pytest -rs      # lists the suites that do not apply (write, webhooks) and why
```

Installing Brique registers the kit's pytest plugin; `Test{{Class}}Contract` in
`tests/test_contract.py` is all it takes. The kit talks to `FakeApi`, never to the network.

## What to fill in

`grep -rn "TODO(integrator)" .` lists every place. In order:

1. **`connector.py`**: paths and field names of the real API; how a sale becomes a `Sale`
   (`to_sale`): ticket key, returns and their link to the original sale, discounts,
   payments. A ticket key needs the store and a number (or a transaction id).
2. **`config.py`**: the settings the API needs (auth scheme, currency).
3. **`tests/test_contract.py`**: make `FakeApi` answer like the real API (a real sale,
   anonymised, in `sale()`); the kit then checks the rest. Add unit tests for each payload
   shape (a return, a cancelled ticket, a weighed item) to `tests/test_connector.py`.
4. **`mappings/{{name}}.yaml`**: store ids, item ids -> SKUs, payment and unit codes.

The rules a connector keeps: raise only `bridge.errors` (`bridge.http.request` classifies
HTTP statuses for you), key events by the source's own id, money as `Decimal`, never float.
If the tills push documents instead of being polled, implement `parse_document` (and
`Capability.HTTP_PUSH`, `verify_webhook`) as the built-in `poslog` connector does.

## Configure a connection

In Brique's settings file:

```yaml
connections:
  {{name}}:
    connector: {{name}}
    config:
      base_url: https://tills.example.com/api
      api_key: ${{{NAME}}_API_KEY}
      default_currency: EUR
    schedules:
      poll: 10            # read new sales every ten seconds
```
"""

FILES = {
    "README.md": README,
    "src/{{package}}/config.py": CONFIG,
    "src/{{package}}/connector.py": CONNECTOR,
    "tests/test_contract.py": TEST_CONTRACT,
    "tests/test_connector.py": TEST_CONNECTOR,
    "mappings/{{name}}.yaml": MAPPING,
}

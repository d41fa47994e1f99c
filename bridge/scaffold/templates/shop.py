"""A shop connector: stock out, orders in (stream and signed webhooks), over a REST API."""

from __future__ import annotations

CONFIG = r'''"""Settings of a {{name}} connection, under ``connections.<name>.config``.

Secrets are ``SecretStr``: never printed, never logged. Write them as ``${ENV_VAR}`` in the
settings file so they stay out of it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bridge.connector import ConnectorConfig
from pydantic import Field, SecretStr, field_validator

MAX_STOCK_BATCH = 100
"""Most stock items one POST /stock/batch takes. TODO(integrator): the API's own limit."""


class {{Class}}Config(ConnectorConfig):
    base_url: str
    """Root of the shop's REST API, e.g. ``https://api.example.com/v1``."""
    api_token: SecretStr
    """Sent as ``Authorization: Bearer <token>``. TODO(integrator): the API's auth scheme."""
    webhook_secret: SecretStr | None = None
    """Shared secret of the webhook signatures; webhooks are refused without it."""
    page_size: int = Field(default=100, ge=1, le=1000)
    """Orders asked per page (the API may answer fewer)."""
    stock_batch_size: int = Field(default=MAX_STOCK_BATCH, ge=1, le=MAX_STOCK_BATCH)
    requests_per_second: float | None = Field(default=None, gt=0)
    """Pace calls to the API's published rate limit; None: no pacing."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must look like https://api.example.com/v1")
        return value

    @property
    def store(self) -> str:
        """The API's host: the ``store`` of web orders' ticket keys."""
        return urlsplit(self.base_url).netloc
'''

CONNECTOR = r'''"""The {{name}} shop connector: stock out, orders in, signed webhooks, over REST.

A working skeleton for a small, typical REST API (the one the fake API of
``tests/test_contract.py`` plays). Each ``TODO(integrator)`` marks a place to adapt to the
real API: paths, field names, headers, error shapes.

    GET  /health                 200 when the token is good, 401 when it is not
    POST /stock/batch            {"items": [...]}, Idempotency-Key header -> {"errors": [...]}
    GET  /orders?cursor=&limit=  {"orders": [...], "next_cursor": "...", "has_more": true}
    webhooks                     X-Signature-SHA256: hex HMAC-SHA256 of the raw body
"""

from __future__ import annotations

import hashlib
import hmac
import json
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
    StockWrite,
    WebhookRequest,
    WriteBatch,
    WriteResult,
)
from bridge.errors import AuthError, ConfigError, DataError
from bridge.http import RateLimiter, build_session, request
from bridge.model import Money, Sale, SaleBody, SaleLine, SaleStatus, TicketKey
from bridge.model.base import Record
from pydantic import BaseModel, ValidationError

from {{package}}.config import MAX_STOCK_BATCH, {{Class}}Config
from {{package}}.values import (
    decimal,
    objects,
    parse_time,
    text,
)

NAME = "{{name}}"
"""The connector's name (its entry point in pyproject.toml) and its messages' prefix."""

# TODO(integrator): the API's webhook headers and the topics that carry an order.
SIGNATURE_HEADER = "X-Signature-SHA256"
DELIVERY_HEADER = "X-Delivery-Id"
TOPIC_HEADER = "X-Topic"
ORDER_TOPICS = frozenset({"orders/create", "orders/paid"})

ORDER_STATUS = {  # TODO(integrator): the API's order states
    "open": SaleStatus.COMPLETED,
    "paid": SaleStatus.COMPLETED,
    "fulfilled": SaleStatus.COMPLETED,
    "cancelled": SaleStatus.CANCELLED,
    "test": SaleStatus.TRAINING,
}


class {{Class}}Connector(Connector):
    """Publishes stock to the {{name}} shop and reads its orders."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        name=NAME,
        kind="shop",
        version="0.1.0",
        capabilities=frozenset(
            {Capability.WRITE_STOCK, Capability.READ_ORDERS, Capability.WEBHOOKS}
        ),
        config_model={{Class}}Config,
        description=f"{NAME} REST API: stock out (POST /stock/batch), orders in.",
        batch_limits={"stock": MAX_STOCK_BATCH},
    )
    config: {{Class}}Config

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.session = build_session(f"brique-{NAME}/{self.info.version}")
        token = self.config.api_token.get_secret_value()
        self.session.headers["Authorization"] = f"Bearer {token}"
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

    # -- stock out ------------------------------------------------------------------------

    def write(self, sink: str, batch: WriteBatch) -> WriteResult:
        """``stock``: absolute quantities, in chunks; refused items go to ``failed``."""
        if sink != "stock":
            raise DataError(f"{NAME} has no sink {sink!r}")
        result = WriteResult()
        items = [_stock_item(raw, position) for position, raw in enumerate(batch.items)]
        size = self.config.stock_batch_size
        for start in range(0, len(items), size):
            self._write_chunk(batch, start // size, items[start : start + size], result)
        return result

    def _write_chunk(
        self,
        batch: WriteBatch,
        index: int,
        chunk: list[tuple[str, dict[str, Any]]],
        result: WriteResult,
    ) -> None:
        """POST one chunk under the batch's key and the chunk's position: a replayed batch
        sends each chunk under the key it had the first time, and the API ignores it."""
        answer = self._json(
            "POST",
            "/stock/batch",
            what=f"{NAME} stock write",
            json={"items": [payload for _, payload in chunk], "reference": batch.reference},
            headers={"Idempotency-Key": f"{batch.idempotency_key}-{index}"},
        )
        refused: set[int] = set()
        for error in answer.get("errors") or ():  # TODO(integrator): per-item error shape
            position = error.get("index") if isinstance(error, dict) else None
            if not isinstance(position, int) or not 0 <= position < len(chunk):
                raise DataError(f"{NAME} stock write: unexpected error entry {error!r}")
            key = chunk[position][0]
            refused.add(position)
            if error.get("code") == "conflict":  # compare-and-set refused: Brique recomputes
                held = error.get("available")
                result.stale[key] = None if held is None else decimal(held, f"{key} available")
            else:
                result.failed[key] = str(error.get("message") or error.get("code") or "refused")
        result.written += len(chunk) - len(refused)

    # -- orders in ------------------------------------------------------------------------

    def streams(self) -> Sequence[str]:
        return ("orders",)

    def read(self, stream: str, cursor: str | None = None) -> Iterator[Page]:
        """Orders page by page; each page's cursor resumes right after it."""
        if stream != "orders":
            raise DataError(f"{NAME} has no stream {stream!r}")
        while True:
            params: dict[str, Any] = {"limit": self.config.page_size}
            if cursor:
                params["cursor"] = cursor
            body = self._json("GET", "/orders", what=f"{NAME} orders", params=params)
            orders = body.get("orders")
            if not isinstance(orders, list):
                raise DataError(f"{NAME} orders: the answer has no 'orders' list")
            following = body.get("next_cursor") or None
            more = bool(body.get("has_more")) and following is not None
            if more and following == cursor:
                raise DataError(f"{NAME} orders: cursor {cursor!r} came back as the next one")
            yield Page(events=[_order_event(order) for order in orders], cursor=following)
            if not more:
                return
            cursor = following

    def decode(self, event: InboundEvent) -> list[Record]:
        if event.kind != "order":
            raise DataError(f"{NAME} events of kind {event.kind!r} are not handled")
        return [SaleBody(sale=order_to_sale(event.payload, self.config.store))]

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, request: WebhookRequest) -> None:
        """The signature must be the hex HMAC-SHA256 of the raw body (compared in constant
        time). TODO(integrator): the API's signature scheme."""
        if self.config.webhook_secret is None:
            raise ConfigError(f"{NAME} webhook_secret is not configured")
        signature = (request.header(SIGNATURE_HEADER) or "").strip().removeprefix("sha256=")
        if not signature:
            raise AuthError(f"{NAME} webhook without {SIGNATURE_HEADER}")
        secret = self.config.webhook_secret.get_secret_value().encode()
        expected = hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise AuthError(f"{NAME} webhook signature does not match")

    def parse_webhook(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event keyed by the delivery id: a redelivery is dropped by the inbox."""
        key = (request.header(DELIVERY_HEADER) or "").strip()
        if not key:
            raise DataError(f"{NAME} webhook without {DELIVERY_HEADER}")
        topic = (request.header(TOPIC_HEADER) or "").strip()
        try:
            payload = json.loads(request.body, parse_float=Decimal)
        except ValueError as exc:
            raise DataError(f"{NAME} webhook {key}: body is not JSON") from exc
        if not isinstance(payload, dict):
            raise DataError(f"{NAME} webhook {key}: body is not a JSON object")
        kind = "order" if topic in ORDER_TOPICS else topic or "unknown"
        occurred = parse_time(payload.get("created_at"), f"webhook {key}")
        return [InboundEvent(key=key, kind=kind, payload=payload, occurred_at=occurred)]

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


def _stock_item(raw: Record, position: int) -> tuple[str, dict[str, Any]]:
    """(item key, native payload) of one stock write. The mapping's outbound stock rules
    (``StockWrite.fields``) add native fields or replace these."""
    try:
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        item = raw if isinstance(raw, StockWrite) else StockWrite.model_validate(data)
    except ValidationError as exc:
        raise DataError(f"stock batch item {position} is not a stock write: {exc}") from exc
    payload: dict[str, Any] = {  # TODO(integrator): the API's field names
        "sku": item.sku,
        "location_id": item.location,
        "available": format(item.quantity, "f"),
    }
    if item.previous is not None:  # compare-and-set: the API refuses if it holds another
        payload["expected"] = format(item.previous, "f")
    return f"{item.sku}@{item.location}", {**payload, **item.fields}


def _order_event(order: Any) -> InboundEvent:
    if not isinstance(order, dict) or order.get("id") in (None, ""):
        raise DataError(f"{NAME} orders: an order without an id: {order!r:.200}")
    return InboundEvent(
        key=f"orders/{order['id']}",  # the source's own id: the inbox drops a re-read
        kind="order",
        payload=order,
        occurred_at=parse_time(order.get("created_at"), f"order {order['id']}"),
    )


def order_to_sale(payload: Mapping[str, Any], store: str) -> Sale:
    """An order of the API as a canonical web sale. TODO(integrator): the real order shape
    (discounts, shipping, taxes, customer) and a sample of it in the tests."""
    order_id = text(payload.get("id"), "order id")
    where = f"order {order_id}"
    currency = text(payload.get("currency"), f"{where} currency")

    def money(value: Any, what: str) -> Money | None:
        if value is None or value == "":
            return None
        return Money(amount=decimal(value, f"{where} {what}"), currency=currency)

    try:
        lines = tuple(
            SaleLine(
                line_no=text(line.get("id") or number, f"{where} line id"),
                sku=text(line.get("sku"), f"{where} line {number} sku"),
                quantity=decimal(line.get("quantity"), f"{where} line {number} quantity"),
                unit_price=money(line.get("price"), f"line {number} price"),
                discount=money(line.get("discount"), f"line {number} discount"),
                description=str(line.get("title") or ""),
            )
            for number, line in enumerate(objects(payload, "lines", where), start=1)
        )
        return Sale(
            key=TicketKey(store=store, transaction_id=order_id),
            status=ORDER_STATUS.get(str(payload.get("status")), SaleStatus.OTHER),
            occurred_at=parse_time(payload.get("created_at"), where),
            currency=currency,
            lines=lines,
            total=money(payload.get("total"), "total"),
            channel="web",
        )
    except ValidationError as exc:
        raise DataError(f"{where}: {exc}") from exc
'''

TEST_CONTRACT = r'''"""The {{name}} connector against Brique's contract kit, over a fake of its API.

``FakeApi`` plays the remote through ``responses``: it answers the calls the connector
makes, and offers what the kit's suites ask of a harness (forced statuses, network
failures, webhook signing, idempotent writes, seeded orders).
TODO(integrator): keep it in step with the real API as you adapt the connector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from bridge.testing import ConnectorContract

from {{package}} import {{Class}}Connector

BASE_URL = "https://api.{{name}}.test/v1"
TOKEN = "contract-api-token-0123456789"
WEBHOOK_SECRET = "contract-webhook-secret-0123456789"
PAGE_SIZE = 3
"""The fake's own page size: small, so the kit's reads span several pages."""
MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "{{name}}.yaml"

Reply = tuple[int, dict[str, str], str]


def order(number: int) -> dict[str, Any]:
    """An order as the API returns it. TODO(integrator): a real one, anonymised."""
    return {
        "id": str(100_000 + number),
        "created_at": "2026-11-23T10:15:00+01:00",
        "status": "paid",
        "currency": "EUR",
        "total": "29.90",
        "lines": [
            {"id": "1", "sku": "TSHIRT-RED-M", "quantity": 1, "price": "29.90", "title": "Tee"}
        ],
    }


class FakeApi:
    """The {{name}} API in memory: stock, orders, idempotent writes."""

    def __init__(self) -> None:
        self.stock: dict[tuple[str, str], str] = {}
        self.orders: list[dict[str, Any]] = []
        self.replies: dict[str, Reply] = {}
        self.sizes: list[int] = []
        self.applied = 0
        self.forced: tuple[int, dict[str, str]] | None = None
        self.error: BaseException | None = None

    @contextmanager
    def serving(self) -> Iterator[FakeApi]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add_callback(responses.GET, f"{BASE_URL}/health", self._guard(self.health))
            mock.add_callback(responses.POST, f"{BASE_URL}/stock/batch", self._guard(self.batch))
            mock.add_callback(responses.GET, f"{BASE_URL}/orders", self._guard(self.list_orders))
            yield self

    def _guard(self, handler: Callable[[Any], Reply]) -> Callable[[Any], Reply]:
        def answer(request: Any) -> Reply:
            if self.error is not None:
                raise self.error
            if self.forced is not None:
                status, headers = self.forced
                return status, headers, json.dumps({"error": f"HTTP {status}"})
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return 401, {}, json.dumps({"error": "unauthorized"})
            return handler(request)

        return answer

    # -- the API ---------------------------------------------------------------------------

    def health(self, request: Any) -> Reply:
        return 200, {}, json.dumps({"ok": True})

    def batch(self, request: Any) -> Reply:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return 400, {}, json.dumps({"error": "Idempotency-Key is required"})
        if key in self.replies:  # a replay: the first answer again, nothing applied
            return self.replies[key]
        items = json.loads(request.body)["items"]
        self.sizes.append(len(items))
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            place = (item["sku"], item["location_id"])
            if item["sku"].startswith("UNKNOWN"):
                errors.append({"index": index, "code": "unknown_sku", "message": "unknown SKU"})
            elif "expected" in item and self.stock.get(place) != item["expected"]:
                errors.append({"index": index, "code": "conflict", "available": None})
            else:
                self.stock[place] = str(item["available"])
                self.applied += 1
        self.replies[key] = (200, {}, json.dumps({"errors": errors}))
        return self.replies[key]

    def list_orders(self, request: Any) -> Reply:
        query = parse_qs(urlsplit(request.url).query)
        start = int(query.get("cursor", ["0"])[0])
        limit = min(int(query.get("limit", [PAGE_SIZE])[0]), PAGE_SIZE)
        page = self.orders[start : start + limit]
        end = start + len(page)
        more = end < len(self.orders)
        return 200, {}, json.dumps({"orders": page, "next_cursor": str(end), "has_more": more})

    # -- what the kit asks of a harness -----------------------------------------------------

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.forced = (status, dict(headers or {}))

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    def applied_changes(self) -> int:
        return self.applied

    def write_call_sizes(self) -> list[int]:
        return list(self.sizes)

    def seed(self, stream: str, count: int) -> None:
        assert stream == "orders", stream
        for _ in range(count):
            self.orders.append(order(len(self.orders) + 1))

    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(order(zlib.crc32(delivery_id.encode()) % 100_000)).encode()
        return body, {"X-Delivery-Id": delivery_id, "X-Topic": "orders/create"}

    def sign(self, body: bytes) -> dict[str, str]:
        digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Signature-SHA256": digest}


class Test{{Class}}Contract(ConnectorContract):
    connector_class = {{Class}}Connector
    config = {"base_url": BASE_URL, "api_token": TOKEN, "webhook_secret": WEBHOOK_SECRET}
    mapping_file = MAPPING  # the default mapping fragment this package ships
    mapping_connection = "{{name}}"

    def remote(self) -> Any:
        return FakeApi().serving()
'''

TEST_CONNECTOR = r'''"""Unit tests of the {{name}} connector, with ``responses``: an example.

The contract kit (``test_contract.py``) proves the rules every connector keeps; tests here
pin what is particular to the API. TODO(integrator): one test per payload shape you meet.
"""

from __future__ import annotations

import json
from decimal import Decimal

import responses
from bridge.connector import ConnectorContext, StockWrite, WriteBatch

from {{package}} import {{Class}}Connector

BASE_URL = "https://api.{{name}}.test/v1"


def make_connector() -> {{Class}}Connector:
    settings = {"base_url": BASE_URL, "api_token": "unit-test-token"}
    context = ConnectorContext(connection="webshop")
    connector = {{Class}}Connector.from_settings(settings, context)
    assert isinstance(connector, {{Class}}Connector)
    return connector


@responses.activate
def test_refused_items_are_reported_and_the_others_written() -> None:
    responses.post(
        f"{BASE_URL}/stock/batch",
        json={"errors": [{"index": 1, "code": "unknown_sku", "message": "unknown SKU"}]},
    )
    items = [
        StockWrite(sku="TSHIRT-RED-M", location="loc-1", quantity=Decimal("3")),
        StockWrite(sku="NOPE", location="loc-1", quantity=Decimal("2")),
    ]
    result = make_connector().write("stock", WriteBatch("push-1", items))

    assert result.written == 1
    assert result.failed == {"NOPE@loc-1": "unknown SKU"}
    sent = responses.calls[0].request
    assert sent.headers["Idempotency-Key"] == "push-1-0"
    assert sent.headers["Authorization"] == "Bearer unit-test-token"
    first = json.loads(sent.body)["items"][0]
    assert first == {"sku": "TSHIRT-RED-M", "location_id": "loc-1", "available": "3"}
'''

MAPPING = r"""# Default mapping fragment of the {{name}} shop connector (connection "{{name}}").
# Brique reads one mapping file for all connections: copy these sections into yours, or
# start from this file, then:
#   brique mapping validate mappings/{{name}}.yaml
# Every key is documented in the JSON Schema:  brique mapping schema --output mapping.schema.json
version: 1

locations:
  - code: STORE-01                    # your code for the store (any text)
    name: First store
    ids:                              # TODO(integrator): the shop's location id
      "{{name}}": "loc-1"
    safety_buffer: "0"                # units kept back from the web shop

stock:
  default: {minimum: "0"}             # publish 0 below this many sellable units

connections:
  "{{name}}":
    stock:
      outbound:                       # native fields of each item of POST /stock/batch
        fields:
          available: {from: quantity, apply: [integer]}   # TODO(integrator): whole units?
"""

README = r"""# {{dist}}

The **{{name}}** shop connector for Brique: it publishes
stock to the shop, and reads its orders (a polled stream and signed webhooks). Generated by
`brique new-connector {{name}} --kind shop`; it works as generated against the small REST API
described at the top of `src/{{package}}/connector.py`, which the tests fake.

```
pyproject.toml                  entry point brique.connectors: {{name}}
src/{{package}}/config.py       the settings of a connection (secrets are SecretStr)
src/{{package}}/connector.py    the connector: check, write("stock"), read("orders"), webhooks
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
pytest          # the kit's suites (info, check, errors, write, webhooks, read, logs) + unit tests
pytest -rs      # also lists any suite that does not apply, and why
```

Installing Brique registers the kit's pytest plugin; `Test{{Class}}Contract` in
`tests/test_contract.py` is all it takes. The kit talks to `FakeApi`, never to the network.

## What to fill in

`grep -rn "TODO(integrator)" .` lists every place. In order:

1. **`connector.py`**: paths, field names, headers and error shapes of the real API; the
   webhook signature scheme and topics; how an order becomes a `Sale` (`order_to_sale`).
2. **`config.py`**: the settings the API needs (auth scheme, the API's batch limit).
3. **`tests/test_contract.py`**: make `FakeApi` answer like the real API (a real order,
   anonymised, in `order()`); the kit then checks the rest. Add unit tests for each payload
   shape to `tests/test_connector.py`.
4. **`mappings/{{name}}.yaml`**: the shop's location ids and stock field rules.

The rules a connector keeps: raise only `bridge.errors` (`bridge.http.request` classifies
HTTP statuses for you), key events by the source's own id, report refused items in
`WriteResult.failed`, verify webhook signatures over the raw bytes.

## Configure a connection

In Brique's settings file:

```yaml
connections:
  {{name}}:
    connector: {{name}}
    config:
      base_url: https://api.example.com/v1
      api_token: ${{{NAME}}_API_TOKEN}
      webhook_secret: ${{{NAME}}_WEBHOOK_SECRET}
    schedules:
      poll: 60            # read new orders every minute
```

Point the shop's webhooks (topic `orders/create`) at `https://your-host/webhooks/{{name}}`.
"""

FILES = {
    "README.md": README,
    "src/{{package}}/config.py": CONFIG,
    "src/{{package}}/connector.py": CONNECTOR,
    "tests/test_contract.py": TEST_CONTRACT,
    "tests/test_connector.py": TEST_CONNECTOR,
    "mappings/{{name}}.yaml": MAPPING,
}

"""Shopify's ``metafieldsSet`` and Odoo's ``loyalty.card`` behind ``responses``.

Both answer as their documented APIs do:

* Shopify Admin GraphQL ``metafieldsSet(metafields: [MetafieldsSetInput!]!)``: at most 25
  inputs, atomic (one ``userErrors`` entry with its ``elementIndex`` and nothing stored),
  ``{"data": {"metafieldsSet": {"metafields": [...], "userErrors": []}}, "extensions":
  {"cost": {...throttleStatus...}}}``;
* Odoo JSON-RPC ``POST /jsonrpc``: ``common.authenticate`` then ``object.execute_kw`` on
  ``loyalty.card`` (``search_read`` with a domain, ``write(ids, vals)`` -> ``true``,
  ``create([vals, ...])`` -> ids), many2one read as ``[id, "name"]``, ``points`` a JSON
  float, refusals as JSON-RPC ``error`` objects with HTTP 200.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import responses
from pydantic import SecretStr

from connectors.shopify.connector import ShopifyConfig

SHOP_URL = "https://brique-loyalty.myshopify.com"
SHOP_TOKEN = "shpat_loyalty_test"
ODOO_URL = "https://odoo.loyalty.test"
ODOO_UID = 2
PROGRAM = 3


def graphql_url() -> str:
    return ShopifyConfig(shop_url=SHOP_URL, access_token=SecretStr(SHOP_TOKEN)).graphql_url


class FakeShopify:
    """Customer metafields by owner GID; ``refuse`` holds owner GIDs Shopify turns down."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.calls: list[list[dict[str, Any]]] = []
        self.refuse: set[str] = set()

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        assert "metafieldsSet" in body["query"], body["query"]
        inputs = body["variables"]["metafields"]
        assert 1 <= len(inputs) <= 25
        self.calls.append(inputs)
        errors = [
            {
                "field": ["metafields", str(i), "ownerId"],
                "message": "Owner does not exist.",
                "code": "INVALID_VALUE",
                "elementIndex": i,
            }
            for i, item in enumerate(inputs)
            if item["ownerId"] in self.refuse
        ]
        if not errors:  # atomic: all or nothing
            for item in inputs:
                assert (item["namespace"], item["key"], item["type"]) == (
                    "brique",
                    "loyalty_points",
                    "number_decimal",
                )
                self.values[item["ownerId"]] = item["value"]
        answer = {
            "data": {
                "metafieldsSet": {
                    "metafields": []
                    if errors
                    else [
                        {"key": i["key"], "namespace": i["namespace"], "value": i["value"]}
                        for i in inputs
                    ],
                    "userErrors": errors,
                }
            },
            "extensions": {
                "cost": {
                    "requestedQueryCost": 10 + len(inputs),
                    "actualQueryCost": 10 + len(inputs),
                    "throttleStatus": {
                        "maximumAvailable": 2000.0,
                        "currentlyAvailable": 1990.0,
                        "restoreRate": 100.0,
                    },
                }
            },
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def writes(self) -> int:
        return sum(len(call) for call in self.calls)


class FakeOdoo:
    """``loyalty.card`` records; ``refuse`` holds partner ids whose card writes fail."""

    def __init__(self) -> None:
        self.cards: dict[int, dict[str, Any]] = {}
        self.calls: list[tuple[str, list[Any]]] = []
        self.refuse: set[int] = set()
        self._next = 100

    def card(self, partner: int, points: float, program: int = PROGRAM) -> int:
        self._next += 1
        self.cards[self._next] = {"program_id": program, "partner_id": partner, "points": points}
        return self._next

    def points_of(self, partner: int) -> float | None:
        found = [c["points"] for c in self.cards.values() if c["partner_id"] == partner]
        return found[0] if found else None

    def writes(self) -> list[tuple[str, list[Any]]]:
        return [c for c in self.calls if c[0] in ("write", "create")]

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        params = body["params"]
        if params["service"] == "common":
            result: Any = ODOO_UID
        else:
            _db, uid, _key, model, method, args, kwargs = params["args"]
            assert uid == ODOO_UID and model == "loyalty.card", (uid, model)
            self.calls.append((method, args))
            try:
                result = getattr(self, f"_{method}")(args, kwargs)
            except PermissionError as exc:
                error = {
                    "code": 200,
                    "message": "Odoo Server Error",
                    "data": {
                        "name": "odoo.exceptions.ValidationError",
                        "message": str(exc),
                        "arguments": [str(exc)],
                        "debug": "Traceback ...",
                    },
                }
                answer = {"jsonrpc": "2.0", "id": body["id"], "error": error}
                return 200, {"Content-Type": "application/json"}, json.dumps(answer)
        answer = {"jsonrpc": "2.0", "id": body["id"], "result": result}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def _match(self, card: dict[str, Any], domain: list[Any]) -> bool:
        for field, op, value in domain:
            held = card[field]
            if (op == "=" and held != value) or (op == "in" and held not in value):
                return False
        return True

    def _search_read(self, args: list[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        (domain,) = args
        rows = []
        for card_id in sorted(self.cards):
            card = self.cards[card_id]
            if self._match(card, domain):
                row = {"id": card_id}
                for field in kwargs["fields"]:
                    value = card[field]
                    if field in ("partner_id", "program_id"):
                        value = [value, f"record {value}"]
                    row[field] = value
                rows.append(row)
        return rows

    def _write(self, args: list[Any], kwargs: dict[str, Any]) -> bool:
        ids, values = args
        for card_id in ids:
            if self.cards[card_id]["partner_id"] in self.refuse:
                raise PermissionError(f"card {card_id} is locked")
        for card_id in ids:
            self.cards[card_id].update({"points": float(values["points"])})
        return True

    def _create(self, args: list[Any], kwargs: dict[str, Any]) -> list[int]:
        (values,) = args
        if any(v["partner_id"] in self.refuse for v in values):
            raise PermissionError("partner refused")
        return [self.card(v["partner_id"], float(v["points"]), v["program_id"]) for v in values]


@contextmanager
def remotes() -> Iterator[tuple[FakeShopify, FakeOdoo]]:
    shop, odoo = FakeShopify(), FakeOdoo()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, graphql_url(), callback=shop)
        mock.add_callback(responses.POST, f"{ODOO_URL}/jsonrpc", callback=odoo)
        yield shop, odoo


def odoo_config(**overrides: Any) -> dict[str, Any]:
    return {
        "url": ODOO_URL,
        "database": "loyalty",
        "username": "brique",
        "api_key": "odoo-api-key-for-tests",
        "loyalty_program_id": PROGRAM,
        **overrides,
    }


def shop_config() -> dict[str, Any]:
    return {"shop_url": SHOP_URL, "access_token": SHOP_TOKEN}

"""The sandbox's Storefront API: carts, enough to try a basket handoff locally.

``POST /api/{version}/graphql.json`` with ``X-Shopify-Storefront-Access-Token`` serves an SDL
subset of Shopify's Storefront cart API: ``cartCreate``, ``cart(id:)`` and
``cartAttributesUpdate``, with Shopify's rules that matter to a caller:

* a cart id is ``gid://shopify/Cart/<token>?key=<key>``; a query without the right key gets
  the cart without the buyer's details, a mutation gets "The specified cart does not exist"
  (developer changelog, "Storefront API changes when Cart ID is missing the key param");
* ``merchandiseId`` must be a known variant (``MERCHANDISE_NOT_APPLICABLE`` from 2025-10,
  ``INVALID`` before), quantities at least 1, at most 250 attributes, a buyer phone in E.164;
* ``cartAttributesUpdate`` replaces the whole attribute set;
* ``checkoutUrl`` points at ``/cart/c/<token>?key=<key>`` on the sandbox, a page showing the
  cart (there is no checkout behind it).

Simplifications: carts never expire; prices are the variants' in the shop's currency,
whatever the buyer's country; Storefront requests are not costed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, build_schema

from connectors.shopify.sandbox.state import SandboxState, _now, _version_at_least

MAX_ATTRIBUTES = 250
NOTE_LIMIT = 5000
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CART_PREFIX = "gid://shopify/Cart/"
MISSING_CART = "The specified cart does not exist."

STOREFRONT_SDL = """
scalar DateTime
scalar Decimal
scalar URL
"An ISO 3166-1 alpha-2 country code (an enum in Shopify's schema)."
scalar CountryCode
scalar CurrencyCode

type Query {
  cart(id: ID!): Cart
}

type Mutation {
  cartCreate(input: CartInput): CartCreatePayload
  cartAttributesUpdate(cartId: ID!, attributes: [AttributeInput!]!): CartAttributesUpdatePayload
}

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type Attribute { key: String! value: String }
type CartBuyerIdentity { email: String phone: String countryCode: CountryCode }
type ProductVariant { id: ID! sku: String title: String! price: MoneyV2! }
union Merchandise = ProductVariant
type CartLineCost { amountPerQuantity: MoneyV2! totalAmount: MoneyV2! }
type CartLine {
  id: ID!
  quantity: Int!
  merchandise: Merchandise!
  attributes: [Attribute!]!
  cost: CartLineCost!
}
type BaseCartLineConnection { nodes: [CartLine!]! pageInfo: PageInfo! }
type CartCost { subtotalAmount: MoneyV2! totalAmount: MoneyV2! }

type Cart {
  id: ID!
  checkoutUrl: URL!
  createdAt: DateTime!
  updatedAt: DateTime!
  note: String
  totalQuantity: Int!
  attributes: [Attribute!]!
  attribute(key: String!): Attribute
  buyerIdentity: CartBuyerIdentity!
  cost: CartCost!
  lines(first: Int, after: String): BaseCartLineConnection!
}

input AttributeInput { key: String! value: String! }
input CartLineInput { merchandiseId: ID! quantity: Int = 1 attributes: [AttributeInput!] }
input CartBuyerIdentityInput {
  email: String
  phone: String
  countryCode: CountryCode
  customerAccessToken: String
}
input CartInput {
  lines: [CartLineInput!]
  attributes: [AttributeInput!]
  note: String
  buyerIdentity: CartBuyerIdentityInput
  discountCodes: [String!]
}

enum CartErrorCode {
  INVALID
  LESS_THAN
  INVALID_MERCHANDISE_LINE
  MERCHANDISE_NOT_APPLICABLE
  NOTE_TOO_LONG
  MAXIMUM_EXCEEDED
}
type CartUserError { code: CartErrorCode field: [String!] message: String! }
type CartWarning { code: String! message: String! target: ID! }
type CartCreatePayload { cart: Cart userErrors: [CartUserError!]! warnings: [CartWarning!]! }
type CartAttributesUpdatePayload {
  cart: Cart
  userErrors: [CartUserError!]!
  warnings: [CartWarning!]!
}
"""

STOREFRONT_SCHEMA: GraphQLSchema = build_schema(STOREFRONT_SDL)


class CartBook:
    """The sandbox's carts, guarded by the shop state's lock."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.carts: dict[str, dict[str, Any]] = {}
        """token -> cart (key, lines, attributes, note, buyer, times)."""
        self.base_url = "http://127.0.0.1"
        """Where checkout links point: the sandbox's own address, set from each request."""
        self.stats = {"requests": 0, "unauthorized": 0, "carts_created": 0, "cart_updates": 0}

    def create(self, data: Mapping[str, Any], version: str) -> dict[str, Any]:
        """Validate everything, then create the cart; nothing is created on a userError."""
        errors: list[dict[str, Any]] = []

        def refuse(code: str, path: list[str], message: str) -> None:
            errors.append({"code": code, "field": path, "message": message})

        lines: list[dict[str, Any]] = []
        for n, line in enumerate(data.get("lines") or ()):
            path = ["input", "lines", str(n)]
            variant = self.state.variant_ids.get(line["merchandiseId"])
            if variant is None:
                code = (
                    "MERCHANDISE_NOT_APPLICABLE"
                    if _version_at_least(version, "2025-10")
                    else "INVALID"
                )
                refuse(
                    code,
                    [*path, "merchandiseId"],
                    f"The merchandise with id {line['merchandiseId']} does not exist.",
                )
                continue
            quantity = line.get("quantity", 1)
            if quantity is None or quantity < 1:
                refuse("INVALID", [*path, "quantity"], "The quantity must be at least 1.")
                continue
            lines.append({"variant": variant["id"], "quantity": int(quantity)})
        attributes = _attribute_map(data.get("attributes") or ())
        if len(attributes) > MAX_ATTRIBUTES:
            refuse(
                "INVALID",
                ["input", "attributes"],
                f"The input must not contain more than {MAX_ATTRIBUTES} values.",
            )
        note = data.get("note")
        if note is not None and len(note) > NOTE_LIMIT:
            refuse("NOTE_TOO_LONG", ["input", "note"], "The note is too long.")
        buyer = dict(data.get("buyerIdentity") or {})
        phone = buyer.get("phone")
        if phone is not None and not E164.match(phone):
            refuse("INVALID", ["input", "buyerIdentity", "phone"], "Phone is invalid.")
        country = buyer.get("countryCode")
        if country is not None and not COUNTRY.match(str(country)):
            raise GraphQLError(f"Variable $input got invalid value {country!r} for countryCode")
        if errors:
            return {"cart": None, "userErrors": errors, "warnings": []}
        token = f"c1-{secrets.token_hex(16)}"
        now = _now()
        self.carts[token] = {
            "token": token,
            "key": secrets.token_hex(12),
            "lines": lines,
            "attributes": attributes,
            "note": note,
            "buyer": {k: buyer.get(k) for k in ("email", "phone", "countryCode")},
            "created_at": now,
            "updated_at": now,
        }
        self.stats["carts_created"] += 1
        return {"cart": self.cart_obj(token, private=True), "userErrors": [], "warnings": []}

    def find(self, cart_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The cart an id names and whether the id carries its key."""
        if not cart_id.startswith(CART_PREFIX):
            raise GraphQLError(f"Invalid global id '{cart_id}'")
        token, _, query = cart_id[len(CART_PREFIX) :].partition("?")
        cart = self.carts.get(token)
        if cart is None:
            return None, False
        key = dict(part.partition("=")[::2] for part in query.split("&") if part).get("key")
        return cart, key is not None and secrets.compare_digest(key, cart["key"])

    def update_attributes(
        self, cart_id: str, attributes: list[Mapping[str, Any]]
    ) -> dict[str, Any]:
        cart, keyed = self.find(cart_id)
        if cart is None or not keyed:
            error = {"code": "INVALID", "field": ["cartId"], "message": MISSING_CART}
            return {"cart": None, "userErrors": [error], "warnings": []}
        replacement = _attribute_map(attributes)
        if len(replacement) > MAX_ATTRIBUTES:
            error = {
                "code": "INVALID",
                "field": ["attributes"],
                "message": f"The input must not contain more than {MAX_ATTRIBUTES} values.",
            }
            return {"cart": None, "userErrors": [error], "warnings": []}
        cart["attributes"] = replacement  # the whole set, as Shopify does
        cart["updated_at"] = _now()
        self.stats["cart_updates"] += 1
        return {
            "cart": self.cart_obj(cart["token"], private=True),
            "userErrors": [],
            "warnings": [],
        }

    # GraphQL objects and helper views ------------------------------------------------------

    def cart_obj(self, token: str, *, private: bool) -> dict[str, Any]:
        cart = self.carts[token]
        currency = self.state.currency
        lines = [self._line_obj(token, n, line, currency) for n, line in enumerate(cart["lines"])]
        total = sum((Decimal(line["cost"]["totalAmount"]["amount"]) for line in lines), Decimal(0))
        amount = {"amount": str(total), "currencyCode": currency}
        buyer = cart["buyer"] if private else {"countryCode": cart["buyer"].get("countryCode")}
        attributes = [{"key": k, "value": v} for k, v in cart["attributes"].items()]

        def attribute(_info: GraphQLResolveInfo, key: str) -> dict[str, Any] | None:
            value = cart["attributes"].get(key)
            return None if value is None else {"key": key, "value": value}

        def line_page(
            _info: GraphQLResolveInfo, first: int | None = None, after: str | None = None
        ) -> dict[str, Any]:
            start = int(after) + 1 if after and after.isdigit() else 0
            page = lines[start : start + (first if first is not None else len(lines))]
            end = start + len(page) - 1
            return {
                "nodes": page,
                "pageInfo": {
                    "hasNextPage": end + 1 < len(lines),
                    "hasPreviousPage": start > 0,
                    "startCursor": str(start) if page else None,
                    "endCursor": str(end) if page else None,
                },
            }

        return {
            "id": f"{CART_PREFIX}{token}?key={cart['key']}",
            "checkoutUrl": f"{self.base_url}/cart/c/{token}?key={cart['key']}",
            "createdAt": cart["created_at"],
            "updatedAt": cart["updated_at"],
            "note": cart["note"],
            "totalQuantity": sum(line["quantity"] for line in cart["lines"]),
            "attributes": attributes,
            "attribute": attribute,
            "buyerIdentity": buyer,
            "cost": {"subtotalAmount": amount, "totalAmount": amount},
            "lines": line_page,
        }

    def _line_obj(
        self, token: str, n: int, line: Mapping[str, Any], currency: str
    ) -> dict[str, Any]:
        variant = self.state.variant_ids[line["variant"]]
        price = Decimal(variant["price"])
        return {
            "__typename": "CartLine",
            "id": f"gid://shopify/CartLine/{token}-{n}",
            "quantity": line["quantity"],
            "merchandise": {
                "__typename": "ProductVariant",
                "id": variant["id"],
                "sku": variant["sku"],
                "title": variant["title"],
                "price": {"amount": variant["price"], "currencyCode": currency},
            },
            "attributes": [],
            "cost": {
                "amountPerQuantity": {"amount": variant["price"], "currencyCode": currency},
                "totalAmount": {"amount": str(price * line["quantity"]), "currencyCode": currency},
            },
        }

    def rows(self) -> list[dict[str, Any]]:
        """Carts for people and tests: token, handoff code, status, lines by SKU, link."""
        with self.state.lock:
            return [
                {
                    "token": token,
                    "code": cart["attributes"].get("brique_code"),
                    "status": cart["attributes"].get("brique_status", "open"),
                    "attributes": dict(cart["attributes"]),
                    "note": cart["note"],
                    "buyer": dict(cart["buyer"]),
                    "lines": [
                        {
                            "sku": self.state.variant_ids[line["variant"]]["sku"],
                            "quantity": line["quantity"],
                        }
                        for line in cart["lines"]
                    ],
                    "checkout_url": f"{self.base_url}/cart/c/{token}?key={cart['key']}",
                    "updated_at": cart["updated_at"],
                }
                for token, cart in self.carts.items()
            ]


class StorefrontRoot:
    """Root resolvers of the Storefront schema."""

    def __init__(self, book: CartBook, version: str) -> None:
        self.book = book
        self.version = version

    def cart(self, _info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        with self.book.state.lock:
            cart, keyed = self.book.find(id)
            return None if cart is None else self.book.cart_obj(cart["token"], private=keyed)

    def cartCreate(
        self, _info: GraphQLResolveInfo, input: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.book.state.lock:
            return self.book.create(input or {}, self.version)

    def cartAttributesUpdate(
        self, _info: GraphQLResolveInfo, cartId: str, attributes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        with self.book.state.lock:
            return self.book.update_attributes(cartId, attributes)


def _attribute_map(attributes: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in attributes:
        found[str(entry["key"])] = str(entry["value"])
    return found

"""A LOCAL SHOPIFY-COMPATIBLE TEST DOUBLE of the Admin GraphQL API. It is not Shopify.

It lets a newcomer, a demo or a test run the real Shopify connector over real HTTP without a
shop: ``POST /admin/api/{version}/graphql.json`` is served by ``graphql-core`` (real parsing and
validation against an SDL subset of the Admin schema), with the Shopify behaviours the
connector must survive:

* the access-token check (401 with Shopify's JSON body);
* the calculated-cost leaky bucket: every answer carries ``extensions.cost`` and a query the
  bucket cannot pay for gets ``THROTTLED`` (HTTP 200), as Shopify documents;
* ``inventorySetQuantities`` with compare-and-swap (``changeFromQuantity``, or the older
  ``compareQuantity``/``ignoreCompareQuantity``), userErrors with codes and field paths, the
  ``@idempotent(key:)`` directive and all-or-nothing application;
* ``productVariants(query: "sku:'A' OR sku:'B'")`` with cursor pagination;
* ``productVariantsBulkUpdate`` (one product per call, prices and compare-at prices, userErrors
  naming the variant's index, all-or-nothing unless ``allowPartialUpdates``), costed like
  Shopify's dynamic complexity: 10 points plus 0.2 per variant.

It also serves a slice of the Storefront API, ``POST /api/{version}/graphql.json`` with
``X-Shopify-Storefront-Access-Token``: ``cartCreate``, ``cart(id:)`` and
``cartAttributesUpdate`` with Shopify's cart id key, userErrors and checkout links, so a basket
handoff can be tried locally (``GET /sandbox/carts``; ``/cart/c/<token>`` shows a cart).

Simplifications, on purpose: only the fields below exist; every variant is stocked at every
location; the actual cost equals the requested cost; ``on_hand`` moves with ``available``;
prices keep two decimals whatever the currency.
Helpers for people and tests: ``GET /`` (a self-refreshing stock and price page),
``GET /sandbox/levels``, ``POST /sandbox/levels`` (change a level behind the connector's back),
``GET /sandbox/prices``, ``GET /sandbox/stats``, ``GET /sandbox/carts``.
"""

# The docstring above is also the app's OpenAPI description. The SDL it calls "below" is in
# ``schema``; the cost model in ``cost``; the shop and the mutation's rules in
# ``state``; root resolvers in ``resolvers``; HTTP in ``app``; running it in ``server``.
from connectors.shopify.sandbox.app import (
    DEFAULT_STOREFRONT_TOKEN,
    TITLE,
    UNAUTHORIZED,
    VERSION_PATTERN,
    create_app,
)
from connectors.shopify.sandbox.cost import (
    MUTATION_COST,
    SINGLE_QUERY_MAX_COST,
    SIZED_MUTATIONS,
    LeakyBucket,
    request_cost,
)
from connectors.shopify.sandbox.resolvers import MAX_PAGE
from connectors.shopify.sandbox.schema import SCHEMA, SDL
from connectors.shopify.sandbox.server import (
    DEFAULT_TOKEN,
    SandboxServer,
    demo_seed,
    load_seed,
    serve,
)
from connectors.shopify.sandbox.state import (
    DEFAULT_PRICE,
    QUANTITY_LIMIT,
    QUANTITY_NAMES,
    SETTABLE_NAMES,
    URI_PATTERN,
    VALID_REASONS,
    SandboxState,
)
from connectors.shopify.sandbox.storefront import STOREFRONT_SCHEMA, STOREFRONT_SDL, CartBook

__all__ = [
    "DEFAULT_PRICE",
    "DEFAULT_STOREFRONT_TOKEN",
    "DEFAULT_TOKEN",
    "MAX_PAGE",
    "MUTATION_COST",
    "QUANTITY_LIMIT",
    "QUANTITY_NAMES",
    "SCHEMA",
    "SDL",
    "SETTABLE_NAMES",
    "SINGLE_QUERY_MAX_COST",
    "SIZED_MUTATIONS",
    "STOREFRONT_SCHEMA",
    "STOREFRONT_SDL",
    "TITLE",
    "UNAUTHORIZED",
    "URI_PATTERN",
    "VALID_REASONS",
    "VERSION_PATTERN",
    "CartBook",
    "LeakyBucket",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "demo_seed",
    "load_seed",
    "request_cost",
    "serve",
]

"""The Admin GraphQL schema the sandbox serves: an SDL subset, just what the connector uses.

Real parsing and validation against it (``graphql-core``) is what makes the double honest: a
query the connector sends that Shopify would refuse is refused here too.
"""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

SDL = """
"Attach an idempotency key to a mutation field (Shopify Admin, 2026-01+)."
directive @idempotent(key: String!) on FIELD

scalar DateTime

"A decimal amount as a string (e.g. 19.99) in the shop's currency: Shopify's Money."
scalar Money

type Query {
  shop: Shop!
  locations(first: Int, after: String, query: String): LocationConnection!
  location(id: ID!): Location
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  inventoryItem(id: ID!): InventoryItem
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productVariantsBulkUpdate(
    productId: ID!
    variants: [ProductVariantsBulkInput!]!
    allowPartialUpdates: Boolean = false
  ): ProductVariantsBulkUpdatePayload
}

type Shop { name: String! myshopifyDomain: String! currencyCode: String! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Location { id: ID! name: String! isActive: Boolean! }
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { nodes: [Location!]! edges: [LocationEdge!]! pageInfo: PageInfo! }

type Product { id: ID! title: String! }

type ProductVariant {
  id: ID!
  sku: String
  title: String!
  price: Money!
  compareAtPrice: Money
  taxable: Boolean!
  product: Product!
  inventoryItem: InventoryItem!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  nodes: [ProductVariant!]!
  edges: [ProductVariantEdge!]!
  pageInfo: PageInfo!
}

type InventoryItem {
  id: ID!
  sku: String
  tracked: Boolean!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!): InventoryLevel
}

type InventoryLevel {
  id: ID!
  location: Location!
  item: InventoryItem!
  quantities(names: [String!]!): [InventoryQuantity!]!
}

type InventoryQuantity { name: String! quantity: Int! updatedAt: DateTime }

input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  ignoreCompareQuantity: Boolean
  quantities: [InventoryQuantityInput!]!
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  compareQuantity: Int
  changeFromQuantity: Int
}

type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

type InventorySetQuantitiesUserError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}

enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_REQUIRED
  CHANGE_FROM_QUANTITY_STALE
  COMPARE_QUANTITY_REQUIRED
  COMPARE_QUANTITY_STALE
  IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH
  INVALID_INVENTORY_ITEM
  INVALID_LOCATION
  INVALID_NAME
  INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW
  INVALID_REASON
  INVALID_REFERENCE_DOCUMENT
}

input ProductVariantsBulkInput {
  id: ID
  price: Money
  compareAtPrice: Money
  taxable: Boolean
}

type ProductVariantsBulkUpdatePayload {
  product: Product
  productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}

type ProductVariantsBulkUpdateUserError {
  code: ProductVariantsBulkUpdateUserErrorCode
  field: [String!]
  message: String!
}

enum ProductVariantsBulkUpdateUserErrorCode {
  BLANK
  GREATER_THAN_OR_EQUAL_TO
  INVALID_INPUT
  PRODUCT_DOES_NOT_EXIST
  PRODUCT_VARIANT_DOES_NOT_EXIST
  PRODUCT_VARIANT_ID_MISSING
}

type InventoryAdjustmentGroup {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes: [InventoryChange!]!
}

type InventoryChange {
  name: String!
  delta: Int!
  quantityAfterChange: Int
  item: InventoryItem
  location: Location
}
"""

SCHEMA: GraphQLSchema = build_schema(SDL)

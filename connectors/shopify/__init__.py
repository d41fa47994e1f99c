"""Shopify connector for Brique: stock and prices out through Admin GraphQL, orders and levels in.

``connectors.shopify.sandbox`` holds a local Shopify-compatible test double to try it offline.
"""

from connectors.shopify.connector import ShopifyConfig, ShopifyConnector

__all__ = ["ShopifyConfig", "ShopifyConnector"]

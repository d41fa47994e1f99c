"""Vendure connector for Brique (Admin GraphQL API, ``/admin-api``).

Variant stock per stock location (``stockOnHand``) and prices (integer minor units) out,
each read first for compare-and-set; orders polled on ``updatedAt``; ``stockOnHand`` read
back for reconciliation. Logs in as an administrator (``login`` -> bearer token).
"""

from connectors.vendure.connector import VendureConfig, VendureConnector

__all__ = ["VendureConfig", "VendureConnector"]

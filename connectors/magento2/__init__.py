"""Magento 2 / Adobe Commerce connector for Brique (REST ``/rest/<store_code>/V1``).

MSI source quantities out (``POST /V1/inventory/source-items``, 20 a call) with a
compare-and-set read first, base prices out (``POST /V1/products/base-prices``), orders polled
on ``updated_at`` through Magento's last-page-repeat bug, source quantities read back for
reconciliation. Authenticates with an integration access token as a bearer token.
"""

from connectors.magento2.connector import Magento2Config, Magento2Connector

__all__ = ["Magento2Config", "Magento2Connector"]

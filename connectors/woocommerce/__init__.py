"""WooCommerce connector for Brique: stock and prices out, orders and stock levels in (REST v3).

Talks to ``/wp-json/wc/v3`` with a REST API key (HTTP Basic over HTTPS), writes through the
documented batch endpoints (at most 100 objects a call), verifies ``X-WC-Webhook-Signature``
and polls orders by modification date.
"""

from connectors.woocommerce.connector import WooCommerceConfig, WooCommerceConnector

__all__ = ["WooCommerceConfig", "WooCommerceConnector"]

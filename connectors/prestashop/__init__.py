"""PrestaShop connector for Brique (Webservice XML): stock and prices out, orders polled in."""

from connectors.prestashop.connector import PrestaShopConfig, PrestaShopConnector

__all__ = ["PrestaShopConfig", "PrestaShopConnector"]

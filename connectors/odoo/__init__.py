"""Odoo Point of Sale connector for Brique: paid pos.order records read over JSON-RPC."""

from connectors.odoo.connector import OdooConfig, OdooConnector

__all__ = ["OdooConfig", "OdooConnector"]

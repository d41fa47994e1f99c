"""Tryton POS (``sale_point``) connector for Brique: posted sales read over JSON-RPC."""

from connectors.tryton.connector import TrytonConfig, TrytonConnector

__all__ = ["TrytonConfig", "TrytonConnector"]

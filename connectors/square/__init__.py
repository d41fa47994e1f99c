"""Square connector for Brique: completed orders in as sales, stock counts out and in."""

from connectors.square.connector import SquareConfig, SquareConnector

__all__ = ["SquareConfig", "SquareConnector"]

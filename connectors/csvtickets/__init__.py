"""Generic CSV connector: ticket-line exports of tills, columns named in the settings."""

from connectors.csvtickets.config import CsvColumns, CsvConfig
from connectors.csvtickets.connector import CsvTicketsConnector

__all__ = ["CsvColumns", "CsvConfig", "CsvTicketsConnector"]

"""ARTS POSLog connector: sales from till files (drop folder) or HTTP POST."""

from connectors.poslog.connector import PosLogConfig, PosLogConnector
from connectors.poslog.parser import DEFAULT_MAX_BYTES, ParseStats, PosLogReader, parse

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ParseStats",
    "PosLogConfig",
    "PosLogConnector",
    "PosLogReader",
    "parse",
]

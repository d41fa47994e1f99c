"""Django Oscar connector for Brique (django-oscar-api's admin API, ``/api/admin/``).

One partner's stock records out (``num_in_stock``, ``price``) with a compare-and-set read
first, orders polled newest-first down to the cursor, ``num_in_stock`` read back for
reconciliation. Authenticates as a staff user (HTTP Basic) or with a DRF token.
"""

from connectors.oscar.connector import OscarConfig, OscarConnector

__all__ = ["OscarConfig", "OscarConnector"]

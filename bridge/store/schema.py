"""Every table of the state store: the core's and each domain's, for Alembic and checks.

Domains keep their tables beside their code (``bridge/<domain>/tables.py``, on the same
``Base``); importing this module loads them all, so ``metadata`` is the whole schema.
"""

from __future__ import annotations

import bridge.baskets.tables
import bridge.events.tables
import bridge.loyalty.tables
import bridge.orders.tables
import bridge.parity.tables
import bridge.returns.tables  # noqa: F401 - imported for their tables
from bridge.store.tables import Base

metadata = Base.metadata

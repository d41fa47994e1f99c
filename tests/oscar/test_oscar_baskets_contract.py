"""The Oscar connector with its ``baskets`` stream on, against the contract kit.

``tests/kit/test_oscar_contract.py`` runs the kit with the default settings, where the
``baskets`` stream is off (it needs the shop-side ``BasketChanges`` view). Here it is on, so
the ``read`` and ``logs`` suites also page through baskets seeded in pairs sharing one change
time, over several pages, and resume from every cursor.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bridge.connector import Connector
from tests.kit.test_oscar_contract import TestOscarContract as _Base


class TestOscarBasketsContract(_Base):
    config: ClassVar[dict[str, Any]] = {**_Base.config, "read_baskets": True}

    def test_the_baskets_stream_is_on(self, connector: Connector) -> None:
        assert list(connector.streams()) == ["orders", "baskets"]

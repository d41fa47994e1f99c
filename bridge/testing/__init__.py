"""The connector contract test kit: standard suites a connector author inherits in a few lines.

Shipped as a pytest plugin (entry point ``pytest11: brique = bridge.testing.plugin``) so the
suites, their markers and their skip rules come with ``pip install brique``::

    from bridge.testing import ConnectorContract

    class TestMyShopContract(ConnectorContract):
        connector_class = MyShopConnector
        config = {"shop_url": "https://...", "access_token": "t0k3n"}
        skip_suites = {"read": "my shop has no read stream yet"}

        def remote(self):
            return MyScriptedShop()  # implements the parts of RemoteHarness it needs
"""

from bridge.testing.contract import SUITES, ConnectorContract
from bridge.testing.harness import (
    FailingRemote,
    RemoteHarness,
    StreamSource,
    WebhookSigner,
    WriteRecorder,
)

__all__ = [
    "SUITES",
    "ConnectorContract",
    "FailingRemote",
    "RemoteHarness",
    "StreamSource",
    "WebhookSigner",
    "WriteRecorder",
]

"""``ConnectorContract``: every suite in one base class for authors to subclass.

Authors pick nothing in: all suites run, and those that do not apply are either skipped by
capability (with the reason shown) or must be named in ``skip_suites`` with a written reason.
"""

from __future__ import annotations

from bridge.testing.base import SUITES
from bridge.testing.suite_info import InfoSuite
from bridge.testing.suite_logs import LogsSuite
from bridge.testing.suite_mapping import MappingSuite
from bridge.testing.suite_read import ReadSuite
from bridge.testing.suite_remote import RemoteSuite
from bridge.testing.suite_webhooks import WebhookSuite
from bridge.testing.suite_write import WriteSuite


class ConnectorContract(
    InfoSuite, RemoteSuite, WriteSuite, WebhookSuite, ReadSuite, LogsSuite, MappingSuite
):
    """Subclass as ``Test<Name>Contract`` and set ``connector_class`` and ``config``."""


__all__ = ["SUITES", "ConnectorContract"]

"""What the kit needs from a fake remote, as small explicit protocols.

Each suite uses one protocol only, so an author implements just the parts their platform
has (a till folder has no HTTP errors to fake). A missing method fails the suite that needs
it with a message naming the method, instead of an ``AttributeError`` deep in a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class FailingRemote(Protocol):
    """Used by the ``check`` and ``errors`` suites."""

    def answer_status(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        """Answer every following request with this HTTP status and headers."""

    def fail_with(self, error: BaseException) -> None:
        """Make every following request raise ``error`` (``requests.Timeout``...)."""


@runtime_checkable
class WebhookSigner(Protocol):
    """Used by the ``webhooks`` suite (and ``info`` to get sample events to decode)."""

    def sample_webhook(self, delivery_id: str) -> tuple[bytes, dict[str, str]]:
        """A realistic body and its unsigned headers; distinct content per delivery id."""

    def sign(self, body: bytes) -> dict[str, str]:
        """The headers that authenticate ``body`` as coming from the remote."""


@runtime_checkable
class WriteRecorder(Protocol):
    """Used by the ``write`` suite."""

    def applied_changes(self) -> int:
        """How many item changes the remote applied so far (replays it recognised: none)."""

    def write_call_sizes(self) -> list[int]:
        """Number of items in each write call the remote received, in order."""


@runtime_checkable
class StreamSource(Protocol):
    """Used by the ``read`` suite to put data in a stream before reading it."""

    def seed(self, stream: str, count: int) -> None:
        """Make ``count`` distinct records available in ``stream``, over several pages."""


class RemoteHarness(FailingRemote, WebhookSigner, WriteRecorder, StreamSource, Protocol):
    """Everything a full fake remote offers; implement only what your suites use."""


def require(harness: object, protocol: type, suite: str) -> None:
    """Fail clearly when the harness lacks what ``suite`` needs."""
    import pytest

    missing = [
        name
        for name in dir(protocol)
        if not name.startswith("_") and not callable(getattr(harness, name, None))
    ]
    if missing:
        pytest.fail(
            f"the {suite!r} suite needs the harness ({type(harness).__name__}) to implement "
            f"{', '.join(missing)} ({protocol.__name__}); implement it or skip the suite "
            f"with a reason in skip_suites",
            pytrace=False,
        )

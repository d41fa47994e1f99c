"""Untrusted POSLog bytes, made safe for libxml2: a size bound and no DOCTYPE, ever.

Tills and shared folders are not trusted, so DTDs and entity declarations are refused twice:
a byte scan of the prolog before libxml2 sees it (``_GuardedStream``), then lxml's own view of
the DOCTYPE once the root is known (``_refuse_doctype``), whatever the encoding.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from bridge.errors import DataError

_PROLOG_SCAN_LIMIT = 1024 * 1024
_READ_CHUNK = 64 * 1024


class _GuardedStream:
    """File-like wrapper: bounds the size and refuses a DOCTYPE before libxml2 parses it."""

    def __init__(self, raw: BinaryIO, source: str, max_bytes: int) -> None:
        self._raw = raw
        self._source = source
        self._max = max_bytes
        self._head = b""
        self._prolog_pending = True
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = _READ_CHUNK
        data = self._raw.read(min(size, self._max - self.count + 1))
        if not isinstance(data, bytes | bytearray):
            raise DataError(f"{self._source}: expected a binary stream")
        self.count += len(data)
        if self.count > self._max:
            raise DataError(
                f"{self._source}: document larger than max_bytes={self._max}; refused unread"
            )
        if self._prolog_pending and data:
            self._head += data
            self._scan_prolog()
        return bytes(data)

    def _scan_prolog(self) -> None:
        """Walk the prolog (XML declaration, PIs, comments) up to the root start tag."""
        text = _decode_head(self._head)
        pos = 0
        while True:
            lt = text.find("<", pos)
            if lt < 0 or len(text) < lt + 4:
                break
            if text.startswith("<?", lt):
                end = text.find("?>", lt + 2)
                if end < 0:
                    break
                pos = end + 2
            elif text.startswith("<!--", lt):
                end = text.find("-->", lt + 4)
                if end < 0:
                    break
                pos = end + 3
            elif text.startswith("<!", lt):
                raise _doctype_refused(self._source, text.count("\n", 0, lt) + 1)
            else:
                self._prolog_pending = False
                self._head = b""
                return
        if len(self._head) > _PROLOG_SCAN_LIMIT:
            # Absurdly long prolog: stop scanning; the lxml-level check still applies.
            self._prolog_pending = False
            self._head = b""


def _decode_head(head: bytes) -> str:
    """Decode the prolog well enough to find markup; Latin-1 keeps ASCII-based encodings."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "ignore")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", "ignore")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", "ignore")
    return head.decode("latin-1")


def _refuse_doctype(el: Any, source: str) -> None:
    """Second gate: whatever the encoding, lxml knows whether a DOCTYPE was there."""
    docinfo = el.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        root = el.getroottree().getroot()
        line = root.sourceline if root is not None else el.sourceline
        raise _doctype_refused(source, line)


def _doctype_refused(source: str, line: int | None) -> DataError:
    """The one message for both gates, so a DOCTYPE reads the same whichever caught it."""
    return DataError(
        f"{source}:{line}: DOCTYPE/ENTITY declarations are refused "
        "(entity expansion and external entities are not allowed in POSLog)"
    )

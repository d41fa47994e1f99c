"""PrestaShop Webservice XML: read with entities, DTDs and the network off; written back as read.

A shop's answers are not trusted more than a till's files: the parser takes the settings of the
POSLog reader (``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False``),
and a DOCTYPE is refused twice, by a scan of the prolog before libxml2 sees the bytes and by
lxml's own view of the document afterwards. ``connectors.poslog.xmlsafe`` exposes no parser
factory (its helpers are private and speak of POSLog), hence this module.

PUT replaces a whole resource: PrestaShop sets every optional field missing from the body to
NULL (``WebserviceRequest::saveEntityFromXml``). So a write re-sends the document it read, with
CDATA sections, ``xlink:href`` attributes and whitespace kept (``strip_cdata=False``), and only
the written fields changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from bridge.errors import DataError

MAX_BYTES = 64 * 1024 * 1024
"""Largest answer parsed; a page of orders with ``display=full`` is far below it."""

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
"""The declaration PrestaShop writes (``WebserviceOutputXML::overrideContent``)."""


def _parser() -> etree.XMLParser:
    """A fresh parser per document (lxml parsers are not shared across threads)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        strip_cdata=False,
        remove_blank_text=False,
    )


def parse(content: bytes, url: str) -> Any:
    """The ``<prestashop>`` root of an answer; ``DataError`` naming ``url`` otherwise."""
    if len(content) > MAX_BYTES:
        raise DataError(f"{url}: answer larger than {MAX_BYTES} bytes; refused unread")
    if not content.strip():
        raise DataError(f"{url}: empty answer where PrestaShop XML was expected")
    _refuse_prolog_doctype(content, url)
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno or 0, exc.offset or 0)
        raise DataError(
            f"{url}: malformed XML at line {line}, column {column}: {exc.msg}"
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _doctype_refused(url)
    if root.tag != "prestashop":
        raise DataError(f"{url}: expected a <prestashop> document, got <{root.tag}>")
    return root


def _refuse_prolog_doctype(content: bytes, url: str) -> None:
    """Walk the prolog (declaration, PIs, comments) to the root tag; refuse ``<!`` in it."""
    head = content[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "ignore")
        head = text.encode("utf-8", "ignore")
    pos = 0
    while True:
        lt = head.find(b"<", pos)
        if lt < 0:
            return
        if head.startswith(b"<?", lt):
            end = head.find(b"?>", lt + 2)
            pos = end + 2 if end >= 0 else len(head)
        elif head.startswith(b"<!--", lt):
            end = head.find(b"-->", lt + 4)
            pos = end + 3 if end >= 0 else len(head)
        elif head.startswith(b"<!", lt):
            raise _doctype_refused(url)
        else:
            return
        if pos >= len(head):
            return


def _doctype_refused(url: str) -> DataError:
    return DataError(
        f"{url}: DOCTYPE/ENTITY declarations are refused "
        "(PrestaShop never sends them; entity expansion is not allowed)"
    )


def errors_of(root: Any) -> list[tuple[str, str]]:
    """``(code, message)`` of each ``<errors><error>`` of a document (empty when none)."""
    found = []
    errors = root.find("errors")
    if errors is None:
        return found
    for error in errors.findall("error"):
        found.append((text(error, "code") or "", text(error, "message") or ""))
    return found


def describe_errors(errors: Iterable[tuple[str, str]]) -> str:
    return "; ".join(f"[{code}] {message}" if code else message for code, message in errors)


def text(element: Any, name: str) -> str | None:
    """The stripped text of child ``name`` (None if absent, "" if empty)."""
    child = element.find(name)
    if child is None:
        return None
    return (child.text or "").strip()


def set_text(element: Any, value: str) -> None:
    """Replace an element's value the way PrestaShop writes values: in a CDATA section."""
    for child in list(element):
        element.remove(child)
    element.text = etree.CDATA(value) if value != "" else ""


def serialize(root: Any) -> bytes:
    """The document as PrestaShop wrote it: same declaration, empty elements as ``<a></a>``."""
    for element in root.iter():
        if isinstance(element.tag, str) and element.text is None and len(element) == 0:
            element.text = ""
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8") + b"\n"


def resource(root: Any, node: str, url: str) -> Any:
    """The single ``<node>`` of a resource answer (``<prestashop><node>…``)."""
    element = root.find(node)
    if element is None:
        raise DataError(f"{url}: the answer has no <{node}> element")
    return element


def listing(root: Any, plural: str, node: str, url: str) -> list[Any]:
    """The ``<node>`` items of a list answer (``<prestashop><plural><node/>…``)."""
    container = root.find(plural)
    if container is None:
        raise DataError(f"{url}: the answer has no <{plural}> element")
    return container.findall(node)


def to_dict(element: Any) -> dict[str, Any]:
    """A resource as plain JSON-ready data: fields as strings, ``language`` values by id,
    ``associations`` as lists of dicts. Attributes (``xlink:href``...) are left out."""
    data: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "associations":
            data["associations"] = {
                assoc.tag: [_leaf_dict(item) for item in assoc if isinstance(item.tag, str)]
                for assoc in child
                if isinstance(assoc.tag, str)
            }
        elif len(child) and all(c.tag == "language" for c in child if isinstance(c.tag, str)):
            data[child.tag] = {
                str(c.get("id")): (c.text or "").strip() for c in child if isinstance(c.tag, str)
            }
        else:
            data[child.tag] = (child.text or "").strip()
    return data


def _leaf_dict(element: Any) -> dict[str, str]:
    return {c.tag: (c.text or "").strip() for c in element if isinstance(c.tag, str)}

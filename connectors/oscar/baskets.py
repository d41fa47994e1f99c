"""Django Oscar baskets both ways: the shop's baskets read, handed-off baskets opened as
anonymous oscar-api baskets a customer's browser resumes, deleted when closed.

What django-oscar-api 3.3.0 allows (checked against a real Oscar 4.2.1): a basket is served
only to its owner, that is the signed-in user or, for an anonymous basket, the Django
session that holds its id (``session[OSCAR_BASKET_COOKIE_OPEN]``); staff get a 404 on
anybody else's basket and ``/api/baskets/`` lists the caller's own. Hence:

Read (``baskets`` stream, off unless ``read_baskets``). It needs ``BasketChanges`` of
``connectors/oscar/shop_views.py`` installed in the shop (``/api/admin/baskets/``): baskets
oldest change first, a keyset on (change time, id); the cursor is the last pair read. Event
keys are ``basket/<id>@<change time>/<digest>``: a changed basket is a new event, a replay
is not. Statuses: ``Open`` -> active; ``Saved`` (Oscar's "saved for later" basket, one per
customer) -> wish list (``status`` and ``kind``); ``Frozen`` -> active while it is paid for,
converted once an order names it (oscar-api's checkout leaves its basket frozen);
``Submitted`` -> converted (``order_reference``: the order number); ``Merged`` ->
transferred (a signed-in customer's baskets were merged into one).

Write (``baskets`` sink, oscar-api as an anonymous shopper). Opening:

1. the session: the one bound to the handoff code (``oscar_basket_session``: the Django
   session key), else a new one: ``GET /api/basket/`` without credentials makes an empty
   anonymous basket and a session holding it (``Set-Cookie: sessionid``); the key and the
   basket id (``oscar_basket``) are bound at once, before any line exists, so a retry after
   a crash finds the same basket;
2. the lines, brought to exactly the basket's: ``POST /api/basket/add-product/`` (the product
   at the quantity, priced and stocked by the shop's strategy, which picks the stock record),
   ``PATCH`` or ``DELETE /api/baskets/<id>/lines/<line>/``; a replay changes nothing. A
   product the shop will not sell at that quantity fails the item with Oscar's reason;
3. the answer: ``{"id": <basket id>, "url": <link>}``.

A basket handed off this way is anonymous: oscar-api cannot give it an owner. A customer
who signs in on the shop gets it merged into their own (Oscar's ``BasketMiddleware``).

The link: ``basket_url`` with ``{session}`` (the session key), ``{basket}`` and ``{code}``;
by default ``<base_url>/basket/resume/?session={session}``, served by ``resume_basket`` of
``shop_views.py``, which gives the browser Oscar's signed basket cookie for that basket and
redirects to the basket page. The session key is a bearer credential for that anonymous
session only (it holds nothing but the basket): kept in Brique's bindings and the link,
never logged.

Closing: ``DELETE /api/baskets/<id>/`` in the basket's session. A basket no longer editable
(checked out, merged) or already deleted answers 404: closed. A session Oscar no longer
knows (expired, ``SESSION_COOKIE_AGE``) cannot close its basket: the item fails, saying so.
A shopper's own basket (read from the shop, ``external_id``; bought at a till since) is
closed as staff with ``BasketClose`` of ``shop_views.py`` (``DELETE
/api/admin/baskets/<id>/``), when the shop-side views are installed (``read_baskets``); a
basket no longer open there (paid for, ordered, merged) is left as it is.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from bridge.connector import BasketWrite
from bridge.errors import AuthError, ConfigError, DataError
from bridge.model import BasketBody, CustomerRef, Money
from bridge.model.basket import Basket, BasketLine, BasketStatus
from connectors.oscar.client import OscarClient, OscarNotFound, id_from_url
from connectors.oscar.orders import optional_decimal, parse_time

log = logging.getLogger(__name__)

BASKET = "basket"
SESSION_ENTITY = "oscar_basket_session"
"""Binding: handoff code -> the Django session key holding the anonymous basket."""
BASKET_ENTITY = "oscar_basket"
"""Binding: handoff code -> the basket id."""
EXTENSION_HINT = (
    "the shop does not serve {path}: reading Oscar baskets needs BasketChanges of "
    "connectors/oscar/shop_views.py in the shop's urls.py (django-oscar-api serves a basket "
    "to its owner only), or set read_baskets to false"
)


# -- read -----------------------------------------------------------------------------------


def basket_digest(payload: Mapping[str, Any]) -> str:
    lines = sorted(
        (
            str(line.get("id")),
            str(line.get("stockrecord")),
            str(line.get("quantity")),
            str(line.get("price_incl_tax")),
            str(line.get("price_excl_tax")),
        )
        for line in payload.get("lines") or ()
        if isinstance(line, Mapping)
    )
    owner = payload.get("owner") if isinstance(payload.get("owner"), Mapping) else {}
    text = repr((payload.get("status"), payload.get("order"), owner.get("id"), lines))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def basket_key(payload: Mapping[str, Any]) -> str | None:
    basket_id = id_from_url(payload.get("id"))
    changed = str(payload.get("changed") or "").strip()
    if basket_id is None or not changed:
        return None
    return f"basket/{basket_id}@{changed}/{basket_digest(payload)}"


def status_of(payload: Mapping[str, Any]) -> tuple[BasketStatus, BasketStatus | None]:
    """(status, kind) of an Oscar basket status."""
    status = str(payload.get("status") or "")
    if status == "Saved":
        return BasketStatus.WISH_LIST, BasketStatus.WISH_LIST
    if status == "Submitted" or (status == "Frozen" and payload.get("order")):
        return BasketStatus.CONVERTED, None
    if status == "Merged":
        return BasketStatus.TRANSFERRED, None
    return BasketStatus.ACTIVE, None


def decode_basket(
    payload: Mapping[str, Any],
    *,
    sku_field: str,
    handoff: str | None = None,
    url: str | None = None,
) -> list[BasketBody]:
    """A ``BasketChanges`` row -> one web basket keyed by the Oscar basket id."""
    basket_id = id_from_url(payload.get("id"))
    if basket_id is None:
        raise DataError("basket payload has no 'id'")
    what = f"basket {basket_id}"
    currency = str(payload.get("currency") or "").strip().upper()
    if not currency:
        raise DataError(f"{what} has no currency")
    status, kind = status_of(payload)
    owner = payload.get("owner") if isinstance(payload.get("owner"), Mapping) else None
    customer = None
    if owner is not None and owner.get("id") is not None:
        customer = CustomerRef(
            email=str(owner.get("email") or "").strip() or None,
            channel_ids={"oscar": str(owner["id"])},
        )
    order = str(payload.get("order") or "").strip() or None
    try:
        basket = Basket(
            basket_id=basket_id,
            channel="web",
            status=status,
            kind=kind,
            currency=currency,
            lines=tuple(
                _line(row, currency, sku_field, what)
                for row in payload.get("lines") or ()
                if isinstance(row, Mapping)
            ),
            customer=customer,
            created_at=parse_time(payload.get("date_created")),
            updated_at=parse_time(payload.get("changed")),
            order_reference=order if status is BasketStatus.CONVERTED else None,
            code=handoff,
            url=url,
        )
    except ValidationError as exc:
        raise DataError(f"{what}: {exc}") from None
    return [BasketBody(basket=basket)]


def _line(row: Mapping[str, Any], currency: str, sku_field: str, what: str) -> BasketLine:
    sku = str(row.get("upc" if sku_field == "upc" else "partner_sku") or "").strip()
    if not sku:
        raise DataError(
            f"{what} line {row.get('id')}: no {sku_field} (product {row.get('product')})"
        )
    quantity = optional_decimal(row.get("quantity"))
    if quantity is None:
        raise DataError(f"{what} line {row.get('id')}: quantity {row.get('quantity')!r}")
    # Oscar stores the unit price when the line is added; incl. tax when the shop knows it.
    unit = optional_decimal(row.get("price_incl_tax"))
    if unit is None:
        unit = optional_decimal(row.get("price_excl_tax"))
    line_currency = str(row.get("price_currency") or currency).strip().upper()
    return BasketLine(
        sku=sku,
        quantity=quantity,
        unit_price=Money(amount=unit, currency=line_currency) if unit is not None else None,
    )


# -- write ----------------------------------------------------------------------------------


def link(template: str, *, session: str, basket: str, code: str) -> str:
    return template.format(
        session=quote(session, safe=""), basket=quote(basket, safe=""), code=quote(code, safe="")
    )


@dataclass
class Opened:
    id: str | None
    url: str | None


class BasketWriter:
    """Opens and closes handed-off baskets as anonymous oscar-api baskets (module doc)."""

    def __init__(
        self,
        shopper: OscarClient,
        bindings: Any,
        template: str,
        cookie: str,
        products: Callable[[list[str]], tuple[dict[str, str], dict[str, str]]],
        staff_close: Callable[[str], None] | None = None,
    ) -> None:
        self.shopper, self.bindings = shopper, bindings
        self.template, self.cookie = template, cookie
        self.products = products
        self.staff_close = staff_close
        """Closes any shopper's basket by id (``BasketClose``); None without the shop views."""

    def url(self, session: str, basket: str, code: str) -> str:
        return link(self.template, session=session, basket=basket, code=code)

    # -- open -------------------------------------------------------------------------------

    def open(self, item: BasketWrite) -> Opened:
        wanted = self._wanted(item)
        what = f"oscar basket {item.code}"
        session = self.bindings.get_external(SESSION_ENTITY, item.code)
        basket_id = self.bindings.get_external(BASKET_ENTITY, item.code)
        if session is None:
            if item.external_id:
                raise DataError(
                    f"{what}: basket {item.external_id} was not opened by this connection "
                    "(Brique holds no session for it); Oscar serves a basket to its owner only"
                )
            session, basket_id = self._new_session(what)
            self.bindings.put(SESSION_ENTITY, item.code, session)
            self.bindings.put(BASKET_ENTITY, item.code, basket_id)
        jar = {self.cookie: session}
        if basket_id is None:  # a crash between the two bindings: the session knows it
            basket_id = self._session_basket(jar, what)
            self.bindings.put(BASKET_ENTITY, item.code, basket_id)
        try:
            self.shopper.get(f"baskets/{basket_id}/", what=what, cookies=jar)
        except OscarNotFound:
            # No longer editable: checked out, merged into a customer's basket, or closed.
            log.info("%s: basket %s is no longer open; answered as it is", what, basket_id)
            return Opened(basket_id, self.url(session, basket_id, item.code))
        except AuthError:
            raise DataError(f"{what}: Oscar no longer knows its session (expired)") from None
        self._converge(basket_id, jar, wanted, what)
        return Opened(basket_id, self.url(session, basket_id, item.code))

    def _session_basket(self, jar: dict[str, str], what: str) -> str:
        try:
            body = self.shopper.get("basket/", what=what, cookies=jar)
        except AuthError:
            raise DataError(f"{what}: Oscar no longer knows its session (expired)") from None
        basket_id = id_from_url(body.get("id")) if isinstance(body, dict) else None
        if basket_id is None:
            raise DataError(f"{what}: Oscar answered no basket for its session")
        return basket_id

    def _new_session(self, what: str) -> tuple[str, str]:
        body = self.shopper.get("basket/", what=f"{what} (new basket)", cookies={})
        session = self.shopper.cookie(self.cookie)
        basket_id = id_from_url(body.get("id")) if isinstance(body, dict) else None
        if not session or basket_id is None:
            raise ConfigError(
                f"{what}: Oscar answered no basket or no {self.cookie!r} session cookie to an "
                "anonymous GET /api/basket/ (is SESSION_COOKIE_NAME another name? set "
                "session_cookie)"
            )
        return session, basket_id

    def _wanted(self, item: BasketWrite) -> dict[str, int]:
        """Product id -> whole quantity, from the basket's SKUs."""
        quantities: dict[str, Decimal] = {}
        for line in item.lines:
            quantities[line.sku] = quantities.get(line.sku, Decimal(0)) + line.quantity
        if not quantities:
            raise DataError("the basket has no lines: nothing to hand over")
        for sku, quantity in quantities.items():
            if quantity <= 0 or quantity != quantity.to_integral_value():
                raise DataError(f"SKU {sku!r}: quantity {quantity} is not a whole number above 0")
        found, refused = self.products(sorted(quantities))
        missing = [refused.get(s, f"SKU {s!r} unresolved") for s in quantities if s not in found]
        if missing:
            raise DataError("; ".join(missing))
        wanted: dict[str, int] = {}
        for sku, quantity in quantities.items():
            wanted[found[sku]] = wanted.get(found[sku], 0) + int(quantity)
        return wanted

    def _converge(
        self, basket_id: str, jar: dict[str, str], wanted: dict[str, int], what: str
    ) -> None:
        """Bring the basket's lines to exactly ``wanted`` (product id -> quantity)."""
        present: dict[str, list[dict[str, Any]]] = {}
        for line in self.shopper.listing(f"baskets/{basket_id}/lines/", what=what, cookies=jar):
            product = id_from_url(line.get("product"))
            if product is not None:
                present.setdefault(product, []).append(line)
        for product, quantity in wanted.items():
            lines = present.pop(product, [])
            if not lines:
                self.shopper.call(
                    "POST",
                    "basket/add-product/",
                    body={"url": self.shopper.url(f"products/{product}/"), "quantity": quantity},
                    what=f"{what} add product {product}",
                    cookies=jar,
                )
                continue
            first, *extra = lines
            if first.get("quantity") != quantity:
                self.shopper.patch(
                    first["url"], {"quantity": quantity}, what=f"{what} line", cookies=jar
                )
            for line in extra:
                self.shopper.call("DELETE", line["url"], what=f"{what} line", cookies=jar)
        for lines in present.values():
            for line in lines:
                self.shopper.call("DELETE", line["url"], what=f"{what} line", cookies=jar)

    # -- close ------------------------------------------------------------------------------

    def close(self, item: BasketWrite) -> str | None:
        """Delete the basket in its session; returns its id (None if never opened)."""
        what = f"oscar basket {item.code}"
        session = self.bindings.get_external(SESSION_ENTITY, item.code)
        basket_id = self.bindings.get_external(BASKET_ENTITY, item.code) or item.external_id
        if session is None:
            if basket_id is None:
                return None
            if self.staff_close is None:
                raise DataError(
                    f"{what}: basket {basket_id} was not opened by this connection (Brique "
                    "holds no session for it) and oscar-api lets only its owner close it: "
                    "install the shop-side views of shop_views.py and set read_baskets"
                )
            self.staff_close(basket_id)
            return basket_id
        try:
            self.shopper.call(
                "DELETE", f"baskets/{basket_id}/", what=what, cookies={self.cookie: session}
            )
        except OscarNotFound:
            pass  # already deleted, checked out or merged: nothing left open
        except AuthError:
            raise DataError(
                f"{what}: Oscar no longer knows its session (expired); basket {basket_id} "
                "stays until the shop clears old baskets"
            ) from None
        return basket_id

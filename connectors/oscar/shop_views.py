"""Two views a Django Oscar site adds for Brique's basket handoff. Copy this file into the shop.

Brique never imports this module: it runs inside the shop's Django project (Django, Django
Oscar, django-oscar-api), next to ``settings.py``, for example as ``brique_oscar.py``. It is
shipped with the connector because django-oscar-api 3.3 has no way for Brique to do these two
things, and it is the module the end-to-end tests install into a real Oscar 4.2.1 (so what
is documented here is what was run).

1. ``BasketChanges``, ``GET /api/admin/baskets/``: the shop's baskets, oldest change first.
   django-oscar-api serves baskets only to their owner (``/api/baskets/<id>/`` answers 404 to
   anyone else, staff included, and ``/api/baskets/`` lists the caller's own), so without
   this view nobody but the shopper can read a basket. Staff only, through oscar-api's own
   ``APIAdminPermission`` (``OSCARAPI_BLOCK_ADMIN_API_ACCESS = False``, ``is_staff`` and the
   ``basket.view_basket`` permission). Query: ``since`` (ISO 8601) and ``after`` (basket id):
   baskets changed after ``(since, after)``; ``limit`` (default 100, at most 500). A basket's
   change time is the latest of its creation, merge and submit dates and its lines'
   ``date_updated``: Oscar keeps no modification time on the basket itself, so removing a
   line (a delete leaves no date) shows at the basket's next change only. Answer::

       {"results": [{"id": 12, "status": "Open", "changed": "2026-11-23T18:29:23.954432+00:00",
                     "date_created": "...", "date_merged": null, "date_submitted": null,
                     "owner": {"id": 3, "email": "jane@example.com"} | null,
                     "order": "100002" | null, "currency": "EUR",
                     "lines": [{"id": 7, "product": 1, "upc": "...", "title": "...",
                                "stockrecord": 1, "partner": "store-1", "partner_sku": "...",
                                "quantity": 2, "price_currency": "EUR",
                                "price_excl_tax": "19.99", "price_incl_tax": "19.99",
                                "date_updated": "..."}]}],
        "more": false}

   ``price_*`` are the unit prices Oscar stored on the line when it was added; ``order`` is
   the number of the order placed from the basket (oscar-api's checkout leaves its basket
   ``Frozen``; Oscar's own checkout ``Submitted``).

2. ``BasketClose``, ``DELETE /api/admin/baskets/<id>/``: closes a shopper's basket Brique
   saw converted elsewhere (bought at a till), as oscar-api lets only its owner do. Staff
   only (``basket.delete_basket``). A basket still editable (``Open``, ``Saved``) is
   deleted with its lines (204); one no longer editable (``Frozen`` in payment,
   ``Submitted``, ``Merged``) is left as it is (200, ``{"deleted": false, "status": ...}``);
   an unknown id is a 404.

3. ``resume_basket``, ``GET /basket/resume/?session=<key>``: the link Brique hands to a
   customer. Brique fills a basket through oscar-api as an anonymous shopper; oscar-api keeps
   that basket's id in the shopper's Django session (``session[OSCAR_BASKET_COOKIE_OPEN]``),
   and ``<key>`` is that session's key. Oscar's storefront finds an anonymous basket only by
   its signed cookie (``OSCAR_BASKET_COOKIE_OPEN`` = ``Signer().sign(basket id)``, signed
   with the site's ``SECRET_KEY``), which only the site can make: this view reads the basket
   id from the session, sets that cookie and redirects to the basket page (``basket:summary``).
   The customer's browser does not take over the session itself. A customer who signs in
   gets the basket merged into their own by Oscar's ``BasketMiddleware``. An unknown key, or
   a basket no longer open (converted, closed), leads to the basket page without a cookie.
   A headless storefront does the same with the key: the basket id is in that session.

``urls.py`` (before the ``api/`` include)::

    from brique_oscar import BasketChanges, BasketClose, resume_basket

    urlpatterns = [
        path("api/admin/baskets/", BasketChanges.as_view(), name="brique-basket-changes"),
        path("api/admin/baskets/<int:pk>/", BasketClose.as_view(), name="brique-basket-close"),
        path("basket/resume/", resume_basket, name="brique-basket-resume"),
        path("api/", include("oscarapi.urls")),
        path("", include(apps.get_app_config("oscar").urls[0])),
    ]
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.signing import Signer
from django.db.models import F, Max
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.dateparse import parse_datetime
from oscarapi.permissions import APIAdminPermission
from rest_framework.response import Response
from rest_framework.views import APIView

from oscar.core.loading import get_model

Basket = get_model("basket", "Basket")
Order = get_model("order", "Order")
MAX_LIMIT = 500


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _stamp(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


class BasketChanges(APIView):
    """Baskets changed after a (time, id) keyset, for the shop's staff (Brique)."""

    permission_classes = (APIAdminPermission,)
    queryset = Basket.objects.none()  # tells DjangoModelPermissions the model

    def get(self, request: Any) -> Response:
        since = parse_datetime(request.query_params.get("since") or "")
        try:
            after = int(request.query_params.get("after") or 0)
            limit = max(1, min(int(request.query_params.get("limit") or 100), MAX_LIMIT))
        except ValueError:
            return Response({"detail": "after and limit must be integers"}, status=400)
        baskets = Basket.objects.annotate(
            changed=Greatest(
                F("date_created"),
                Coalesce(F("date_merged"), F("date_created")),
                Coalesce(F("date_submitted"), F("date_created")),
                Coalesce(Max("lines__date_updated"), F("date_created")),
            )
        )
        if since is not None:
            baskets = baskets.filter(changed__gte=since).exclude(changed=since, id__lte=after)
        page = list(
            baskets.order_by("changed", "id")
            .select_related("owner")
            .prefetch_related("lines__stockrecord__partner", "lines__product")[: limit + 1]
        )
        more = len(page) > limit
        page = page[:limit]
        orders = dict(
            Order.objects.filter(basket_id__in=[b.id for b in page]).values_list(
                "basket_id", "number"
            )
        )
        return Response({"results": [_basket(b, orders.get(b.id)) for b in page], "more": more})


class BasketClose(APIView):
    """Deletes a basket still open, for the shop's staff (Brique), whoever owns it."""

    permission_classes = (APIAdminPermission,)
    queryset = Basket.objects.none()

    def delete(self, request: Any, pk: int) -> Response:
        basket = Basket.objects.filter(pk=pk).first()
        if basket is None:
            return Response({"detail": "No Basket matches the given query."}, status=404)
        if not basket.can_be_edited:
            return Response({"deleted": False, "status": basket.status})
        basket.flush()
        basket.delete()
        return Response(status=204)


def _basket(basket: Any, order: str | None) -> dict[str, Any]:
    owner = basket.owner
    lines = [_line(line) for line in basket.lines.all()]
    return {
        "id": basket.id,
        "status": basket.status,
        "changed": _stamp(basket.changed),
        "date_created": _stamp(basket.date_created),
        "date_merged": _stamp(basket.date_merged),
        "date_submitted": _stamp(basket.date_submitted),
        "owner": None if owner is None else {"id": owner.pk, "email": owner.email or None},
        "order": order,
        "currency": lines[0]["price_currency"] if lines else settings.OSCAR_DEFAULT_CURRENCY,
        "lines": lines,
    }


def _line(line: Any) -> dict[str, Any]:
    record = line.stockrecord
    return {
        "id": line.id,
        "product": line.product_id,
        "upc": line.product.upc or None,
        "title": line.product.get_title(),
        "stockrecord": line.stockrecord_id,
        "partner": record.partner.code if record is not None else None,
        "partner_sku": record.partner_sku if record is not None else None,
        "quantity": line.quantity,
        "price_currency": line.price_currency,
        "price_excl_tax": _text(line.price_excl_tax),
        "price_incl_tax": _text(line.price_incl_tax),
        "date_updated": _stamp(line.date_updated),
    }


def resume_basket(request: HttpRequest) -> HttpResponse:
    """Give the browser the basket held by the session named in ``?session=``."""
    response = redirect("basket:summary")
    key = request.GET.get("session") or ""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not key or not store().exists(key):
        return response
    basket_id = store(session_key=key).get(settings.OSCAR_BASKET_COOKIE_OPEN)
    basket = Basket.open.filter(pk=basket_id, owner=None).first() if basket_id else None
    if basket is not None:
        response.set_cookie(
            settings.OSCAR_BASKET_COOKIE_OPEN,
            Signer().sign(basket.pk),
            max_age=settings.OSCAR_BASKET_COOKIE_LIFETIME,
            secure=settings.OSCAR_BASKET_COOKIE_SECURE,
            httponly=True,
        )
    return response

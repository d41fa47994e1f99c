"""The web receiver: webhooks in, health out. It writes the inbox and sends ids, nothing more."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from kombu import Connection
from starlette.concurrency import run_in_threadpool

from bridge.connector import WebhookRequest
from bridge.errors import AuthError, ConfigError, DataError
from bridge.parity.scan import health_alerts as parity_alerts
from bridge.store import db
from bridge.sync import ingest, status
from bridge.sync.runtime import Runtime
from workers.routes import GUARDED, include_all

log = structlog.get_logger(__name__)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
    return bytes(body)


def create_app(rt: Runtime, broker_check: Any = None) -> FastAPI:
    """``broker_check`` is a callable raising when the broker is unreachable."""
    app = FastAPI(title="Brique", version="0.1.0", description="Webhook receiver and health.")
    limit = rt.settings.web.max_body_bytes

    @app.post(
        "/webhooks/{connection}",
        summary="Receive a webhook (or a pushed document) for a connection",
        description=(
            "The raw body is verified by the connection's connector (Shopify HMAC, "
            "WooCommerce signature, Square signature over URL and body, a bearer token for "
            "POSLog pushes...), split into events and written to the inbox keyed by the "
            "sender's own delivery or event id, then queued. A duplicate is accepted again "
            "and applied once. 401: signature refused; 422: a body that cannot be read (do "
            "not retry); 503: the connection cannot take webhooks (no secret configured); "
            "413: larger than `web.max_body_bytes`."
        ),
    )
    async def webhook(connection: str, request: Request) -> JSONResponse:
        conn = rt.settings.connections.get(connection)
        if conn is None or not conn.enabled:
            raise HTTPException(404, f"unknown connection {connection!r}")
        body = await _read_limited(request, limit)
        hook = WebhookRequest(headers=dict(request.headers), body=body, url=str(request.url))
        try:
            # Database work off the event loop: a slow or locked database must not stall
            # every other request (health checks included).
            result = await run_in_threadpool(ingest.receive_webhook, rt, connection, hook)
        except AuthError as exc:
            log.warning("webhook_refused", connection=connection, error=str(exc))
            raise HTTPException(401, "signature refused") from None
        except DataError as exc:
            # The sender cannot fix a body we cannot read by retrying: say so once.
            raise HTTPException(422, str(exc)) from None
        except ConfigError as exc:
            # e.g. no webhook secret configured: the admin must act, the sender may retry.
            log.error("webhook_unconfigured", connection=connection, error=str(exc))
            raise HTTPException(503, f"connection {connection!r} cannot take webhooks") from None
        return JSONResponse(
            {
                "accepted": len(result.accepted),
                "duplicates": result.duplicates,
                "rejected": result.rejected,
            }
        )

    @app.get(
        "/health",
        summary="Health: database, broker, mapping, connections, alerts",
        description=(
            "`status` is `ok` or `degraded` (broker down, mapping file refused and the last "
            "good one in use, a connection stopped by an auth or config error, a ticket gap, "
            "open price divergences...). Answers 503 only when the database is unreachable. "
            "Holds no personal data."
        ),
    )
    def health() -> JSONResponse:
        report: dict[str, Any] = {"status": "ok"}
        try:
            db.ping(rt.engine)
            report["database"] = {"status": "ok"}
        except Exception as exc:
            report["database"] = {"status": "down", "error": type(exc).__name__}
            report["status"] = "degraded"
        if broker_check is not None:
            try:
                broker_check()
                report["broker"] = {"status": "ok"}
            except Exception as exc:
                report["broker"] = {"status": "down", "error": type(exc).__name__}
                report["status"] = "degraded"
        rt.mapping.reload_if_changed()
        report["mapping"] = rt.mapping.state()
        if rt.mapping.error:
            report["status"] = "degraded"  # running on the last good mapping
        try:
            connections = status.connection_status(rt)
        except Exception as exc:
            report["connections"] = {"error": type(exc).__name__}
            report["status"] = "degraded"
        else:
            report["connections"] = connections
            if any(c.get("state") == "stopped" for c in connections.values()):
                report["status"] = "degraded"
            # A missing ticket means stock and the journal are wrong until it arrives.
            report["alerts"] = [
                f"ticket gap: {gap}"
                for c in connections.values()
                for gap in c.get("ticket_gaps", [])
            ]
            report["alerts"] += parity_alerts(rt)  # open price divergences: one count
            if report["alerts"]:
                report["status"] = "degraded"
        try:
            from bridge.events.views import subscriber_status

            with rt.sessions() as s:
                report["subscribers"] = subscriber_status(s, sorted(rt.settings.subscribers))
        except Exception as exc:
            report["subscribers"] = {"error": type(exc).__name__}
        else:
            dead = {n: c["dead"] for n, c in report["subscribers"].items() if c.get("dead")}
            if dead:  # events a subscriber never got: an admin must look (then replay)
                report.setdefault("alerts", []).extend(
                    f"subscriber {name}: {count} event(s) not delivered"
                    for name, count in dead.items()
                )
                report["status"] = "degraded"
        code = 200 if report["database"]["status"] == "ok" else 503
        return JSONResponse(report, status_code=code)

    def require_token(request: Request) -> None:
        """Exports and customer look-ups hold personal data: off without a token."""
        secret = rt.settings.web.export_token
        token = secret.get_secret_value() if secret is not None else ""
        if not token:
            raise HTTPException(403, "personal data endpoints are off: set web.export_token")
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {token}".encode()):
            raise HTTPException(401, "bearer token refused")

    @app.get(
        "/journal/export",
        summary="Export the sales journal as CSV (one row per sale line)",
        description=(
            "Every sale and return of every channel in [from, to), in the canonical model, "
            "one CSV row per sale line (a ticket without lines gets one row), streamed. "
            "Cancelled and voided tickets are kept with their status. Amounts and "
            "quantities are exact decimal text; occurred_at is ISO 8601 UTC, and a ticket "
            "without one is placed at the time Brique recorded it (occurred_at_source). "
            "`from`/`to` are dates (midnight in `tz`) or ISO 8601 date-times. Requires "
            "`Authorization: Bearer <web.export_token>`; off when no token is set."
        ),
        response_class=StreamingResponse,
        responses={
            200: {"content": {"text/csv": {}}, "description": "The CSV, header first."},
            401: {"description": "Missing or wrong bearer token."},
            403: {"description": "Export not enabled (no web.export_token in the settings)."},
            422: {"description": "A bad date, time zone or filter."},
        },
    )
    def journal_export(
        request: Request,
        start: Annotated[str, Query(alias="from", description="First day or instant, included.")],
        end: Annotated[str, Query(alias="to", description="Day or instant, excluded.")],
        store: Annotated[str | None, Query(description="Brique location code.")] = None,
        channel: Annotated[Literal["store", "web"] | None, Query()] = None,
        connection: Annotated[str | None, Query(description="One connection only.")] = None,
        tz: Annotated[str, Query(description="Zone of dates without offset.")] = "UTC",
        format: Annotated[Literal["csv"], Query(description="Only csv over HTTP.")] = "csv",
    ) -> StreamingResponse:
        from bridge.journal import export

        require_token(request)
        try:
            query = export.make_query(
                start, end, store=store, channel=channel, connection=connection, tz=tz
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        name = f"journal-{start}-{end}.csv".replace(":", "")
        return StreamingResponse(
            export.csv_chunks(export.records(rt.sessions, query)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # --- customers: personal data, behind the export token ------------------------------------

    token = [Depends(require_token)]  # checked before the parameters: 401 first
    guarded = GUARDED
    auth_note = (
        " Personal data: requires `Authorization: Bearer <web.export_token>` (the journal "
        "export's token); off when no token is set."
    )

    @app.get(
        "/customers/reviews",
        summary="Open customer reviews (weak matches waiting for a decision)",
        description=(
            "Observed records that share a folded name and postcode, but no strong key, with "
            "another golden record, oldest first. Resolve them with `brique customers review "
            "ID --accept|--reject`." + auth_note
        ),
        responses=guarded,
        dependencies=token,
    )
    def customer_reviews() -> JSONResponse:
        from bridge.customers import open_reviews
        from bridge.customers.views import review_json

        with rt.sessions() as s:
            return JSONResponse([review_json(r) for r in open_reviews(s)])

    @app.get(
        "/customers/{customer_id}",
        summary="One golden customer record",
        description=(
            "The golden record: best value per field (the latest observation having one), its "
            "strong keys (loyalty, email, phone, channel), every observed record with its "
            "notes, and the golden records merged into it. A merged id answers with the "
            "record it was merged into (compare `id`). The same JSON as "
            "`brique customers show ID --json`." + auth_note
        ),
        responses={**guarded, 404: {"description": "No golden record with that id."}},
        dependencies=token,
    )
    def customer_show(customer_id: int) -> JSONResponse:
        from bridge.customers.views import NotFound, golden_json, show

        with rt.sessions() as s:
            try:
                return JSONResponse(golden_json(show(s, customer_id)))
            except NotFound as exc:
                raise HTTPException(404, str(exc)) from None

    @app.get(
        "/customers",
        summary="Find golden customer records by e-mail, phone or loyalty card",
        description=(
            "Exactly one of `email`, `phone` (with `region` for a national number) or `card`, "
            "normalised as observations are (e-mail lower-cased, phone to E.164). Answers a "
            "list of golden records, empty when none holds the key; the same JSON as `brique "
            "customers find ... --json`." + auth_note
        ),
        responses={**guarded, 422: {"description": "No key, several, or an invalid one."}},
        dependencies=token,
    )
    def customer_find(
        email: Annotated[str | None, Query(description="E-mail address.")] = None,
        phone: Annotated[str | None, Query(description="Phone number.")] = None,
        region: Annotated[
            str | None, Query(description="ISO 3166 region of a national phone (FR).")
        ] = None,
        card: Annotated[str | None, Query(description="Loyalty card number.")] = None,
    ) -> JSONResponse:
        from bridge.customers.views import find, golden_json

        with rt.sessions() as s:
            try:
                found = find(s, email=email, phone=phone, card=card, region=region)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
            return JSONResponse([golden_json(view) for view in found])

    include_all(app, rt, require_token)
    return app


def kombu_check(url: str, transport_options: dict[str, Any]) -> Any:
    def check() -> None:
        with Connection(url, transport_options=transport_options, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)

    return check


def build(settings_path: str | None = None) -> FastAPI:
    """Uvicorn factory: ``uvicorn --factory workers.web:build``."""
    from bridge import logs
    from workers.app import app as celery_app
    from workers.app import broker_options
    from workers.dispatch import CeleryDispatcher

    logs.configure()
    settings = celery_app.conf.brique_settings
    rt = Runtime(settings, CeleryDispatcher(celery_app))
    if not settings.connections:
        raise ConfigError("no connections configured")
    return create_app(rt, kombu_check(celery_app.conf.broker_url, broker_options(settings)))

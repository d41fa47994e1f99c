"""The ``brique`` command: run the whole thing, or one part, and look inside it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bridge import logs, registry
from bridge.connector import ConnectorContext, Rejection
from bridge.errors import BriqueError, ConfigError
from bridge.settings import Settings, load_settings
from workers.options import ConfigOpt, JsonOpt

app = typer.Typer(
    help="Brique: the missing brick between your tills and your web shop.",
    # A crash must not print local variables: settings hold tokens and passwords.
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The state store.")
connectors_app = typer.Typer(help="Installed connectors.")
dead_app = typer.Typer(help="Dead letters: what could not be processed, and replay.")
sandbox_app = typer.Typer(help="Local TEST DOUBLES of remote platforms, for demos and tests.")
stock_app = typer.Typer(help="Stock ledger.")
prices_app = typer.Typer(help="Price referential.")
mapping_app = typer.Typer(help="Mapping files.")
journal_app = typer.Typer(help="The sales journal: exports for a data mart.")
customers_app = typer.Typer(help="Customer identity: golden records, reviews, merges, undo.")
app.add_typer(db_app, name="db")
app.add_typer(connectors_app, name="connectors")
app.add_typer(dead_app, name="deadletters")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(stock_app, name="stock")
app.add_typer(prices_app, name="prices")
app.add_typer(mapping_app, name="mapping")
app.add_typer(journal_app, name="journal")
app.add_typer(customers_app, name="customers")

out = Console()
err = Console(stderr=True)


def _error(text: str) -> None:
    """An error on stderr, verbatim: one ``file:line: message`` per line, never re-wrapped
    nor read as rich markup (messages hold brackets and long paths)."""
    err.print(text, style="red", markup=False, highlight=False, soft_wrap=True)


def _settings(config: Path | None) -> Settings:
    if config is not None:
        os.environ["BRIQUE_CONFIG"] = str(config.resolve())
    try:
        return load_settings(config)
    except ConfigError as exc:
        _error(f"configuration error\n{exc}")
        raise typer.Exit(2) from None


def _runtime(config: Path | None, dispatcher: Any = None, *, strict_mapping: bool = True):
    from bridge.store import db
    from bridge.sync.runtime import Runtime

    settings = _settings(config)
    try:
        rt = Runtime(
            settings, dispatcher(settings) if dispatcher else None, strict_mapping=strict_mapping
        )
        db.require_migrated(rt.engine)
        return rt
    except ConfigError as exc:  # e.g. the mapping file is broken, or migrations are pending
        _error(f"configuration error\n{exc}")
        raise typer.Exit(2) from None


def _celery_dispatcher(settings: Settings):
    # A Celery app for *these* settings: workers.app's module-level app was configured from
    # whatever $BRIQUE_CONFIG said when it was first imported.
    from workers.app import create_app
    from workers.dispatch import CeleryDispatcher

    return CeleryDispatcher(create_app(settings))


def _celery_dispatch_runtime(config: Path | None):
    return _runtime(config, _celery_dispatcher)


@app.command()
def run(config: ConfigOpt = None, concurrency: int = 2) -> None:
    """Start everything on this machine: migrations, web receiver, a worker and beat."""
    settings = _settings(config)
    logs.configure()
    from bridge.store import db

    db.upgrade(settings.resolved_database_url())
    if settings.stock_import:
        from bridge.sync.stock_import import import_counts

        rt = _celery_dispatch_runtime(config)
        count = import_counts(rt, settings.stock_import)
        rt.close()
        err.print(f"stock import: {count} new count movement(s) from {settings.stock_import}")
    if settings.price_import:
        from bridge.sync.price_import import import_prices

        rt = _celery_dispatch_runtime(config)
        try:
            count, _shops = import_prices(rt, settings.price_import)
        except BriqueError as exc:
            _error(str(exc))
            raise typer.Exit(1) from None
        finally:
            rt.close()
        err.print(f"price import: {count} price(s) from {settings.price_import}")
    source = str(settings.source)
    base = [sys.executable, "-m", "workers.cli"]
    children: list[subprocess.Popen[bytes]] = []
    for sandbox in settings.sandboxes:
        cmd = [*base, "sandbox", sandbox.kind, "--port", str(sandbox.port)]
        cmd += ["--access-token", sandbox.access_token]
        if sandbox.seed:
            cmd += ["--seed", str(sandbox.seed)]
        children.append(subprocess.Popen(cmd))
    children.append(
        subprocess.Popen([*base, "worker", "--config", source, "--concurrency", str(concurrency)])
    )
    children.append(subprocess.Popen([*base, "beat", "--config", source]))
    children.append(subprocess.Popen([*base, "web", "--config", source]))
    err.print(
        f"Brique running: web http://{settings.web.host}:{settings.web.port}/health"
        + "".join(f", {s.kind} sandbox http://127.0.0.1:{s.port}/" for s in settings.sandboxes)
        + " (Ctrl-C to stop)"
    )

    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(signal.SIGTERM))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(signal.SIGINT))
    failed = None
    while not stopping and failed is None:
        failed = next((c for c in children if c.poll() is not None), None)
        time.sleep(0.2)
    if failed is not None:
        err.print(f"[red]a Brique process exited ({' '.join(failed.args[3:5])}); stopping[/red]")
    _stop_all(children)
    raise typer.Exit(1 if failed is not None else 0)


def _stop_all(children: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """Warm shutdown for every child (tasks in flight finish), then SIGKILL what is left.

    Killing is safe: every effect is idempotent and the sweeper re-dispatches what was lost.
    """
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@app.command()
def worker(
    config: ConfigOpt = None,
    concurrency: int = 2,
    pool: str = "prefork",
    loglevel: str = "INFO",
) -> None:
    """Start a Celery worker consuming every connection's queue."""
    settings = _settings(config)
    logs.configure(loglevel)
    from workers.app import app as celery_app
    from workers.queues import all_queues

    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "-Q",
        ",".join(all_queues(settings)),
        "--without-gossip",
        "--without-mingle",
    ]
    if settings.embedded_broker:
        argv.append("--without-heartbeat")
    celery_app.worker_main(argv)


@app.command()
def beat(config: ConfigOpt = None, loglevel: str = "INFO") -> None:
    """Start the scheduler (polls, reconciliations, the sweeper) from the configuration."""
    settings = _settings(config)
    logs.configure(loglevel)
    from workers.app import app as celery_app

    schedule = settings.data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])


@app.command()
def web(config: ConfigOpt = None) -> None:
    """Start the webhook receiver and health endpoint (FastAPI + uvicorn)."""
    settings = _settings(config)
    import uvicorn

    uvicorn.run(
        "workers.web:build",
        factory=True,
        host=settings.web.host,
        port=settings.web.port,
        log_level="info",
        log_config=None,  # uvicorn's loggers go through logs.configure(): JSON, redacted
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Apply the state store's migrations."""
    from bridge.store import db

    settings = _settings(config)
    db.upgrade(settings.resolved_database_url())
    err.print("database is up to date")


@connectors_app.command("list")
def connectors_list(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="The README's table of connectors.")
    ] = False,
) -> None:
    """Show installed connectors: name, kind, capabilities, version, package."""
    rows = [r.as_dict() for _, r in sorted(registry.discover().items())]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if markdown:
        print(registry.markdown_table(rows), end="")
        return
    table = Table("name", "kind", "capabilities", "version", "package")
    for r in rows:
        table.add_row(
            r["name"], r["kind"], ", ".join(r["capabilities"]), r["version"], r["package"]
        )
    out.print(table)


def _sale_summary(sale: Any) -> dict[str, Any]:
    def money(m: Any) -> str | None:
        return None if m is None else format(m.amount, "f")

    return {
        "ticket": sale.key.as_string(),
        "store": sale.key.store,
        "status": sale.status.value,
        "occurred_at": sale.occurred_at.isoformat() if sale.occurred_at else None,
        "currency": sale.currency,
        "total": money(sale.total),
        "lines": [
            {
                "line": line.line_no,
                "sku": line.sku,
                "quantity": format(line.quantity, "f"),
                "unit_price": money(line.unit_price),
                "amount": money(line.amount),
                "currency": (line.amount or line.unit_price or sale).currency,
                "return": line.is_return,
                "voided": line.voided,
                **(
                    {"link": line.link.model_dump(mode="json", exclude_none=True)}
                    if line.link
                    else {}
                ),
            }
            for line in sale.lines
        ],
    }


@app.command()
def inspect(
    file: Path,
    connector: Annotated[
        str | None, typer.Option("--connector", help="Connector that reads FILE (defaults).")
    ] = None,
    connection: Annotated[
        str | None,
        typer.Option("--connection", help="Read FILE with this connection's settings."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Print the canonical records FILE produces, one JSON line each. Writes nothing.

    ``--connector`` reads with the connector's defaults; ``--connection`` with a configured
    connection's settings (e.g. a CSV export's column names).
    """
    from bridge.model import SaleBody

    logs.configure("WARNING")  # stdout carries the records only
    if (connector is None) == (connection is None):
        _error("give either --connector NAME or --connection NAME")
        raise typer.Exit(2)
    try:
        if connection is not None:
            from bridge.mapping.preview import build_connector

            conn = build_connector(_settings(config), connection)
        else:
            assert connector is not None
            cls = registry.get(connector).cls
            conn = cls.from_settings({}, ConnectorContext(connection=f"inspect:{connector}"))
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    failures = 0
    try:
        with file.open("rb") as fh:
            for item in conn.parse_document(str(file), fh):
                if isinstance(item, Rejection):
                    failures += 1
                    print(
                        json.dumps({"rejected": item.source, "error": item.error}), file=sys.stderr
                    )
                    continue
                for body in conn.decode(item):
                    if isinstance(body, SaleBody):
                        print(json.dumps(_sale_summary(body.sale)))
                    else:
                        print(body.model_dump_json())
    except (BriqueError, OSError) as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    if failures:
        raise typer.Exit(1)


@app.command()
def status(
    config: ConfigOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Inbox, outbox and dead-letter counts per connection, and the mapping in force."""
    from bridge.events.views import subscriber_status
    from bridge.sync.status import connection_status, mapping_status

    rt = _runtime(config, strict_mapping=False)
    report = connection_status(rt)
    mapping = mapping_status(rt)
    with rt.sessions() as s:
        subscribers = subscriber_status(s, sorted(rt.settings.subscribers))
    if as_json:
        print(
            json.dumps(
                {**report, "_mapping": mapping, "_subscribers": subscribers}, indent=2, default=str
            )
        )
        return
    if mapping["error"]:
        _error(
            f"mapping {mapping['path']} is invalid; workers keep the last good version "
            f"({mapping['last_applied'] or 'none applied yet'}) until it is fixed:\n"
            f"{mapping['error']}"
        )
    else:
        applied = mapping["last_applied"]
        note = "" if applied in (None, mapping["version"]) else f", last applied {applied}"
        out.print(f"mapping {mapping['path']}: version {mapping['version']}{note}")
    table = Table(
        "connection", "connector", "state", "inbox", "outbox", "dead letters", "stale stock",
        "stale prices",
    )  # fmt: skip
    for name, row in report.items():
        if name.startswith("_"):
            continue
        fmt = lambda d: ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "-"  # noqa: E731
        table.add_row(
            name, row.get("connector", "?"), row.get("state", "ok"), fmt(row["inbox"]),
            fmt(row["outbox"]), str(row.get("dead_letters", 0)), str(row.get("stale_stock", 0)),
            str(row.get("stale_prices", 0)),
        )  # fmt: skip
    out.print(table)
    if subscribers:
        events = Table("subscriber", "pending", "delivered", "dead")
        for name, counts in subscribers.items():
            events.add_row(name, *(str(counts.get(k, 0)) for k in ("pending", "delivered", "dead")))
        out.print(events)
    for name, row in report.items():
        for gap in row.get("ticket_gaps", []) if not name.startswith("_") else []:
            _error(f"ticket gap: {gap}")


@dead_app.command("list")
def deadletters_list(
    config: ConfigOpt = None,
    connection: str | None = None,
    show_all: Annotated[bool, typer.Option("--all", help="Include replayed ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List dead letters: what, why, and who must act."""
    from sqlalchemy import select

    from bridge.store.tables import DeadLetter

    rt = _runtime(config)
    with rt.sessions() as s:
        query = select(DeadLetter).order_by(DeadLetter.id)
        if connection:
            query = query.where(DeadLetter.connection == connection)
        if not show_all:
            query = query.where(DeadLetter.status == "open")
        rows = list(s.scalars(query))
    data = [
        {
            "id": r.id, "connection": r.connection, "stage": r.stage, "record": r.record,
            "error": r.error, "actor": r.actor, "status": r.status,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]  # fmt: skip
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table("id", "connection", "stage", "record", "error", "who must act", "status")
    for d in data:
        table.add_row(
            str(d["id"]), d["connection"], d["stage"], d["record"] or "-", d["error"], d["actor"],
            d["status"],
        )  # fmt: skip
    out.print(table)


@dead_app.command("replay")
def deadletters_replay(
    ids: Annotated[list[int] | None, typer.Argument()] = None,
    config: ConfigOpt = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every open one.")] = False,
) -> None:
    """Put dead letters back on their path (after fixing the mapping or the data)."""
    from sqlalchemy import select

    from bridge.store.tables import DeadLetter
    from bridge.sync import deadletters

    rt = _celery_dispatch_runtime(config)
    if replay_all:
        with rt.sessions() as s:
            ids = list(s.scalars(select(DeadLetter.id).where(DeadLetter.status == "open")))
    if not ids:
        err.print("nothing to replay")
        return
    failed = 0
    for dl_id in ids:
        try:
            done = deadletters.replay(rt, dl_id)
            out.print(f"#{done.dead_letter_id}: {done.what}")
        except ConfigError as exc:
            failed += 1
            _error(f"#{dl_id}: {exc}")
    if failed:
        raise typer.Exit(1)


@app.command()
def ingest(
    file: Path,
    connection: Annotated[str, typer.Option("--connection", help="Connection that reads FILE.")],
    config: ConfigOpt = None,
) -> None:
    """Feed one document (e.g. a POSLog file from an archive) to a connection's inbox.

    Tickets already received are recognised and skipped; the new ones are processed by the
    workers like any other.
    """
    from bridge.sync.ingest import ingest_document

    rt = _celery_dispatch_runtime(config)
    try:
        with file.open("rb") as fh:
            result = ingest_document(rt, connection, file.name, fh)
    except (BriqueError, OSError) as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    out.print(
        f"{len(result.accepted)} new, {result.duplicates} already received, "
        f"{result.rejected} rejected (see `brique deadletters list`)"
    )


@stock_app.command("import")
def stock_import(file: Path, config: ConfigOpt = None) -> None:
    """Count stock from a CSV (sku,location,quantity) into the ledger."""
    from bridge.sync.stock_import import import_counts

    rt = _celery_dispatch_runtime(config)
    try:
        count = import_counts(rt, file)
    except BriqueError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    out.print(f"{count} count movement(s) written")


@prices_app.command("import")
def prices_import(file: Path, config: ConfigOpt = None) -> None:
    """Load a price list from a CSV (sku,price[,list][,currency]); changed prices are pushed."""
    from bridge.sync.price_import import import_prices

    rt = _celery_dispatch_runtime(config)
    try:
        count, shops = import_prices(rt, file)
    except BriqueError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    pushed = f"; pushing to {', '.join(shops)}" if shops else "; nothing changed"
    out.print(f"{count} price(s) read{pushed}")


MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", "-m", help="Mapping file (default: the settings' mapping)."),
]
InputsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--input",
        "-i",
        help="A document the connection reads (POSLog...), a price list (.csv) or native "
        "payloads (.json); repeatable.",
    ),
]
MoreInputs = Annotated[
    list[Path] | None,
    typer.Argument(help="More inputs, so that --input samples/*.xml takes every file."),
]
PreviewConnectionOpt = Annotated[
    str, typer.Option("--connection", help="Connection that reads the input.")
]
KindOpt = Annotated[
    str, typer.Option("--kind", help="Record kind of .json payloads (sale, price...).")
]


def _print_plain(text: str) -> None:
    """A line on stdout, verbatim (paths like ``webshop[0]`` are not rich markup)."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _mapping_plan(path: Path | None, exit_code: int) -> Any:
    """The compiled plan of ``path`` (an empty mapping if None); on problems, prints each as
    ``file:line:col: message`` and exits with ``exit_code``."""
    from bridge.mapping.loader import load_plan
    from bridge.mapping.plan import MappingPlan
    from bridge.mapping.spec import MappingSpec

    if path is None:
        return MappingPlan.compile(MappingSpec())
    try:
        return load_plan(path)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(exit_code) from None


def _inputs(inputs: list[Path] | None, more: list[Path] | None) -> list[Path]:
    found = [*(inputs or ()), *(more or ())]
    if not found:
        _error("give at least one input: --input FILE")
        raise typer.Exit(2)
    return found


def _previews(
    plan: Any, settings: Settings, connection: str, inputs: list[Path], kind: str
) -> list[Any]:
    """Every input's preview records; an unknown connection or an unreadable input exits 2."""
    from bridge.mapping.preview import build_connector, preview

    try:
        connector = build_connector(settings, connection)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    records: list[Any] = []
    try:
        for path in inputs:
            records += preview(plan, settings, connection, path, kind=kind, connector=connector)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    except OSError as exc:
        _error(f"{exc.filename or ''}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    finally:
        connector.close()
    return records


@mapping_app.command("validate")
def mapping_validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Mapping files (default: the mapping of the settings)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Check mapping files; prints file:line:col for every problem, exits 1 on any."""
    from bridge.mapping.loader import load_plan

    if not files:
        settings = _settings(config)
        if settings.mapping is None:
            _error(f"{settings.source}: no mapping is configured; give the mapping file(s)")
            raise typer.Exit(2)
        files = [settings.mapping]
    bad = 0
    for path in files:
        try:
            plan = load_plan(path)
            out.print(f"{path}: ok (version {plan.version})", markup=False, highlight=False)
        except ConfigError as exc:
            bad += 1
            _error(str(exc))
    if bad:
        raise typer.Exit(1)


@mapping_app.command("schema")
def mapping_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of mapping files, for editors (yaml-language-server, VS Code).

    Then, at the top of a mapping: # yaml-language-server: $schema=<path to the schema>
    """
    from bridge.mapping.schema import mapping_json_schema

    text = json.dumps(mapping_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"wrote {output}", markup=False, highlight=False, soft_wrap=True)


@mapping_app.command("preview")
def mapping_preview(
    connection: PreviewConnectionOpt,
    more: MoreInputs = None,
    inputs: InputsOpt = None,
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
    kind: KindOpt = "sale",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per record.")] = False,
) -> None:
    """Show what the mapping makes of each input record and what would be sent to each shop.

    Writes nothing (no database, no network). Exits 1 if a record has an error (it would be
    dead-lettered), 2 if the settings, the mapping or an input cannot be read.
    """
    logs.configure("WARNING")  # stdout carries the preview only
    files = _inputs(inputs, more)
    settings = _settings(config)
    plan = _mapping_plan(mapping or settings.mapping, 2)
    records = _previews(plan, settings, connection, files, kind)
    if as_json:
        for record in records:
            print(json.dumps(record.as_json(), ensure_ascii=False))
    else:
        _show_previews(records)
    if any(r.error for r in records):
        raise typer.Exit(1)


def _show_previews(records: list[Any]) -> None:
    from rich.json import JSON
    from rich.text import Text

    def cell(value: Any) -> Any:
        if value is None:
            return Text("-", style="dim")
        rendered = JSON.from_data(value, indent=1, ensure_ascii=False)
        rendered.text.no_wrap, rendered.text.overflow = False, "fold"  # long ids stay whole
        return rendered

    for record in records:
        table = Table(
            "native",
            "canonical",
            "outbound (per shop)",
            title=Text(f"{record.key}  ({record.source})"),
            title_justify="left",
            expand=True,
        )
        table.add_row(cell(record.native), cell(record.canonical), cell(record.outbound or None))
        out.print(table)
        if record.error:
            _error(f"{record.key}: {record.error}")
        for note in record.notes:
            out.print(Text(f"note: {note}", style="dim"))
    failed = sum(1 for r in records if r.error)
    _print_plain(f"{len(records)} record(s), {failed} with an error")


@mapping_app.command("diff")
def mapping_diff(
    old: Annotated[Path, typer.Argument(help="The mapping in use.")],
    new: Annotated[Path, typer.Argument(help="The changed mapping.")],
    connection: PreviewConnectionOpt,
    more: MoreInputs = None,
    inputs: InputsOpt = None,
    config: ConfigOpt = None,
    kind: KindOpt = "sale",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per changed record.")
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when any record changes (for CI).")
    ] = False,
) -> None:
    """Preview the inputs with OLD and NEW and show what the change would change.

    Lists, per record, each path whose value differs in the canonical record, what is sent
    or the error. Exits 2 if OLD or NEW is invalid (with file:line:col for each problem).
    """
    from bridge.mapping.preview import diff

    logs.configure("WARNING")
    files = _inputs(inputs, more)
    settings = _settings(config)
    plans = []
    for path in (old, new):  # both are checked, then a problem in either exits 2
        try:
            plans.append(_mapping_plan(path, 2))
        except typer.Exit:
            plans.append(None)
    if None in plans:
        raise typer.Exit(2)
    before = _previews(plans[0], settings, connection, files, kind)
    after = _previews(plans[1], settings, connection, files, kind)
    results = diff(before, after)
    changed = [r for r in results if r.changes]
    for result in changed:
        if as_json:
            print(json.dumps(result.as_json(), ensure_ascii=False))
            continue
        _print_plain(f"{result.key} ({result.source})")
        for change in result.changes:
            _print_plain(f"  {change}")
    summary = f"{len(changed)} of {len(results)} records change{'s' if len(changed) == 1 else ''}"
    if as_json:
        err.print(summary, markup=False, highlight=False, soft_wrap=True)
    else:
        _print_plain(summary)
    if exit_code and changed:
        raise typer.Exit(1)


@sandbox_app.command("shopify")
def sandbox_shopify(
    port: int = 8765,
    seed: Path | None = None,
    access_token: str = "sandbox-token",  # noqa: S107 - test double
    host: str = "127.0.0.1",
) -> None:
    """Serve a local Shopify-compatible TEST DOUBLE (GraphQL subset + cost throttle)."""
    from connectors.shopify.sandbox import serve

    serve(host=host, port=port, seed_path=seed, access_token=access_token)


@app.command("new-connector")
def new_connector(
    name: Annotated[str, typer.Argument(help="Connector name: a lowercase identifier (mytill).")],
    kind: Annotated[
        str, typer.Option("--kind", help="pos (reads sales) or shop (stock out, orders in).")
    ],
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder in which to create brique-NAME/.")
    ] = Path(),
) -> None:
    """Scaffold brique-NAME/, a connector plugin package that passes the contract kit as made.

    Exits 2 if NAME is not a lowercase identifier or is an installed connector's, if the
    kind is neither pos nor shop, or if the folder exists. Writes nothing then.
    """
    from bridge.scaffold import ScaffoldError, scaffold

    try:
        target, files = scaffold(name, kind, directory)
    except ScaffoldError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    _print_plain(f"created {target}/ ({kind} connector {name!r}):")
    for file in files:
        _print_plain(f"  {file}")
    _print_plain(
        f"next:\n  cd {target}\n  pip install -e '.[test]'\n"
        "  pytest                     # the contract kit: passes as generated\n"
        f"  brique connectors list     # lists {name}\n"
        '  grep -rn "TODO(integrator)" .   # what to adapt to the real API'
    )


@journal_app.command("export")
def journal_export(
    start: Annotated[
        str,
        typer.Option("--from", help="First day (2026-11-01) or instant (ISO 8601), included."),
    ],
    end: Annotated[
        str, typer.Option("--to", help="Day (2026-12-01) or instant (ISO 8601), excluded.")
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write, or - for stdout (CSV only).")
    ],
    store: Annotated[
        str | None, typer.Option("--store", help="Brique location code (PARIS-01).")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="store or web.")] = None,
    connection: Annotated[
        str | None, typer.Option("--connection", help="Only this connection's sales.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    tz: Annotated[
        str,
        typer.Option("--tz", help="Time zone of dates without offset (Europe/Paris)."),
    ] = "UTC",
    config: ConfigOpt = None,
) -> None:
    """Export the sales journal, one row per sale line, for [--from, --to).

    Every channel, returns and cancelled tickets included (with their status). A ticket
    without occurred_at is placed at the time Brique recorded it (occurred_at_source).
    Exits 2 on a bad date, filter or format, 1 if the export fails; a summary goes to stderr.
    """
    from bridge.journal import export

    try:
        query = export.make_query(
            start, end, store=store, channel=channel, connection=connection, tz=tz
        )
        if fmt not in export.FORMATS:
            raise ValueError(f"--format must be one of {', '.join(export.FORMATS)}, not {fmt!r}")
        if fmt == "parquet" and output == "-":
            raise ValueError("Parquet needs a file: give --output FILE")
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    rt = _runtime(config, strict_mapping=False)
    try:
        if output == "-":
            summary = export.Summary()
            # Bytes, so the CSV's CRLF and UTF-8 reach the pipe whatever the platform and locale.
            sys.stdout.flush()
            for chunk in export.csv_chunks(export.records(rt.sessions, query, summary)):
                sys.stdout.buffer.write(chunk.encode("utf-8"))
            sys.stdout.buffer.flush()
        else:
            summary = export.export_to_path(rt.sessions, query, Path(output), fmt)
    except ConfigError as exc:
        _error(f"configuration error\n{exc}")
        raise typer.Exit(2) from None
    except (BriqueError, OSError) as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    finally:
        rt.close()
    placed = (
        f", {summary.from_recorded_at} placed at recorded_at (no occurred_at)"
        if summary.from_recorded_at
        else ""
    )
    where = "stdout" if output == "-" else output
    err.print(
        f"journal: {summary.tickets} ticket(s), {summary.lines} line(s){placed} -> {where}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


# --- customers --------------------------------------------------------------------------------
# Exit codes: 2 for an id that does not exist or a bad option, 1 for a request the current
# state refuses (an undo a later merge depends on, a review already resolved), with the reason.


def _customers_rt(config: Path | None):
    return _runtime(config, strict_mapping=False)


def _identity_call(rt: Any, write: bool, fn: Any, *args: Any, **kw: Any) -> Any:
    """Run ``fn(session, ...)`` in a transaction (or a read session) and map its errors."""
    from bridge.customers import IdentityError
    from bridge.customers.views import NotFound

    try:
        if write:
            with rt.transaction() as s:
                return fn(s, *args, **kw)
        with rt.sessions() as s:
            return fn(s, *args, **kw)
    except NotFound as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    except IdentityError as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    finally:
        rt.close()


def _print_golden(data: dict[str, Any]) -> None:
    best = ", ".join(f"{k} {v}" for k, v in data["best"].items() if v is not None)
    out.print(f"golden record {data['id']}: {best or '-'}", markup=False, highlight=False)
    keys = ", ".join(f"{k['kind']} {k['value']}" for k in data["keys"])
    out.print(f"keys: {keys or '-'}", markup=False, highlight=False)
    if data["merged"]:
        out.print(f"merged into it: {', '.join(map(str, data['merged']))}")
    table = Table("record", "source", "source id", "observed", "card", "e-mail", "phone", "notes")
    for r in data["records"]:
        table.add_row(
            str(r["id"]), r["source"], r["source_id"], r["observed_at"] or "-",
            r["loyalty_card"] or "-", r["email"] or "-", r["phone"] or "-",
            "; ".join(r["notes"]) or "-",
        )  # fmt: skip
    out.print(table)


@customers_app.command("show")
def customers_show(customer_id: int, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show a golden record: best values, keys, observed records. A merged id shows the
    record it was merged into. Exits 2 if there is no such id."""
    from bridge.customers.views import golden_json, show

    rt = _customers_rt(config)
    data = golden_json(_identity_call(rt, False, show, customer_id))
    if as_json:
        print(json.dumps(data, indent=2))
        return
    if data["id"] != customer_id:
        err.print(f"golden record {customer_id} was merged into {data['id']}")
    _print_golden(data)


@customers_app.command("find")
def customers_find(
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="Phone number.")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region of a national phone number (FR).")
    ] = None,
    card: Annotated[str | None, typer.Option("--card", help="Loyalty card number.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find golden records by one key, normalised as observations are (--email, --phone
    [--region FR] or --card). Exits 2 without exactly one key or on an invalid one."""
    from bridge.customers.views import find, golden_json

    rt = _customers_rt(config)
    found = _identity_call(rt, False, find, email=email, phone=phone, card=card, region=region)
    data = [golden_json(view) for view in found]
    if as_json:
        print(json.dumps(data, indent=2))
        return
    if not data:
        err.print("no customer found")
    for item in data:
        _print_golden(item)


@customers_app.command("reviews")
def customers_reviews(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Open weak matches (same name and postcode) waiting for a decision, oldest first."""
    from bridge.customers import open_reviews
    from bridge.customers.views import review_json

    rt = _customers_rt(config)
    data = [review_json(r) for r in _identity_call(rt, False, open_reviews)]
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table("review", "record", "golden record", "candidate", "reason", "opened")
    for r in data:
        table.add_row(
            str(r["id"]), f"{r['source']}/{r['source_id']}", str(r["golden_id"]),
            str(r["candidate_id"]), r["reason"], r["created_at"],
        )  # fmt: skip
    out.print(table)


@customers_app.command("review")
def customers_review(
    review_id: int,
    accept: Annotated[bool, typer.Option("--accept", help="Same person: merge.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Not the same person.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Resolve an open review: --accept merges both golden records, --reject closes it.
    Exits 2 for an unknown id or not exactly one of --accept/--reject, 1 if not open."""
    from bridge.customers.views import review

    if accept == reject:
        _error("give exactly one of --accept or --reject")
        raise typer.Exit(2)
    rt = _customers_rt(config)
    merge_id = _identity_call(rt, True, review, review_id, accept)
    if not accept:
        out.print(f"review {review_id} rejected")
    elif merge_id is None:
        out.print(f"review {review_id} accepted: already one golden record")
    else:
        out.print(f"review {review_id} accepted: merge {merge_id}")


@customers_app.command("merge")
def customers_merge(
    winner: int,
    loser: int,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the merge journal).")],
    config: ConfigOpt = None,
) -> None:
    """Merge golden record LOSER into WINNER by hand (undo it with `customers undo`).
    Exits 2 for an unknown id, 1 if a record was merged already."""
    from bridge.customers.views import merge_ids

    if not reason.strip():
        _error("--reason must not be blank")
        raise typer.Exit(2)
    if winner == loser:
        _error(f"cannot merge golden record {winner} into itself")
        raise typer.Exit(2)
    rt = _customers_rt(config)
    merge_id = _identity_call(rt, True, merge_ids, winner, loser, reason.strip())
    out.print(f"merge {merge_id}: golden record {loser} merged into {winner}")


@customers_app.command("undo")
def customers_undo(
    merge_id: int,
    cascade: Annotated[
        bool, typer.Option("--cascade", help="Undo the later merges depending on it first.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Undo a merge exactly. Refused (exit 1, with the merges to undo first) while a later
    merge moved its winner elsewhere, unless --cascade. Exits 2 for an unknown id."""
    from bridge.customers.views import undo_merge

    rt = _customers_rt(config)
    done = _identity_call(rt, True, undo_merge, merge_id, cascade)
    out.print(f"undone: merge(s) {', '.join(map(str, done))}")


# Shared with the topic modules of ``workers.commands`` (imported last: they import this one).
runtime = _runtime
dispatching_runtime = _celery_dispatch_runtime
"""A runtime whose follow-ups go to the workers (through the broker)."""
error = _error

from workers.commands import register_all  # noqa: E402

register_all(
    app,
    {
        "db": db_app,
        "connectors": connectors_app,
        "deadletters": dead_app,
        "stock": stock_app,
        "prices": prices_app,
        "mapping": mapping_app,
        "journal": journal_app,
        "customers": customers_app,
    },
)

if __name__ == "__main__":
    app()

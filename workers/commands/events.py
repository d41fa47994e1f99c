"""``brique events``: business events, their deliveries to subscribers, redelivery."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from bridge.errors import ConfigError
from workers.options import ConfigOpt, JsonOpt


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    from workers import cli

    events = typer.Typer(help="Business events and their signed deliveries to subscribers.")
    app.add_typer(events, name="events")

    @events.command("list")
    def listing(
        topic: Annotated[str | None, typer.Option(help="A topic or prefix* (basket.*).")] = None,
        subject: Annotated[str | None, typer.Option(help="e.g. basket/K7M4-QXZ3")] = None,
        after: Annotated[int, typer.Option(help="Only ids after this one.")] = 0,
        limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Events oldest first, with each subscriber's delivery status."""
        from bridge.events import views

        rt = cli.runtime(config, strict_mapping=False)
        try:
            with rt.sessions() as s:
                found = views.listing(s, topic=topic, subject=subject, after=after, limit=limit)
        finally:
            rt.close()
        if as_json:
            print(json.dumps(found, indent=2))
            return
        table = Table("id", "at", "topic", "subject", "deliveries")
        for e in found:
            sent = ", ".join(
                f"{d['subscriber']}: {d['status']} ({d['attempts']})" for d in e["deliveries"]
            )
            table.add_row(str(e["id"]), e["occurred_at"], e["topic"], e["subject"], sent or "-")
        cli.out.print(table)

    @events.command("show")
    def show(event_id: int, config: ConfigOpt = None) -> None:
        """One event as JSON, with every delivery and attempt."""
        from bridge.events import views

        rt = cli.runtime(config, strict_mapping=False)
        try:
            with rt.sessions() as s:
                found = views.one(s, event_id)
        finally:
            rt.close()
        if found is None:
            cli.error(f"no event {event_id}")
            raise typer.Exit(2)
        print(json.dumps(found, indent=2))

    @events.command("redeliver")
    def redeliver(delivery_id: int, config: ConfigOpt = None) -> None:
        """Send a delivery again (a new round of attempts), by the workers."""
        from bridge.events import delivery

        rt = cli.dispatching_runtime(config)
        try:
            cli.out.print(delivery.redeliver(rt, delivery_id), markup=False)
        except ConfigError as exc:
            cli.error(str(exc))
            raise typer.Exit(2) from None
        finally:
            rt.close()

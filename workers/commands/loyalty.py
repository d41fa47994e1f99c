"""``brique loyalty``: a customer's points balance, its history, and manual adjustments.

Exit codes as ``brique customers``: 2 for an id that does not exist or a bad argument, 1 for
a request the ledger refuses (an adjustment key reused for other points), with the reason.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.table import Table

from workers import cli

loyalty_app = typer.Typer(help="Loyalty points: one balance per customer across channels.")


def _call(write: bool, fn: Any, *args: Any, config: Any = None, with_runtime: bool = False) -> Any:
    """Run ``fn(session, ...)`` (``fn(rt, session, ...)``) and map ledger errors to exit
    codes."""
    from bridge.loyalty.ledger import LoyaltyError, UnknownCustomer

    rt = cli.runtime(config, strict_mapping=False)
    lead = (rt,) if with_runtime else ()
    try:
        if write:
            with rt.transaction() as s:
                return fn(*lead, s, *args)
        with rt.sessions() as s:
            return fn(*lead, s, *args)
    except UnknownCustomer as exc:
        cli.error(str(exc))
        raise typer.Exit(2) from None
    except LoyaltyError as exc:
        cli.error(str(exc))
        raise typer.Exit(1) from None
    finally:
        rt.close()


def _merged_note(data: dict[str, Any]) -> None:
    if data["golden_id"] != data["customer_id"]:
        cli.err.print(f"customer {data['customer_id']} was merged into {data['golden_id']}")


@loyalty_app.command("show")
def loyalty_show(
    customer_id: int, config: cli.ConfigOpt = None, as_json: cli.JsonOpt = False
) -> None:
    """A customer's balance, totals per kind (earn, redeem, return, adjust) and what each
    connection was last sent. A merged id shows the record it was merged into."""
    from bridge.loyalty.views import show_json

    data = _call(False, show_json, customer_id, config=config)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    _merged_note(data)
    cli.out.print(f"customer {data['golden_id']}: {data['balance']} points", highlight=False)
    totals = ", ".join(f"{kind} {value}" for kind, value in data["totals"].items())
    cli.out.print(f"{data['entries']} entries: {totals or '-'}", highlight=False)
    if data["accounts"]:
        table = Table("connection", "account", "sent", "at")
        for a in data["accounts"]:
            table.add_row(a["connection"], a["external_id"], a["balance"], a["published_at"])
        cli.out.print(table)
    pending = [p["connection"] for p in data["publications"] if p["pending"]]
    if pending:
        cli.out.print(f"push pending to: {', '.join(pending)}", highlight=False)


@loyalty_app.command("history")
def loyalty_history(
    customer_id: int, config: cli.ConfigOpt = None, as_json: cli.JsonOpt = False
) -> None:
    """Every entry of a customer's balance, oldest first, with the running balance."""
    from bridge.loyalty.views import history_json

    data = _call(False, history_json, customer_id, config=config)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    _merged_note(data)
    table = Table("entry", "kind", "points", "balance", "where", "reason")
    for e in data["entries"]:
        where = "/".join(p for p in (e["connection"], e["ticket"], e["line"]) if p) or "-"
        table.add_row(
            str(e["id"]), f"{e['kind']} ({e['origin']})", e["points"], e["balance"], where,
            e["reason"] or "-",
        )  # fmt: skip
    cli.out.print(table)


# A negative number of points (-4) is an argument, not an unknown option.
@loyalty_app.command("adjust", context_settings={"ignore_unknown_options": True})
def loyalty_adjust(
    customer_id: int,
    points: Annotated[str, typer.Argument(help="Points to add (negative to take away).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the ledger).")],
    key: Annotated[
        str,
        typer.Option(
            "--key", help="Idempotency key: the same key again changes nothing (e.g. a ticket)."
        ),
    ],
    config: cli.ConfigOpt = None,
) -> None:
    """Add or take away points by hand, once per --key. The balance is pushed to the
    connections under loyalty.publish by the next push (the sweeper queues it). Exits 2 for
    an unknown id or bad points, 1 when the key was used for another adjustment."""
    from bridge.loyalty.ledger import adjust
    from bridge.loyalty.push import mark, publish_targets

    try:
        amount = Decimal(points.strip())
    except InvalidOperation:
        cli.error(f"points {points!r} is not a number")
        raise typer.Exit(2) from None
    if not amount.is_finite():
        cli.error(f"points {points!r} is not a number")
        raise typer.Exit(2)
    if not reason.strip() or not key.strip():
        cli.error("--reason and --key must not be blank")
        raise typer.Exit(2)

    def run(rt: Any, s: Any) -> Any:
        done = adjust(s, customer_id, amount, reason, key)
        if done.created:
            mark(s, publish_targets(rt), [done.golden_id], f"Adjust/{key.strip()}")
        return done

    done = _call(True, run, config=config, with_runtime=True)
    if done.created:
        cli.out.print(f"adjustment {done.entry_id}: {amount} points on customer {done.golden_id}")
    else:
        cli.out.print(f"adjustment {done.entry_id} was already recorded (key {key!r})")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(loyalty_app, name="loyalty")
    groups["loyalty"] = loyalty_app

"""``brique baskets``: build, find, hand over and follow baskets across channels."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bridge.errors import ConfigError, DataError
from workers.options import ConfigOpt, JsonOpt


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    from workers import cli

    baskets = typer.Typer(help="Baskets across channels: codes, handoffs, QR, journal.")
    app.add_typer(baskets, name="baskets")

    def call(fn: Any, *args: Any, **kw: Any) -> Any:
        from bridge.baskets.codes import CodeError
        from bridge.baskets.service import NotFound

        try:
            return fn(*args, **kw)
        except (CodeError, NotFound) as exc:
            cli.error(str(exc))
            raise typer.Exit(2) from None
        except (DataError, ConfigError) as exc:
            cli.error(str(exc))
            raise typer.Exit(1) from None

    @baskets.command("show")
    def show(
        code: str,
        store: Annotated[
            str | None, typer.Option(help="Re-price and stock-check at this store.")
        ] = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """A basket by code: lines, handoffs, journal; with --store, the till's view."""
        from bridge.baskets import flows

        rt = cli.runtime(config, strict_mapping=False)
        try:
            view = call(flows.show, rt, code, store)
        finally:
            rt.close()
        if as_json:
            print(json.dumps(view, indent=2))
            return
        _print_basket(cli, view)

    @baskets.command("create")
    def create(
        line: Annotated[
            list[str], typer.Option("--line", "-l", help="SKU=QUANTITY[@PRICE], repeatable.")
        ],
        store: Annotated[str | None, typer.Option(help="Brique location code.")] = None,
        email: Annotated[str | None, typer.Option(help="The customer's e-mail.")] = None,
        card: Annotated[str | None, typer.Option(help="The customer's loyalty card.")] = None,
        kind: Annotated[str, typer.Option(help="active, wish_list or quote.")] = "active",
        request_id: Annotated[
            str | None, typer.Option(help="Your id: repeating it returns the same basket.")
        ] = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Build a basket (showroom scans, a quote) and print its code."""
        from bridge.baskets import flows
        from bridge.model import BasketLine, CustomerRef

        rt = cli.dispatching_runtime(config)
        try:
            currency = rt.mapping.plan.prices.currency
            lines = [_line(cli, text, currency) for text in line]
            customer = CustomerRef(email=email, loyalty_card=card) if email or card else None
            view = call(
                flows.build, rt, lines=[BasketLine.model_validate(ln) for ln in lines],
                store=store, customer=customer, kind=kind, request_id=request_id,
            )  # fmt: skip
        finally:
            rt.close()
        if as_json:
            print(json.dumps(view, indent=2))
            return
        cli.out.print(f"basket {view['code']} ({view['status']})", markup=False)

    @baskets.command("handoff")
    def handoff(
        code: str,
        to: Annotated[str, typer.Option("--to", help="Connection to open it on.")],
        store: Annotated[str | None, typer.Option(help="Brique location code (a till).")] = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Open a basket on a till (draft sale) or a shop (cart + checkout link); the
        workers send it, `brique baskets show CODE` then shows the id and link."""
        from bridge.baskets import flows

        rt = cli.dispatching_runtime(config)
        try:
            view = call(flows.handoff, rt, code, to, store)
        finally:
            rt.close()
        if as_json:
            print(json.dumps(view, indent=2))
            return
        handed = next((h for h in view["handoffs"] if h["connection"] == to), None)
        state = handed["status"] if handed else "?"
        cli.out.print(f"basket {view['code']} -> {to}: {state}", markup=False)

    @baskets.command("qr")
    def qr_code(
        code: str,
        output: Annotated[Path, typer.Option("--output", "-o", help="A .png or .svg file.")],
        config: ConfigOpt = None,
    ) -> None:
        """Write the basket's QR code (its checkout link once open on a shop, else its code)."""
        from bridge.baskets import flows, qr

        kind = output.suffix.lower().lstrip(".")
        if kind not in ("png", "svg"):
            cli.error(f"{output}: the QR code is written as .png or .svg")
            raise typer.Exit(2)
        rt = cli.runtime(config, strict_mapping=False)
        try:
            content = call(flows.qr_content, rt, code)
        finally:
            rt.close()
        data, _ = qr.render(content, kind)
        output.write_bytes(data)
        cli.out.print(f"{output}: {content}", markup=False)

    @baskets.command("customer")
    def customer(
        customer_id: int,
        abandoned: Annotated[bool, typer.Option(help="Only abandoned web carts.")] = False,
        actionable: Annotated[
            bool, typer.Option(help="Only abandoned carts a reminder may go to.")
        ] = False,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """A customer's baskets (or abandoned carts, with whether to remind)."""
        from bridge.baskets import flows

        rt = cli.runtime(config, strict_mapping=False)
        try:
            if abandoned or actionable:
                found = flows.abandoned_carts(rt, customer_id, only_actionable=actionable)
            else:
                found = flows.customer_baskets(rt, customer_id)
        finally:
            rt.close()
        if as_json:
            print(json.dumps(found, indent=2))
            return
        table = Table("code", "channel", "status", "lines", "actionable", "bought in store")
        for b in found:
            table.add_row(
                b["code"], b["channel"], b["status"], str(len(b["lines"])),
                str(b.get("actionable", "-")), b["bought_in_store_ref"] or "-",
            )  # fmt: skip
        cli.out.print(table)


def _line(cli: Any, text: str, currency: str | None) -> dict[str, Any]:
    sku, _, rest = text.partition("=")
    quantity, _, price = rest.partition("@")
    try:
        qty = Decimal(quantity or "1")
        amount = Decimal(price) if price else None
    except InvalidOperation:
        cli.error(f"--line {text!r}: expected SKU=QUANTITY[@PRICE]")
        raise typer.Exit(2) from None
    if not sku:
        cli.error(f"--line {text!r}: no SKU")
        raise typer.Exit(2)
    unit = None
    if amount is not None:
        if currency is None:
            cli.error("a price needs prices.currency in the mapping")
            raise typer.Exit(2)
        unit = {"amount": amount, "currency": currency}
    return {"sku": sku, "quantity": qty, "unit_price": unit}


def _print_basket(cli: Any, view: dict[str, Any]) -> None:
    out = cli.out
    out.print(
        f"basket {view['code']}: {view['status']} ({view['channel']}, {view['currency']})",
        markup=False,
    )
    if view.get("url"):
        out.print(f"link: {view['url']}", markup=False)
    lines = Table("sku", "quantity", "unit price")
    for ln in view["lines"]:
        price = ln["unit_price"]
        lines.add_row(ln["sku"], ln["quantity"], price["amount"] if price else "-")
    out.print(lines)
    if "at_store" in view:
        at = view["at_store"]
        table = Table("sku", "qty", "basket", "store", "available", "notes")
        for ln in at["lines"]:
            table.add_row(
                ln["sku"], ln["quantity"],
                (ln["basket_price"] or {}).get("amount", "-"),
                (ln["store_price"] or {}).get("amount", "-"),
                ln["available"], "; ".join(ln["notes"]) or "-",
            )  # fmt: skip
        out.print(f"at {at['store']}: {at['differences']} difference(s)", markup=False)
        out.print(table)
    for h in view["handoffs"]:
        out.print(
            f"handoff {h['connection']}: {h['status']} {h['id'] or ''} {h['url'] or ''}".rstrip(),
            markup=False,
        )
    journal = Table("at", "event", "status")
    for e in view["journal"]:
        journal.add_row(e["at"], e["event"], e["status"])
    out.print(journal)

"""A compiled mapping: dict look-ups, stock and price policies and field-rule closures, built
once per file and used on every record."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, DataError
from bridge.mapping.codegen import Shape
from bridge.mapping.functions import BindContext, bind
from bridge.mapping.pricing import ChannelPrice, ChannelRules, PriceBook
from bridge.mapping.rules import CompileProblem, Loc, RecordMapper, RuleCompiler
from bridge.mapping.spec import MappingSpec
from bridge.mapping.stockpolicy import Rule, StockPolicy
from bridge.mapping.tables import load_table
from bridge.yamlio import LocatedError

DIRECTIONS = ("inbound", "outbound")

SHAPES = {
    # A channel price (``ChannelPrice``) as its outbound rules read it.
    "price": Shape(
        params=("cp",),
        paths={
            ("sku",): "cp[0]",
            ("price", "amount"): "cp[1]",
            ("price", "currency"): "cp[3]",
            ("compare_at", "amount"): "cp[2]",
            ("compare_at", "currency"): "(cp[3] if cp[2] is not None else None)",
            ("tax_included",): "cp[4]",
            ("price_list",): "cp[5]",
        },
        record="cp.as_record()",
    ),
    # One stock item a shop is told: SKU, Brique location, platform location, quantity.
    "stock": Shape(
        params=("sku", "location", "target", "quantity"),
        paths={(name,): name for name in ("sku", "location", "target", "quantity")},
        record="{'sku': sku, 'location': location, 'target': target, 'quantity': quantity}",
    ),
}


class MappingCompileError(ConfigError):
    """Problems found while compiling a valid-looking spec (bad function, table, path)."""

    def __init__(self, problems: list[CompileProblem]) -> None:
        self.problems = problems
        super().__init__(
            "\n".join(f"{'.'.join(map(str, loc)) or '(top level)'}: {m}" for loc, m, _ in problems)
        )


@dataclass(frozen=True)
class MappingPlan:
    version: str
    """SHA-256 prefix of the mapping file: recorded on every ledger and outbox row."""
    source: str = "<empty>"
    inputs: tuple[Path, ...] = ()
    """CSV files the plan was compiled from, besides the mapping file itself."""
    spec: MappingSpec = field(default_factory=MappingSpec)
    _loc_in: dict[tuple[str, str], str] = field(default_factory=dict)
    _loc_out: dict[tuple[str, str], str] = field(default_factory=dict)
    _sku_in: dict[tuple[str, str], str] = field(default_factory=dict)
    _sku_out: dict[tuple[str, str], str] = field(default_factory=dict)
    stock: StockPolicy = field(default_factory=StockPolicy)
    prices: PriceBook = field(default_factory=PriceBook)
    tenders: dict[str, dict[str, str]] = field(default_factory=dict)
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    tax_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    mappers: dict[tuple[str, str, str], RecordMapper] = field(default_factory=dict)
    """(connection, kind, direction) -> compiled field rules."""
    _targets: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def compile(
        cls,
        spec: MappingSpec,
        raw: bytes = b"",
        source: str = "<memory>",
        base_dir: Path | None = None,
    ) -> MappingPlan:
        """Compile ``spec``; raises ``MappingCompileError`` listing every problem found."""
        return _Compiler(spec, base_dir or Path(".")).plan(raw, source)

    # -- locations and SKUs -------------------------------------------------------------

    def location_in(self, connection: str, native: str) -> str:
        """Brique location code for a connection's store id; unknown -> DataError."""
        try:
            return self._loc_in[(connection, native)]
        except KeyError:
            raise DataError(
                f"{connection} location {native!r} is not mapped: add it under "
                f"'locations' (ids: {{{connection}: '{native}'}}) in {self.source}"
            ) from None

    def location_out(self, connection: str, code: str) -> str | None:
        """The connection's id for a Brique location or pool, or None if it does not carry it."""
        return self._loc_out.get((connection, code))

    def targets(self, connection: str) -> Mapping[str, str]:
        """Brique location or pool -> ``connection``'s id for it: ``location_out`` for a
        whole batch, as one dict."""
        found = self._targets.get(connection)
        if found is None:
            found = {loc: ext for (conn, loc), ext in self._loc_out.items() if conn == connection}
            self._targets[connection] = found
        return found

    def connections_for_location(self, code: str) -> list[str]:
        return [conn for (conn, loc) in self._loc_out if loc == code]

    def published_locations(self, connection: str, location: str) -> list[str]:
        """The locations (the store itself, pools it belongs to) that ``connection`` carries
        and whose published stock a change at ``location`` moves."""
        found = [location] if (connection, location) in self._loc_out else []
        found += [p for p in self.stock.pools_of(location) if (connection, p) in self._loc_out]
        return found

    def sku_in(self, connection: str, native: str) -> str:
        return self._sku_in.get((connection, native), native)

    def sku_out(self, connection: str, sku: str) -> str:
        return self._sku_out.get((connection, sku), sku)

    # -- stock ----------------------------------------------------------------------------

    def safety_buffer(self, code: str) -> Decimal:
        """The location's own buffer (category and SKU rules may override it per SKU)."""
        return self.stock.rule("", code).buffer if code else Decimal(0)

    # -- inbound codes --------------------------------------------------------------------

    def tender_in(self, connection: str, native: str) -> str:
        return self.tenders.get(connection, {}).get(native, native)

    def unit_in(self, connection: str, native: str) -> str:
        return self.units.get(connection, {}).get(native, native)

    # -- prices ---------------------------------------------------------------------------

    def channel_price(
        self, connection: str, sku: str, prices: Mapping[str, Decimal]
    ) -> ChannelPrice | None:
        return self.prices.channel_price(connection, sku, prices)

    # -- field rules ----------------------------------------------------------------------

    def mapper(self, connection: str, kind: str, direction: str) -> RecordMapper | None:
        return self.mappers.get((connection, kind, direction))

    def inbound(self, connection: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The native payload with the connection's inbound rules applied (or as is)."""
        mapper = self.mappers.get((connection, kind, "inbound"))
        return payload if mapper is None else mapper.overlay(payload)

    def price_fields(self, connection: str) -> Callable[[ChannelPrice], dict[str, Any]] | None:
        """``fields(channel_price)``: the native price fields of ``connection``'s outbound
        rules, or None when it declares none (the connector then sends the price as is)."""
        mapper = self.mappers.get((connection, "price", "outbound"))
        if mapper is None:
            return None
        return mapper.typed or (lambda cp: mapper.build(cp.as_record()))

    def stock_fields(self, connection: str) -> Callable[..., dict[str, Any]] | None:
        """``fields(sku, location, target, quantity)``: the native stock fields of
        ``connection``'s outbound rules, or None when it declares none."""
        mapper = self.mappers.get((connection, "stock", "outbound"))
        if mapper is None:
            return None
        if mapper.typed is not None:
            return mapper.typed
        return lambda sku, location, target, quantity: mapper.build(
            {"sku": sku, "location": location, "target": target, "quantity": quantity}
        )

    def builder(self, connection: str, kind: str) -> Callable[..., dict[str, Any]] | None:
        """The outbound build function of one connection and kind, to call once per record
        in a batch (``build(record, created=False)``); None when no rules are declared."""
        mapper = self.mappers.get((connection, kind, "outbound"))
        if mapper is None:
            return None
        return mapper.fast or mapper.build

    def outbound(
        self, connection: str, kind: str, record: Any, *, created: bool = False
    ) -> dict[str, Any] | None:
        """The native fields for a canonical record, or None when no rules are declared."""
        mapper = self.mappers.get((connection, kind, "outbound"))
        return None if mapper is None else mapper.build(record, created=created)


class _Compiler:
    def __init__(self, spec: MappingSpec, base_dir: Path) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.problems: list[CompileProblem] = []
        self.files: list[Path] = []
        """CSV files read: the plan is stale when one of them changes."""

    def _table(self, table: Any, at: Loc) -> dict[str, str]:
        try:
            return load_table(table, self.base_dir, ".".join(map(str, at)), self.files)
        except LocatedError as exc:
            self.problems.append(((*at, *exc.at), str(exc), exc.on_key))
            return {}

    def plan(self, raw: bytes, source: str) -> MappingPlan:
        spec = self.spec
        loc_in, loc_out, buffers = {}, {}, {}
        for loc in spec.locations:
            buffers[loc.code] = loc.safety_buffer
            for conn, ext in loc.ids.items():
                loc_in[(conn, ext)] = loc.code
                loc_out[(conn, loc.code)] = ext
        for pool in spec.stock.pools:
            for conn, ext in pool.ids.items():
                loc_in[(conn, ext)] = pool.code
                loc_out[(conn, pool.code)] = ext
        sku_in, sku_out = {}, {}
        crosswalks = {
            conn: self._table(t, ("products", "crosswalk", conn))
            for conn, t in spec.products.crosswalk.items()
        }
        for conn, table in spec.skus.items():
            crosswalks.setdefault(conn, {}).update(table)
        for conn, table in crosswalks.items():
            for native, sku in table.items():
                sku_in[(conn, native)] = sku
                sku_out.setdefault((conn, sku), native)
        category_of = self._table(spec.products.categories, ("products", "categories"))
        tables = {name: self._table(t, ("tables", name)) for name, t in spec.tables.items()}
        context = BindContext(
            tables=tables,
            tax_rates=dict(spec.taxes.rates),
            base_dir=self.base_dir,
            region=next((loc.region for loc in spec.locations if loc.region), None),
            files=self.files,
        )
        stock = self._stock(buffers, category_of)
        prices = self._prices(context, category_of)
        mappers = self._mappers(context)
        if self.problems:
            raise MappingCompileError(sorted(self.problems, key=lambda p: tuple(map(str, p[0]))))
        digest = hashlib.sha256(raw or spec.model_dump_json().encode())
        for path in sorted(set(self.files)):
            digest.update(path.read_bytes())  # a CSV table is part of the mapping's version
        return MappingPlan(
            version=digest.hexdigest()[:16],
            source=source,
            inputs=tuple(sorted(set(self.files))),
            spec=spec,
            _loc_in=loc_in,
            _loc_out=loc_out,
            _sku_in=sku_in,
            _sku_out=sku_out,
            stock=stock,
            prices=prices,
            tenders={c: dict(t) for c, t in spec.tenders.items()},
            units={c: dict(t) for c, t in spec.units.items()},
            tax_codes={c: dict(t) for c, t in spec.taxes.codes.items()},
            mappers=mappers,
        )

    def _stock(self, buffers: dict[str, Decimal], category_of: dict[str, str]) -> StockPolicy:
        spec = self.spec.stock

        def layer(rule: Any) -> dict[str, Decimal | None]:
            return {"buffer": rule.buffer, "minimum": rule.minimum, "maximum": rule.maximum}

        default = spec.default
        return StockPolicy(
            default=Rule(default.buffer or Decimal(0), default.minimum, default.maximum),
            location_buffers={
                code: value if value is not None else (default.buffer or Decimal(0))
                for code, value in buffers.items()
            },
            categories={name: layer(rule) for name, rule in spec.categories.items()},
            skus={sku: layer(rule) for sku, rule in spec.skus.items()},
            category_of=category_of,
            pools={p.code: (tuple(p.sum), p.buffer) for p in spec.pools},
        )

    def _bind(self, name: str, args: dict[str, Any], context: BindContext, at: Loc) -> Any:
        try:
            return bind(name, args, context)
        except LocatedError as exc:
            self.problems.append(((*at, *exc.at), str(exc), exc.on_key))
            return None

    def _channel(
        self, conn: str, channel: Any, context: BindContext, chains: dict[str, tuple[str, ...]]
    ) -> ChannelRules:
        """Compose one channel's step sequences, one per tax rate when prices change tax
        convention on the way: conversion rounded by the channel's own rule, then the
        ending (the conversion already rounds, so no second rounding)."""
        spec = self.spec
        at: Loc = ("prices", "channels", conn, "rounding")
        rounding = channel.rounding
        rule = {"places": rounding.places, "mode": rounding.mode}
        tail = []
        if rounding.ending is not None:
            ending = {"ending": format(rounding.ending, "f"), "direction": rounding.direction}
            tail.append(self._bind("price_ending", ending, context, at))
        converts = channel.tax_included != spec.prices.tax_included
        finish: dict[str | None, tuple] = {}
        compare: dict[str | None, tuple] = {}
        if converts:
            name = "tax_in" if channel.tax_included else "tax_out"
            for rate_name, rate in spec.taxes.rates.items():
                step = self._bind(name, {"rate": format(rate, "f"), **rule}, context, at)
                finish[rate_name] = (step, *tail)
                compare[rate_name] = (step,)
        else:
            step = self._bind("round", rule, context, at)
            finish[None] = (step, *tail)
            compare[None] = (step,)
        compare_list = channel.compare_at_list
        return ChannelRules(
            price_list=channel.price_list,
            price_chain=chains.get(channel.price_list, (channel.price_list,)),
            compare_chain=None if compare_list is None else chains.get(compare_list),
            tax_included=channel.tax_included,
            converts=converts,
            finish=finish,
            compare_finish=compare,
        )

    def _prices(self, context: BindContext, category_of: dict[str, str]) -> PriceBook:
        spec = self.spec
        fallbacks: dict[str, str | None] = {"default": None}
        fallbacks.update({name: lst.fallback for name, lst in spec.prices.lists.items()})
        chains: dict[str, tuple[str, ...]] = {}
        for name in fallbacks:
            chain, current = [name], fallbacks.get(name)
            while current is not None:
                if current in chain:
                    self.problems.append(
                        (
                            ("prices", "lists", name, "fallback"),
                            "price lists fall back in a circle: " + " -> ".join([*chain, current]),
                            False,
                        )
                    )
                    break
                chain.append(current)
                current = fallbacks.get(current)
            chains[name] = tuple(chain)
        channels = {
            conn: self._channel(conn, channel, context, chains)
            for conn, channel in spec.prices.channels.items()
        }
        if channels and spec.prices.currency is None:
            self.problems.append(
                (("prices",), "set prices.currency (e.g. EUR) before publishing prices", True)
            )
        return PriceBook(
            currency=spec.prices.currency,
            tax_included=spec.prices.tax_included,
            chains=chains,
            channels=channels,
            store_lists={loc.code: loc.price_list for loc in spec.locations if loc.price_list},
            rate_of_sku=dict(spec.taxes.skus),
            rate_of_category=dict(spec.taxes.categories),
            category_of=category_of,
            default_rate=spec.taxes.default,
        )

    def _mappers(self, context: BindContext) -> dict[tuple[str, str, str], RecordMapper]:
        compiler = RuleCompiler(context)
        mappers = {}
        for conn, kinds in self.spec.connections.items():
            for kind, block in kinds.kinds().items():
                for direction in DIRECTIONS:
                    rules = getattr(block, direction)
                    if rules is None:
                        continue
                    at: Loc = ("connections", conn, kind, direction)
                    shape = SHAPES.get(kind) if direction == "outbound" else None
                    mappers[(conn, kind, direction)] = compiler.record(
                        rules, at, f"{conn} {kind} {direction}", shape
                    )
        self.problems.extend(compiler.problems)
        return mappers

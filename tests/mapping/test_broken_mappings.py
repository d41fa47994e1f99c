"""Broken mapping files in the full mapping language, each problem at its ``file:line:col``.

The basics (locations, skus, YAML syntax) are in ``tests/test_yaml_errors.py``; these cases
cover field rules, functions, tables and CSV files, stock rules and pools, price lists,
channels and taxes. Every test asserts the position and the whole message an admin reads.
"""

from __future__ import annotations

from pathlib import Path

from bridge.mapping.loader import load_plan
from tests.test_yaml_errors import at, mapping_problems, single, write

F = "connections.shop.product.outbound.fields"
"""The location prefix of a field rule of the ``shop`` connection's outbound products."""


def problems_as_tuples(tmp_path: Path, text: str) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in mapping_problems(tmp_path, text)]


# -- field rules ----------------------------------------------------------------------------


def test_misspelt_from_in_a_field_rule_suggests_from(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      sku: sku
                      title: {form: name}
            """,
        )
    )
    assert at(p) == (8, 19)
    assert p.message == "unknown key 'form' (did you mean 'from'?)"


def test_unknown_function_in_a_dict_item_points_at_its_name(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      price:
                        from: price
                        apply:
                          - decimal
                          - rond: {places: 2}
            """,
        )
    )
    assert at(p) == (10, 17)
    assert p.message == f"{F}.price.apply.1.rond: unknown function 'rond' (did you mean 'round'?)"


def test_unknown_function_as_a_bare_string_item(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      price: {from: price, apply: [decimal, strnig]}
            """,
        )
    )
    assert at(p) == (6, 49)
    assert p.message == f"{F}.price.apply.1: unknown function 'strnig' (did you mean 'string'?)"


def test_unknown_function_without_a_close_name_lists_the_known_ones(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      title: {from: name, apply: [shout]}
            """,
        )
    )
    assert at(p) == (6, 39)
    assert p.message.startswith(f"{F}.title.apply.0: unknown function 'shout' (known: add, ")
    assert p.message.endswith(", upper)")


def test_unknown_parameter_of_a_function(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      price:
                        from: price
                        apply:
                          - round: {place: 2, mode: half_even}
            """,
        )
    )
    assert at(p) == (9, 25)
    assert p.message == (
        f"{F}.price.apply.0.round.place: round: unknown parameter 'place' (did you mean 'places'?)"
    )


def test_wrong_argument_type_points_at_the_argument(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      price:
                        from: price
                        apply:
                          - round:
                              places: two
            """,
        )
    )
    assert at(p) == (10, 27)
    assert p.message == (
        f"{F}.price.apply.0.round.places: round: places must be an integer (got 'two')"
    )


def test_float_arguments_are_refused_shorthand_and_named(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        connections:
          shop:
            product:
              outbound:
                fields:
                  price:
                    from: price
                    apply:
                      - price_ending: 0.99
                  compareAtPrice:
                    from: compare_at
                    apply:
                      - price_ending: {ending: 0.95, direction: up}
        """,
    )
    assert problems == [
        (
            9,
            31,
            f"{F}.price.apply.0.price_ending: price_ending: ending must be a quoted decimal "
            'like "0.99" (got float 0.99)',
        ),
        (
            13,
            40,
            f"{F}.compareAtPrice.apply.0.price_ending.ending: price_ending: ending must be a "
            'quoted decimal like "0.95" (got float 0.95)',
        ),
    ]


def test_apply_item_naming_two_functions(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      price:
                        from: price
                        apply:
                          - round: {places: 2}
                            string:
            """,
        )
    )
    assert at(p) == (9, 17)
    assert p.message == (
        f"{F}.price.apply.0: each apply item names one function, this one has round, string; "
        "write one item per function, e.g. '- round: {places: 2}'"
    )


def test_both_from_and_value(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      vendor: {from: brand, value: Brique}
            """,
        )
    )
    assert at(p) == (6, 11)
    assert p.message == (
        f"{F}.vendor: give either 'from' (a path) or 'value' (a constant), not both"
    )


def test_float_constant_in_value(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      weight: {value: 1.5, apply: [string]}
            """,
        )
    )
    assert at(p) == (6, 27)
    assert p.message == (
        f'{F}.weight.value: a number with a fraction must be quoted, e.g. "1.5" '
        "(floats are refused so money stays exact)"
    )


def test_unknown_connection_kind_suggests_the_known_one(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              webshop:
                prodcut:
                  outbound:
                    fields: {title: name}
            """,
        )
    )
    assert at(p) == (3, 5)
    assert p.message == "unknown key 'prodcut' (did you mean 'product'?)"


def test_unknown_keys_in_line_rules_and_a_missing_key(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        connections:
          tills:
            sale:
              inbound:
                lines:
                  lines:
                    each: items
                    kye: line_no
                    fields:
                      qty: {from: quantity, on: never}
        """,
    )
    assert problems == [
        (6, 11, "connections.tills.sale.inbound.lines.lines: missing required key 'key'"),
        (8, 13, "unknown key 'kye' (did you mean 'key'?)"),
        (
            10,
            41,
            "connections.tills.sale.inbound.lines.lines.fields.qty.on: "
            "Input should be 'always' or 'create' (got 'never')",
        ),
    ]


# -- JMESPath ---------------------------------------------------------------------------------

BAD_PATHS = """\
connections:
  shop:
    product:
      outbound:
        key: "sku]["
        fields:
          price: {from: "price.[", apply: [string]}
    order:
      inbound:
        lines:
          lines:
            each: "items[?"
            key: line_no
"""


def test_invalid_jmespath_is_reported_where_it_is_written(tmp_path: Path) -> None:
    problems = mapping_problems(tmp_path, BAD_PATHS)
    assert [at(p) for p in problems] == [(5, 14), (7, 25), (12, 19)]
    assert [p.message.split(": invalid JMESPath ")[1].split(":")[0] for p in problems] == [
        "'sku]['",
        "'price.['",
        "'items[?'",
    ]


def test_invalid_jmespath_messages_read_as_sentences(tmp_path: Path) -> None:
    problems = problems_as_tuples(tmp_path, BAD_PATHS)
    assert problems == [
        (
            5,
            14,
            "connections.shop.product.outbound.key: invalid JMESPath 'sku][': "
            'Unexpected token: ]: Parse error at column 3, token "]" (RBRACKET)',
        ),
        (
            7,
            25,
            f"{F}.price.from: invalid JMESPath 'price.[': "
            "Invalid jmespath expression: Incomplete expression",
        ),
        (
            12,
            19,
            "connections.shop.order.inbound.lines.lines.each: invalid JMESPath 'items[?': "
            "Invalid jmespath expression: Incomplete expression",
        ),
    ]


def test_float_literal_in_a_path(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            connections:
              shop:
                product:
                  outbound:
                    fields:
                      weight: {from: "`1.5`"}
            """,
        )
    )
    assert at(p) == (6, 26)
    assert p.message == (
        f"{F}.weight.from: float literal in '`1.5`': quote numbers as strings, e.g. `\"0.99\"`"
    )


# -- taxes ------------------------------------------------------------------------------------


def test_unknown_tax_rate_in_a_tax_in_step_named_and_shorthand(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        taxes:
          rates: {standard: "20", reduced: "5.5"}
        connections:
          shop:
            product:
              outbound:
                fields:
                  price:
                    from: price
                    apply:
                      - tax_in: {rate: standrad}
                  unit_price:
                    from: unit_price
                    apply:
                      - tax_in: reduce
        """,
    )
    assert problems == [
        (
            11,
            32,
            f"{F}.price.apply.0.tax_in.rate: tax_in: unknown tax rate 'standrad' "
            "(did you mean 'standard'?)",
        ),
        (
            15,
            25,
            f"{F}.unit_price.apply.0.tax_in: tax_in: unknown tax rate 'reduce' "
            "(did you mean 'reduced'?)",
        ),
    ]


def test_unknown_tax_rate_in_taxes_categories(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            taxes:
              rates: {standard: "20", reduced: "5.5"}
              default: standard
              categories:
                books: reduced
                food: reduce
            """,
        )
    )
    assert at(p) == (6, 11)
    assert p.message == (
        "taxes.categories.food: unknown tax rate 'reduce' (did you mean 'reduced'?) "
        "(known: reduced, standard)"
    )


def test_tax_rate_above_100_points_at_the_rate(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            taxes:
              rates:
                standard: "20"
                luxury: "150"
            """,
        )
    )
    assert at(p) == (4, 13)
    assert p.message == (
        "taxes.rates.luxury: a tax rate is a percentage between 0 and 100 (got 150)"
    )


# -- price lists and channels ----------------------------------------------------------------


def test_unknown_price_list_in_a_channel(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              currency: EUR
              lists:
                web: {}
              channels:
                webshop:
                  price_list: wbe
            """,
        )
    )
    assert at(p) == (7, 19)
    assert p.message == (
        "prices.channels.webshop.price_list: unknown price list 'wbe' (did you mean 'web'?) "
        "(declare it under prices.lists)"
    )


def test_unknown_compare_at_list_in_a_channel(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              currency: EUR
              lists: {web: {}, sale: {}}
              channels:
                webshop: {price_list: web, compare_at_list: sales}
            """,
        )
    )
    assert at(p) == (5, 49)
    assert p.message == (
        "prices.channels.webshop.compare_at_list: unknown price list 'sales' "
        "(did you mean 'sale'?) (declare it under prices.lists)"
    )


def test_unknown_price_list_in_a_location(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            locations:
              - code: PARIS-01
              - code: LYON-02
                price_list: lyonn
            prices:
              lists:
                lyon: {}
            """,
        )
    )
    assert at(p) == (4, 17)
    assert p.message == (
        "locations.1.price_list: unknown price list 'lyonn' (did you mean 'lyon'?) "
        "(declare it under prices.lists)"
    )


def test_unknown_price_list_in_a_fallback(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              lists:
                web: {fallback: defualt}
            """,
        )
    )
    assert at(p) == (3, 21)
    assert p.message == (
        "prices.lists.web.fallback: unknown price list 'defualt' (did you mean 'default'?)"
    )


def test_circular_price_list_fallbacks_name_the_circle_at_each_list(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        prices:
          lists:
            web: {fallback: outlet}
            outlet: {fallback: sale}
            sale: {fallback: web}
            lyon: {fallback: default}
        """,
    )
    assert problems == [
        (3, 21, "prices.lists.web.fallback: price lists fall back in a circle: "
         "web -> outlet -> sale -> web"),
        (4, 24, "prices.lists.outlet.fallback: price lists fall back in a circle: "
         "outlet -> sale -> web -> outlet"),
        (5, 22, "prices.lists.sale.fallback: price lists fall back in a circle: "
         "sale -> web -> outlet -> sale"),
    ]  # fmt: skip


def test_channels_need_a_currency(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            prices:
              channels:
                webshop: {}
            """,
        )
    )
    assert at(p) == (2, 1)
    assert p.message == "prices: set prices.currency (e.g. EUR) before publishing prices"


def test_rounding_ending_of_one_or_more(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              currency: EUR
              channels:
                webshop:
                  rounding: {places: 2, ending: "1.99"}
            """,
        )
    )
    assert at(p) == (5, 37)
    assert p.message.startswith(
        'prices.channels.webshop.rounding.ending: an ending is a fraction of one unit, like "0.99"'
    )


def test_rounding_ending_message_says_got_once(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              currency: EUR
              channels:
                webshop:
                  rounding: {places: 2, ending: "1.99"}
            """,
        )
    )
    assert p.message == (
        'prices.channels.webshop.rounding.ending: an ending is a fraction of one unit, like "0.99"'
        " (got '1.99')"
    )


def test_unknown_rounding_mode_lists_the_modes(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              currency: EUR
              channels:
                webshop:
                  rounding:
                    mode: bankers
            """,
        )
    )
    assert at(p) == (6, 15)
    assert p.message == (
        "prices.channels.webshop.rounding.mode: Input should be 'half_up', 'half_even', "
        "'half_down', 'up', 'down', 'floor' or 'ceiling' (got 'bankers')"
    )


def test_misspelt_rounding_mode_suggests_the_mode(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            prices:
              currency: EUR
              channels:
                webshop:
                  rounding:
                    mode: half_upp
            """,
        )
    )
    assert at(p) == (6, 15)
    assert p.message == (
        "prices.channels.webshop.rounding.mode: Input should be 'half_up', 'half_even', "
        "'half_down', 'up', 'down', 'floor' or 'ceiling' (got 'half_upp') "
        "(did you mean 'half_up'?)"
    )


# -- stock rules and pools -------------------------------------------------------------------


def test_pool_summing_an_unknown_location_suggests_one(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            locations:
              - code: PARIS-01
              - code: LYON-02
            stock:
              pools:
                - code: WEB
                  sum: [PARIS-01, LYON-2]
            """,
        )
    )
    assert at(p) == (7, 23)
    assert p.message == "stock.pools.0.sum.1: unknown location 'LYON-2' (did you mean 'LYON-02'?)"


def test_pool_code_equal_to_a_location_code(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            locations:
              - code: PARIS-01
            stock:
              pools:
                - code: PARIS-01
                  sum: [PARIS-01]
            """,
        )
    )
    assert at(p) == (5, 13)
    assert p.message == "stock.pools.0.code: pool code 'PARIS-01' is already a location code"


def test_pool_summing_a_pool_says_so(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            locations:
              - code: PARIS-01
            stock:
              pools:
                - code: WEB
                  sum: [PARIS-01]
                - code: ALL
                  sum: [WEB]
            """,
        )
    )
    assert at(p) == (8, 13)
    assert p.message == "stock.pools.1.sum.0: 'WEB' is a pool: a pool sums locations, not pools"


def test_stock_rule_minimum_above_maximum(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            stock:
              categories:
                denim:
                  minimum: "5"
                  maximum: "2"
            """,
        )
    )
    assert at(p) == (4, 16)
    assert p.message == "stock.categories.denim.minimum: minimum 5 is above maximum 2"


def test_negative_buffer_in_a_stock_rule(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            stock:
              skus:
                TSHIRT-RED-M: {buffer: "-1"}
            """,
        )
    )
    assert at(p) == (3, 28)
    assert p.message == "stock.skus.TSHIRT-RED-M.buffer: buffer cannot be negative (got -1)"


def test_negative_location_and_pool_buffers(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        locations:
          - code: PARIS-01
            safety_buffer: "-1"
        stock:
          pools:
            - {code: WEB, sum: [PARIS-01], buffer: "-2"}
        """,
    )
    assert problems == [
        (3, 20, "locations.0.safety_buffer: safety_buffer cannot be negative (got -1)"),
        (6, 44, "stock.pools.0.buffer: buffer cannot be negative (got -2)"),
    ]


# -- tables and CSV files ---------------------------------------------------------------------

CROSSWALK = """\
products:
  crosswalk:
    tills:
      csv:
        file: items.csv
        key: ean
        value: sku
"""


def test_crosswalk_csv_file_missing(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, CROSSWALK))
    assert at(p) == (5, 15)
    assert p.message == (
        "products.crosswalk.tills.csv.file: products.crosswalk.tills: "
        "cannot read items.csv: No such file or directory"
    )


def test_crosswalk_csv_missing_column_lists_the_columns(tmp_path: Path) -> None:
    write(tmp_path, "items.csv", "ean,sku_code,name\n0360000000017,TSHIRT-RED-M,T-shirt\n")
    p = single(mapping_problems(tmp_path, CROSSWALK))
    assert at(p) == (7, 16)
    assert p.message == (
        "products.crosswalk.tills.csv.value: products.crosswalk.tills: items.csv has no column "
        "'sku' (columns: ean, sku_code, name)"
    )


def test_crosswalk_csv_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "items.csv",
        "ean,sku\n0360000000017,TSHIRT-RED-M\n0360000000024,TSHIRT-RED-L\n"
        "0360000000017,TSHIRT-BLUE-M\n",
    )
    p = single(mapping_problems(tmp_path, CROSSWALK))
    assert at(p) == (5, 15)
    assert p.message == (
        "products.crosswalk.tills.csv.file: products.crosswalk.tills: items.csv:4: "
        "duplicate key '0360000000017' (first on line 2)"
    )


def test_crosswalk_csv_empty_sku_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "items.csv", "ean,sku\n0360000000017,TSHIRT-RED-M\n0360000000024,\n")
    p = single(mapping_problems(tmp_path, CROSSWALK))
    assert at(p) == (5, 15)
    assert p.message == (
        "products.crosswalk.tills.csv.file: products.crosswalk.tills: items.csv:3: "
        "empty value in column 'sku'"
    )


def test_crosswalk_function_csv_problems(tmp_path: Path) -> None:
    write(tmp_path, "brands.csv", "code;name\n01;Acme\n02;Brique\n01;Other\n")
    problems = problems_as_tuples(
        tmp_path,
        """\
        connections:
          shop:
            product:
              outbound:
                fields:
                  vendor:
                    from: brand
                    apply:
                      - crosswalk: {file: brands.csv, key: code, value: name, delimiter: ";"}
                  origin:
                    from: origin
                    apply:
                      - crosswalk: {file: origins.csv, key: code, value: country}
        """,
    )
    assert problems == [
        (
            9,
            35,
            f"{F}.vendor.apply.0.crosswalk.file: crosswalk: brands.csv:4: duplicate key '01' "
            "(first on line 2)",
        ),
        (
            13,
            35,
            f"{F}.origin.apply.0.crosswalk.file: crosswalk: cannot read origins.csv: "
            "No such file or directory",
        ),
    ]


def test_lookup_of_an_undeclared_table(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        tables:
          stores: {inline: {"001": Paris}}
        connections:
          shop:
            product:
              outbound:
                fields:
                  store: {from: store, apply: [{lookup: storse}]}
                  brand: {from: brand, apply: [{lookup: {table: brands, default: ""}}]}
        """,
    )
    assert problems == [
        (8, 49, f"{F}.store.apply.0.lookup: lookup: unknown table 'storse' "
         "(did you mean 'stores'?)"),
        (9, 57, f"{F}.brand.apply.0.lookup.table: lookup: unknown table 'brands' "
         "(known: stores)"),
    ]  # fmt: skip


def test_ean_keys_keep_their_leading_zeros(tmp_path: Path) -> None:
    """A positive check: quoted EANs stay text, from YAML and from CSV alike."""
    write(tmp_path, "items.csv", "ean,sku\n0000000000017,ZERO-PAD\n")
    path = write(
        tmp_path,
        "mapping.yaml",
        """\
        skus:
          tills: {"0360000000017": TSHIRT-RED-M}
        products:
          crosswalk:
            webshop:
              csv: {file: items.csv, key: ean, value: sku}
        tables:
          eans: {inline: {"00042": ANSWER}}
        connections:
          shop:
            product:
              outbound:
                fields:
                  label: {from: ean, apply: [{lookup: eans}]}
        """,
    )
    plan = load_plan(path)
    assert plan.sku_in("tills", "0360000000017") == "TSHIRT-RED-M"
    assert plan.sku_in("tills", "360000000017") == "360000000017"  # not the same id
    assert plan.sku_out("tills", "TSHIRT-RED-M") == "0360000000017"
    assert plan.sku_in("webshop", "0000000000017") == "ZERO-PAD"
    assert plan.outbound("shop", "product", {"ean": "00042"}) == {"label": "ANSWER"}


def test_unquoted_ean_key_is_refused_where_it_is_written(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            tables:
              eans:
                inline:
                  "00042": ANSWER
                  0360000000017: TSHIRT-RED-M
            """,
        )
    )
    assert at(p) == (5, 7)
    assert p.message == (
        "tables.eans.inline.360000000017 (key): identifiers must be strings, got ScalarInt "
        "360000000017; quote it (e.g. '360000000017') so leading zeros survive"
    )


def test_unit_names_are_checked(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        connections:
          shop:
            product:
              outbound:
                fields:
                  weight: {from: grams, apply: [{unit: {from: g, to: kgg}}]}
                  volume: {from: grams, apply: [{unit: {from: g, to: l}}]}
        """,
    )
    assert problems == [
        (6, 62, f"{F}.weight.apply.0.unit.to: unit: unknown unit 'kgg' (did you mean 'kg'?)"),
        (7, 62, f"{F}.volume.apply.0.unit.to: unit: cannot convert g (mass) to l (volume)"),
    ]


# -- several problems, syntax -----------------------------------------------------------------


def test_every_compile_problem_of_a_file_in_file_order(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        taxes:
          rates: {standard: "20"}
        connections:
          shop:
            product:
              outbound:
                fields:
                  title: {value: 1.5}
                  price:
                    from: price
                    apply:
                      - tax_in: {rate: standrad}
                      - rond: {places: 2}
                  store: {from: store, apply: [{lookup: stores}]}
            price:
              outbound:
                key: "sku]["
                fields:
                  amount: {from: price.amount, apply: [strnig]}
        """,
    )
    assert [(line, col) for line, col, _ in problems] == [
        (8, 26),
        (12, 32),
        (13, 17),
        (14, 49),
        (17, 14),
        (19, 48),
    ]
    assert [message.split(": ", 1)[1] for _, _, message in problems] == [
        'a number with a fraction must be quoted, e.g. "1.5" '
        "(floats are refused so money stays exact)",
        "tax_in: unknown tax rate 'standrad' (did you mean 'standard'?)",
        "unknown function 'rond' (did you mean 'round'?)",
        "lookup: unknown table 'stores' (none are declared)",
        problems[4][2].split(": ", 1)[1],  # JMESPath's own wording
        "unknown function 'strnig' (did you mean 'string'?)",
    ]
    assert problems[4][2].startswith(
        "connections.shop.price.outbound.key: invalid JMESPath 'sku]['"
    )


def test_every_schema_problem_of_a_file_in_file_order(tmp_path: Path) -> None:
    problems = problems_as_tuples(
        tmp_path,
        """\
        version: 1
        locations:
          - code: PARIS-01
            price_list: web
        prices:
          currency: EUR
          channels:
            shop:
              rounding: {mode: bankers, places: 9}
        stock:
          default: {minimum: "5", maximum: "1"}
          skus:
            TSHIRT-RED-M: {bufer: "1"}
        connections:
          shop:
            product:
              outbound:
                fields:
                  title: {form: name}
        """,
    )
    assert problems == [
        (9, 24, "prices.channels.shop.rounding.mode: Input should be 'half_up', 'half_even', "
         "'half_down', 'up', 'down', 'floor' or 'ceiling' (got 'bankers')"),
        (9, 41, "prices.channels.shop.rounding.places: Input should be less than or equal to 6 "
         "(got 9)"),
        (11, 22, "stock.default.minimum: minimum 5 is above maximum 1"),
        (13, 20, "unknown key 'bufer' (did you mean 'buffer'?)"),
        (19, 19, "unknown key 'form' (did you mean 'from'?)"),
    ]  # fmt: skip


def test_tab_indentation_in_a_rich_file(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "locations:\n"
        "  - code: PARIS-01\n"
        '    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}\n'
        "prices:\n"
        "  currency: EUR\n"
        "connections:\n"
        "  webshop:\n"
        "    price:\n"
        "      outbound:\n"
        "        fields:\n"
        "          price:\n"
        "            from: price.amount\n"
        "            apply:\n"
        "\t      - string\n"
    )
    p = single(mapping_problems(tmp_path, text))
    assert at(p) == (15, 1)
    assert p.message == "YAML syntax: found character '\\t' that cannot start any token"

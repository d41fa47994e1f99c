"""A broken ``prices.parity`` block: every problem at its ``file:line:col``, with the value
and a hint, like the rest of the mapping."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bridge.mapping.loader import load_plan
from bridge.parity.policy import compile_policy
from bridge.yamlio import YamlConfigError
from tests.test_yaml_errors import at, mapping_problems, single, write

HEAD = """\
version: 1
locations:
  - {code: PARIS-01, region: FR}
  - {code: LYON-02, region: FR}
prices:
  currency: EUR
  lists: {web: {}, outlet: {}}
  channels:
    webshop: {price_list: web}
    outlet: {price_list: outlet}
  parity:
"""
"""The parity block starts on line 12."""


def problem(tmp_path: Path, block: str) -> tuple[int, int, str]:
    p = single(mapping_problems(tmp_path, HEAD + block))
    return (*at(p), p.message)


def test_a_misspelt_key_suggests_the_right_one(tmp_path: Path) -> None:
    assert problem(tmp_path, '    tolerence: {absolute: "0.01"}\n') == (
        12,
        5,
        "unknown key 'tolerence' (did you mean 'tolerance'?)",
    )


def test_an_unknown_channel_in_a_group_points_at_it(tmp_path: Path) -> None:
    block = "    groups:\n      web:\n        channels: [webshp]\n        lists: [default]\n"
    assert problem(tmp_path, block) == (
        14,
        20,
        "prices.parity.groups.web.channels.0: unknown channel 'webshp' (did you mean "
        "'webshop'?) (known: outlet, webshop)",
    )


def test_an_unknown_price_list_points_at_it(tmp_path: Path) -> None:
    block = "    groups:\n      web:\n        channels: ['*']\n        lists: [defualt]\n"
    assert problem(tmp_path, block) == (
        15,
        17,
        "prices.parity.groups.web.lists.0: unknown price list 'defualt' (did you mean "
        "'default'?) (known: default, outlet, web)",
    )
    assert problem(tmp_path, "    exclude: {price_lists: [clearance]}\n") == (
        12,
        29,
        "prices.parity.exclude.price_lists.0: unknown price list 'clearance' "
        "(known: default, outlet, web)",
    )


def test_a_duration_needs_a_unit(tmp_path: Path) -> None:
    hint = 'write a duration as a number and a unit: "90s", "15m", "6h" or "1d"'
    assert problem(tmp_path, "    every: 1 hour\n") == (
        12,
        12,
        f"prices.parity.every: {hint} (got '1 hour')",
    )
    assert problem(tmp_path, "    tills: {grace: 3600}\n") == (
        12,
        20,
        f"prices.parity.tills.grace: {hint} (got 3600)",
    )


def test_tolerances_are_quoted_non_negative_amounts_and_percentages(tmp_path: Path) -> None:
    assert problem(tmp_path, '    tolerance: {absolute: "-1", percent: "5"}\n') == (
        12,
        27,
        "prices.parity.tolerance.absolute: absolute cannot be negative (got -1)",
    )
    assert problem(tmp_path, '    tolerance: {percent: "150"}\n') == (
        12,
        26,
        "prices.parity.tolerance.percent: percent is a percentage between 0 and 100 (got 150)",
    )
    line, column, message = problem(tmp_path, "    tolerance: {absolute: 0.05}\n")
    assert (line, column) == (12, 27)
    assert message.startswith("prices.parity.tolerance.absolute: float 0.05 refused")


def test_an_intended_difference_names_one_member_and_a_percentage(tmp_path: Path) -> None:
    two = '    allow:\n      - {channel: outlet, price_list: outlet, cheaper_by: "10"}\n'
    assert problem(tmp_path, two) == (
        13,
        9,
        "prices.parity.allow.0: name exactly one of channel, store, region or price_list "
        "(got channel, price_list)",
    )
    assert problem(tmp_path, "    allow:\n      - {channel: outlet}\n") == (
        13,
        9,
        'prices.parity.allow.0: set cheaper_by or dearer_by (a percentage such as "10")',
    )
    assert problem(tmp_path, '    allow:\n      - {channel: outlet, cheaper_by: "120"}\n') == (
        13,
        39,
        "prices.parity.allow.0.cheaper_by: cheaper_by is a percentage between 0 and 100 (got 120)",
    )
    assert problem(tmp_path, '    allow:\n      - {channel: outlt, cheaper_by: "10"}\n') == (
        13,
        19,
        "prices.parity.allow.0.channel: unknown channel 'outlt' (did you mean 'outlet'?) "
        "(known: outlet, webshop)",
    )
    block = (
        "    groups:\n      web: {channels: ['*'], lists: [default]}\n"
        '    allow:\n      - {channel: outlet, cheaper_by: "10", groups: [wbe]}\n'
    )
    assert problem(tmp_path, block) == (
        15,
        54,
        "prices.parity.allow.0.groups.0: unknown group 'wbe' (did you mean 'web'?) (groups: web)",
    )


def test_a_group_has_members_and_its_reference_is_one_of_them(tmp_path: Path) -> None:
    assert problem(tmp_path, "    groups:\n      web: {reference: list:default}\n") == (
        13,
        7,
        "prices.parity.groups.web: a group needs members: channels, stores, regions or lists",
    )
    block = "    groups:\n      web:\n        channels: [webshop]\n        reference: default\n"
    assert problem(tmp_path, block) == (
        15,
        20,
        "prices.parity.groups.web.reference: reference 'default' must be list:<name>, "
        "channel:<name> or store:<code>",
    )
    block = (
        "    groups:\n      web:\n        channels: [webshop]\n        lists: [web]\n"
        "        reference: list:default\n"
    )
    assert problem(tmp_path, block) == (
        16,
        20,
        "prices.parity.groups.web.reference: reference 'list:default' is not a member of "
        "this group (add 'default' to its lists)",
    )


def test_every_problem_of_the_block_is_reported_in_one_run(tmp_path: Path) -> None:
    block = "    every: soon\n    places: 9\n    groups:\n      web: {channels: [webshp]}\n"
    problems = mapping_problems(tmp_path, HEAD + block)
    assert [(p.line, p.column) for p in problems] == [(12, 12), (13, 13)]
    assert (
        problems[1].message
        == "prices.parity.places: Input should be less than or equal to 6 (got 9)"
    )


def test_unknown_stores_and_regions_are_located_when_the_file_loads(tmp_path: Path) -> None:
    block = (
        "    groups:\n      south:\n        stores: [PARIS-1]\n        regions: [BE]\n"
        "        lists: [default]\n"
        '    allow:\n      - {store: LYON-2, cheaper_by: "5"}\n'
    )
    path = write(tmp_path, "mapping.yaml", HEAD + block)
    with pytest.raises(YamlConfigError) as caught:
        load_plan(path)  # store codes live in `locations`, outside the block
    assert str(caught.value).splitlines()[0] == (
        f"{path}:14:18: prices.parity.groups.south.stores.0: unknown store 'PARIS-1' "
        "(did you mean 'PARIS-01'?)"
    )
    fixed = HEAD + block.replace("PARIS-1]", "PARIS-01]")
    with pytest.raises(
        YamlConfigError,
        match=r":15:19: prices.parity.groups.south.regions.0: "
        r"no store in region 'BE' \(regions: FR\)",
    ):
        load_plan(write(tmp_path, "mapping2.yaml", fixed))


def test_a_good_policy_compiles_into_groups_of_members(tmp_path: Path) -> None:
    block = (
        '    every: 15m\n    tolerance: {absolute: "0.02", percent: "1"}\n'
        "    groups:\n      france: {channels: ['*'], regions: [FR], lists: [default], "
        "reference: 'list:default'}\n"
        '    allow:\n      - {price_list: outlet, cheaper_by: "20"}\n'
    )
    plan = load_plan(write(tmp_path, "mapping.yaml", HEAD + block))
    policy = compile_policy(plan, ["webshop"])  # the outlet connection is disabled
    (group,) = policy.groups
    assert [m.key for m in group.members] == [
        "channel:webshop",
        "store:PARIS-01",
        "store:LYON-02",
        "list:default",
    ]
    assert group.reference is not None and group.reference.key == "list:default"
    assert policy.every.total_seconds() == 900 and policy.active and policy.problems == ()
    assert group.tolerance.slack(Decimal("1.00")) == Decimal("0.02")  # the larger bound
    assert group.tolerance.slack(Decimal("10")) == Decimal("0.10")

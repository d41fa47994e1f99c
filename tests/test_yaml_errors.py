"""Broken settings and mapping files are reported as ``file:line:col: message``, precisely."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bridge.mapping.loader import MappingHolder, load_plan
from bridge.settings import load_settings
from bridge.yamlio import Problem, YamlConfigError

GOOD_MAPPING = """\
version: 1
locations:
  - code: PARIS-01
    ids: {tills: "1001", webshop: "gid://shopify/Location/1"}
skus:
  tills: {"3600000000017": TSHIRT-RED-M}
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text))
    return path


def mapping_problems(tmp_path: Path, text: str | bytes) -> list[Problem]:
    path = write(tmp_path, "mapping.yaml", text)
    with pytest.raises(YamlConfigError) as exc:
        load_plan(path)
    for problem in exc.value.problems:
        assert problem.path == str(path)
        assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")
    assert str(exc.value) == "\n".join(str(p) for p in exc.value.problems)
    return exc.value.problems


def settings_problems(tmp_path: Path, text: str) -> list[Problem]:
    path = write(tmp_path, "brique.yaml", text)
    with pytest.raises(YamlConfigError) as exc:
        load_settings(path)
    assert all(p.path == str(path) for p in exc.value.problems)
    return exc.value.problems


def single(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def at(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.column


# -- mapping files ------------------------------------------------------------------------


def test_good_mapping_loads(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, "mapping.yaml", GOOD_MAPPING))
    assert plan.location_in("tills", "1001") == "PARIS-01"
    assert plan.sku_in("tills", "3600000000017") == "TSHIRT-RED-M"


def test_misspelt_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            locatoins:
              - code: PARIS-01
            """,
        )
    )
    assert at(p) == (2, 1)
    assert p.message == "unknown key 'locatoins' (did you mean 'locations'?)"


def test_misspelt_nested_key_points_at_the_key(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            locations:
              - code: PARIS-01
                nmae: Paris Rivoli
            """,
        )
    )
    assert at(p) == (4, 5)
    assert p.message == "unknown key 'nmae' (did you mean 'name'?)"


def test_unknown_key_without_a_close_match_has_no_hint(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "version: 1\nzzz: 1\n"))
    assert at(p) == (2, 1)
    assert p.message == "unknown key 'zzz'"


def test_integer_store_id_must_be_quoted(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            locations:
              - code: PARIS-01
                ids:
                  tills: 1001
            """,
        )
    )
    assert at(p) == (5, 14)
    assert p.message.startswith("locations.0.ids.tills: identifiers must be strings")
    assert "quote it (e.g. '1001')" in p.message
    assert p.message.endswith("(got 1001)")


def test_integer_location_code_must_be_quoted(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "locations:\n  - {code: 1002}\n"))
    assert at(p) == (2, 12)
    assert "locations.0.code: identifiers must be strings, got int 1002" in p.message


def test_integer_sku_key_points_at_the_key(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            skus:
              tills:
                "3600000000017": TSHIRT-RED-M
                3600000000024: TSHIRT-RED-L
            """,
        )
    )
    assert at(p) == (4, 5)
    assert p.message.startswith("skus.tills.3600000000024 (key): identifiers must be strings")


def test_wrong_type_for_version(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "version: one\n"))
    assert at(p) == (1, 10)
    assert p.message.startswith("version: Input should be 1")  # the only version there is
    assert p.message.endswith("(got 'one')")


def test_float_safety_buffer_is_refused_where_it_is_written(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            locations:
              - code: PARIS-01
                safety_buffer: 1.5
            """,
        )
    )
    assert at(p) == (3, 20)
    assert "locations.0.safety_buffer: float 1.5 refused" in p.message


def test_list_expected_but_mapping_given(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "version: 1\nlocations: {code: PARIS-01}\n"))
    assert at(p) == (2, 1)
    assert p.message.startswith("locations: Input should be a valid tuple")


def test_duplicate_location_code_points_at_the_second_one(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            locations:
              - code: PARIS-01
                ids: {tills: "1001"}
              - code: LYON-02
              - name: Paris again
                code: PARIS-01
            """,
        )
    )
    assert at(p) == (7, 11)
    assert p.message == (
        "locations.2.code: location code 'PARIS-01' appears twice (first as locations item 1)"
    )


def test_one_native_id_for_two_locations(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            locations:
              - code: PARIS-01
                ids: {tills: "1001"}
              - code: LYON-02
                ids:
                  tills: "1001"
            """,
        )
    )
    assert at(p) == (6, 14)
    assert "tills id '1001' is mapped to both 'PARIS-01' and 'LYON-02'" in p.message


def test_yaml_syntax_error_names_where_the_construct_began(tmp_path: Path) -> None:
    p = single(
        mapping_problems(
            tmp_path,
            """\
            version: 1
            locations:
              - code: PARIS-01
                ids: {tills: "1001"
            skus: {}
            """,
        )
    )
    assert p.message.startswith("YAML syntax: ")
    assert "while parsing a flow mapping at 4:10" in p.message
    assert at(p) == (5, 1)


def test_bad_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "locations:\n  - code: A\n   name: x\n"))
    assert at(p) == (3, 4)
    assert p.message.startswith("YAML syntax: expected <block end>")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "version: 1\nlocations: []\nversion: 2\n"))
    assert at(p) == (3, 1)
    assert 'duplicate key "version"' in p.message


def test_tab_indentation(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "version: 1\nlocations:\n\t- code: A\n"))
    assert at(p) == (3, 1)
    assert "'\\t'" in p.message


def test_control_character_is_a_positioned_error_not_a_crash(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, "version: 1\nlocations:\n  - {code: A\x07}\n"))
    assert at(p) == (3, 13)
    assert "#x0007" in p.message


def test_bytes_that_are_not_utf8_are_a_positioned_error(tmp_path: Path) -> None:
    p = single(mapping_problems(tmp_path, b"version: 1\nlocations:\n  - code: Caf\xe9\n"))
    assert at(p) == (3, 14)
    assert p.message == "not UTF-8 text: byte 0xe9"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(YamlConfigError) as exc:
        load_plan(tmp_path / "nope.yaml")
    assert str(exc.value) == f"{tmp_path / 'nope.yaml'}:1:1: cannot read: No such file or directory"


def test_every_problem_of_a_file_is_reported_in_file_order(tmp_path: Path) -> None:
    problems = mapping_problems(
        tmp_path,
        """\
        version: one
        locations:
          - code: PARIS-01
            safety_buffer: 1.5
            nmae: Paris
          - code: 1002
        skus:
          tills:
            "3600": TSHIRT
            "3601": 3601
        """,
    )
    assert [at(p) for p in problems] == [(1, 10), (4, 20), (5, 5), (6, 11), (10, 13)]
    assert [p.message.split(":")[0] for p in problems] == [
        "version",
        "locations.0.safety_buffer",
        "unknown key 'nmae' (did you mean 'name'?)",
        "locations.1.code",
        "skus.tills.3601",
    ]


def test_mapping_holder_keeps_the_last_good_plan_and_says_why(tmp_path: Path) -> None:
    import os

    path = write(tmp_path, "mapping.yaml", GOOD_MAPPING)
    holder = MappingHolder(path)
    good = holder.plan.version
    path.write_text(GOOD_MAPPING.replace("version: 1", "version: 1\nlocatoins: []"))
    os.utime(path, (1, 1))
    assert holder.reload_if_changed() is False
    assert holder.plan.version == good
    assert holder.error == f"{path}:2:1: unknown key 'locatoins' (did you mean 'locations'?)"
    path.write_bytes(b"version: 1\nlocations: [\xff]\n")
    os.utime(path, (2, 2))
    assert holder.reload_if_changed() is False  # not a crash
    assert holder.error is not None and holder.error.startswith(f"{path}:2:")
    assert holder.plan.version == good


# -- settings files -----------------------------------------------------------------------


def test_missing_connector_is_named_at_the_connection(tmp_path: Path) -> None:
    p = single(
        settings_problems(
            tmp_path,
            """\
            data_dir: var
            connections:
              tills:
                config: {default_currency: EUR}
            """,
        )
    )
    assert at(p) == (3, 3)
    assert p.message == "connections.tills: missing required key 'connector'"


def test_unknown_schedule_name_points_at_the_name(tmp_path: Path) -> None:
    p = single(
        settings_problems(
            tmp_path,
            """\
            connections:
              tills:
                connector: poslog
                schedules:
                  poll: 2
                  pol: 5
            """,
        )
    )
    assert at(p) == (6, 7)
    assert "unknown schedule 'pol' (did you mean 'poll'?)" in p.message
    assert p.message.startswith("connections.tills.schedules.pol: ")


def test_schedule_period_must_be_positive(tmp_path: Path) -> None:
    p = single(
        settings_problems(
            tmp_path,
            "connections:\n  tills:\n    connector: poslog\n    schedules: {poll: -1}\n",
        )
    )
    assert at(p) == (4, 23)
    assert "schedule 'poll' must be a positive number of seconds" in p.message


def test_unknown_settings_keys_get_hints_at_every_depth(tmp_path: Path) -> None:
    problems = settings_problems(
        tmp_path,
        """\
        data_dri: var
        web:
          prot: 8080
        connections:
          tills:
            conector: poslog
        sandboxes:
          - kind: shopify
            port: 8765
            sede: seed.json
        """,
    )
    assert [(at(p), p.message) for p in problems] == [
        ((1, 1), "unknown key 'data_dri' (did you mean 'data_dir'?)"),
        ((3, 3), "unknown key 'prot' (did you mean 'port'?)"),
        ((5, 3), "connections.tills: missing required key 'connector'"),
        ((6, 5), "unknown key 'conector' (did you mean 'connector'?)"),
        ((10, 5), "unknown key 'sede' (did you mean 'seed'?)"),
    ]


def test_wrong_types_in_settings(tmp_path: Path) -> None:
    problems = settings_problems(
        tmp_path,
        """\
        coalesce_seconds: soon
        web:
          port: eighty
        connections:
          tills: poslog
        """,
    )
    assert [at(p) for p in problems] == [(1, 19), (3, 9), (5, 10)]
    assert problems[0].message.startswith("coalesce_seconds: Input should be a valid number")
    assert problems[1].message.startswith("web.port: Input should be a valid integer")
    assert problems[1].message.endswith("(got 'eighty')")
    assert problems[2].message.startswith("connections.tills: Input should be a valid dict")


def test_settings_syntax_error(tmp_path: Path) -> None:
    p = single(settings_problems(tmp_path, "web:\n  port: 80\n host: x\n"))
    assert at(p)[0] == 3
    assert p.message.startswith("YAML syntax:")


def test_environment_variables_are_expanded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BQ_TEST_TOKEN", "shpat_123")
    monkeypatch.setenv("BQ_TEST_DB_PASSWORD", "s3cret")
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    path = write(
        tmp_path,
        "brique.yaml",
        """\
        database_url: postgresql+psycopg://brique:${BQ_TEST_DB_PASSWORD}@db/brique
        connections:
          webshop:
            connector: shopify
            config:
              shop_url: https://x.myshopify.com
              access_token: ${BQ_TEST_TOKEN}
              webhook_secret: "${lowercase_is_not_a_variable}"
        """,
    )
    settings = load_settings(path)
    assert settings.database_url == "postgresql+psycopg://brique:s3cret@db/brique"
    config = settings.connection("webshop").config
    assert config["access_token"] == "shpat_123"
    assert config["webhook_secret"] == "${lowercase_is_not_a_variable}"
    assert type(config) is dict


def test_connector_configs_are_checked_at_load_time(tmp_path: Path) -> None:
    problems = settings_problems(
        tmp_path,
        """        connections:
          tills:
            connector: poslgo
          webshop:
            connector: shopify
            config:
              shop_url: https://x.myshopify.com
              acces_token: abc
        """,
    )
    assert [at(p) for p in problems] == [(3, 16), (6, 5), (8, 7)]
    assert "no connector 'poslgo' is installed (did you mean 'poslog'?)" in problems[0].message
    assert problems[1].message == "connections.webshop.config: missing required key 'access_token'"
    assert problems[2].message == "unknown key 'acces_token' (did you mean 'access_token'?)"


def test_unset_environment_variables_are_all_reported_where_used(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("BQ_UNSET_TOKEN", raising=False)
    monkeypatch.delenv("BQ_UNSET_SECRET", raising=False)
    monkeypatch.delenv("BQ_UNSET_PW", raising=False)
    problems = settings_problems(
        tmp_path,
        """\
        broker_url: amqp://brique:${BQ_UNSET_PW}@mq:5672//
        connections:
          webshop:
            connector: shopify
            config:
              access_token: ${BQ_UNSET_TOKEN}
              webhook_secret: "${BQ_UNSET_SECRET}"
          tills:
            connectr: poslog
        """,
    )
    assert [(at(p), p.message) for p in problems] == [
        ((1, 13), "broker_url: environment variable BQ_UNSET_PW is not set"),
        ((6, 21), "connections.webshop.config.access_token: environment variable "
         "BQ_UNSET_TOKEN is not set"),
        ((7, 23), "connections.webshop.config.webhook_secret: environment variable "
         "BQ_UNSET_SECRET is not set"),
        ((8, 3), "connections.tills: missing required key 'connector'"),
        ((9, 5), "unknown key 'connectr' (did you mean 'connector'?)"),
    ]  # fmt: skip


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    monkeypatch.delenv("BRIQUE_BROKER_URL", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(
        tmp_path,
        "etc/brique/brique.yaml",
        f"""\
        data_dir: ../../var/data
        mapping: mappings/retail.yaml
        stock_import: stock.csv
        connections:
          tills:
            connector: poslog
            config: {{drop_folder: incoming}}
          archive:
            connector: poslog
            config: {{drop_folder: {tmp_path / "abs"}}}
        sandboxes:
          - kind: shopify
            port: 8765
            seed: seeds/shop.json
        """,
    )
    etc = (tmp_path / "etc" / "brique").resolve()
    settings = load_settings(Path("..") / "etc" / "brique" / "brique.yaml")
    assert settings.source == path.resolve()
    assert settings.data_dir == (tmp_path / "var" / "data").resolve()
    assert settings.mapping == etc / "mappings" / "retail.yaml"
    assert settings.stock_import == etc / "stock.csv"
    assert settings.sandboxes[0].seed == etc / "seeds" / "shop.json"
    assert settings.connection("tills").config["drop_folder"] == str(etc / "incoming")
    assert settings.connection("archive").config["drop_folder"] == str(tmp_path / "abs")
    assert settings.resolved_database_url() == (
        f"sqlite:///{(tmp_path / 'var' / 'data' / 'brique.sqlite3').resolve()}"
    )


def test_environment_overrides_urls(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BRIQUE_DATABASE_URL", "postgresql+psycopg://over@h/db")
    monkeypatch.setenv("BRIQUE_BROKER_URL", "redis://h:6379/1")
    path = write(tmp_path, "brique.yaml", "database_url: sqlite:///x.db\n")
    settings = load_settings(path)
    assert settings.database_url == "postgresql+psycopg://over@h/db"
    assert settings.broker_url == "redis://h:6379/1"
    assert not settings.embedded_broker


def test_the_shipped_files_are_valid(monkeypatch) -> None:
    from tests.support import REPO

    monkeypatch.delenv("BRIQUE_DATABASE_URL", raising=False)
    for name in ("POSLOG_HTTP_TOKEN", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET"):
        monkeypatch.setenv(name, "x")
    demo = load_settings(REPO / "config" / "demo.yaml")
    assert set(demo.connections) == {"tills", "webshop"}
    assert demo.mapping is not None and load_plan(demo.mapping).location_in("tills", "1001")
    production = load_settings(REPO / "config" / "production.example.yaml")
    assert production.connection("webshop").config["access_token"] == "x"

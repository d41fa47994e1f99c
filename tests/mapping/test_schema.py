"""The JSON Schema of mapping files, for editors: keys, function names and parameters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bridge.mapping.functions import describe
from bridge.mapping.schema import (
    DECIMAL_PATTERN,
    DRAFT,
    attribute_docs,
    function_names,
    mapping_json_schema,
)
from bridge.mapping.spec import LocationSpec
from tests.support import REPO

DEMO = REPO / "mappings" / "demo.yaml"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return mapping_json_schema()


def demo_data(path: Path = DEMO) -> Any:
    """The mapping as an editor sees it: YAML read into plain JSON values."""
    return json.loads(json.dumps(YAML(typ="safe", pure=True).load(path.read_text())))


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def unknown_keys(schema: dict[str, Any], node: dict[str, Any], data: Any, at: str) -> list[str]:
    """Keys of ``data`` that no branch of ``node`` allows (a small check of the key tree)."""
    node = resolve(schema, node)
    if "anyOf" in node:
        objects = [resolve(schema, n) for n in node["anyOf"]]
        objects = [n for n in objects if n.get("type") == "object"]
        if not objects or not isinstance(data, dict):
            return []
        found = [unknown_keys(schema, n, data, at) for n in objects]
        return min(found, key=len)
    if isinstance(data, dict) and node.get("type") == "object":
        problems = []
        properties = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        for key, value in data.items():
            if key in properties:
                problems += unknown_keys(schema, properties[key], value, f"{at}.{key}")
            elif extra is False:
                problems.append(f"{at}.{key}")
            elif isinstance(extra, dict):
                problems += unknown_keys(schema, extra, value, f"{at}.{key}")
        return problems
    if isinstance(data, list) and isinstance(node.get("items"), dict):
        return [p for i, v in enumerate(data) for p in unknown_keys(schema, node["items"], v, at)]
    return []


def deepest(error: Any) -> list[tuple[Any, ...]]:
    """Where an error really is: inside ``anyOf``, the deepest failing branch (as editors)."""
    if not error.context:
        return [tuple(error.absolute_path)]
    paths = [path for sub in error.context for path in deepest(sub)]
    longest = max(len(path) for path in paths)
    return [path for path in paths if len(path) == longest]


def test_header(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] == "Brique mapping"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert {"version", "locations", "skus", "prices", "connections"} <= set(schema["properties"])
    json.dumps(schema)  # JSON-ready


def test_every_model_refuses_unknown_keys(schema: dict[str, Any]) -> None:
    models = [schema, *schema["$defs"].values()]
    for name, node in [("MappingSpec", schema), *schema["$defs"].items()]:
        if node.get("type") == "object" and "properties" in node:
            assert node["additionalProperties"] is False, name
    rule = next(n for n in schema["$defs"]["FieldRule"]["anyOf"] if n.get("type") == "object")
    assert rule["additionalProperties"] is False
    assert len(models) > 15


def test_the_field_rule_key_is_from_and_a_plain_string_is_a_rule(schema: dict[str, Any]) -> None:
    shorthand, rule = schema["$defs"]["FieldRule"]["anyOf"]
    assert shorthand["type"] == "string"
    assert set(rule["properties"]) == {"from", "value", "apply", "on"}
    assert "from_" not in json.dumps(schema)
    apply = rule["properties"]["apply"]["anyOf"]
    assert apply == [
        {"$ref": "#/$defs/ApplyItem"},
        {"type": "array", "items": {"$ref": "#/$defs/ApplyItem"}},
    ]


def test_every_function_is_offered_with_its_parameters(schema: dict[str, Any]) -> None:
    functions = {f["name"]: f for f in describe()}
    bare, named = function_names(schema)
    assert named == sorted(functions)
    assert bare == [n for n, f in functions.items() if not any(p["required"] for p in f["params"])]
    assert {"string", "upper", "round"} <= set(bare)
    assert "replace" not in bare  # old and new are required
    properties = schema["$defs"]["ApplyItem"]["anyOf"][1]["properties"]
    for name, function in functions.items():
        arguments = properties[name]
        assert function["doc"].splitlines()[0] in arguments["description"]
        named_args = arguments["anyOf"][0]
        assert named_args["additionalProperties"] is False
        assert set(named_args["properties"]) == {p["name"] for p in function["params"]}
        required = [p["name"] for p in function["params"] if p["required"]]
        assert named_args.get("required", []) == required
    rounding = properties["round"]["anyOf"]
    places = rounding[0]["properties"]["places"]
    assert places["default"] == 2 and "decimal places" in places["description"]
    assert rounding[0]["properties"]["mode"]["enum"][0] == "half_up"
    assert {"type": "null"} in rounding  # `- round:` alone
    assert rounding[1]["description"].startswith("places: ")  # `- round: 0`
    replace = properties["replace"]["anyOf"]
    assert len(replace) == 1  # two required parameters: named only
    assert properties["default"]["anyOf"][1] == {
        "description": properties["default"]["anyOf"][1]["description"]
    }  # `- default: anything`


def test_decimals_are_integers_or_quoted_numbers(schema: dict[str, Any]) -> None:
    text = json.dumps(schema)
    assert '"type": "number"' not in text  # floats are refused by the loader
    decimal = schema["$defs"]["Decimal"]
    assert decimal["anyOf"] == [
        {"type": "integer"},
        {"type": "string", "pattern": DECIMAL_PATTERN},
    ]
    for ok in ("0.99", "20", "-1.5", " 5.5 ", "1e3", ".5"):
        assert re.match(DECIMAL_PATTERN, ok), ok
    for bad in ("abc", "1,5", "", "NaN"):
        assert not re.match(DECIMAL_PATTERN, bad), bad
    buffer = schema["$defs"]["PoolSpec"]["properties"]["buffer"]
    assert buffer["$ref"] == "#/$defs/Decimal"
    ending = schema["$defs"]["RoundingSpec"]["properties"]["ending"]
    assert ending["anyOf"] == [{"$ref": "#/$defs/Decimal"}, {"type": "null"}]


def test_attribute_docstrings_become_descriptions(schema: dict[str, Any]) -> None:
    docs = attribute_docs(LocationSpec)
    assert docs["safety_buffer"].startswith("Units kept back")
    location = schema["$defs"]["LocationSpec"]
    assert location["description"].startswith("One Brique location")
    assert location["properties"]["ids"]["description"] == docs["ids"]
    assert location["properties"]["safety_buffer"]["description"] == docs["safety_buffer"]
    rule = schema["$defs"]["FieldRule"]["anyOf"][1]
    assert rule["properties"]["from"]["description"].startswith("JMESPath")
    assert schema["properties"]["skus"]["description"].startswith("Connection name")


def test_the_shipped_mappings_use_only_known_keys(schema: dict[str, Any]) -> None:
    shipped = sorted((REPO / "mappings").rglob("*.yaml"))
    assert DEMO in shipped
    for path in shipped:
        assert unknown_keys(schema, schema, demo_data(path), "") == [], path
    typo = demo_data()
    typo["locations"][0]["safety_bufer"] = "1"
    typo["connections"]["webshop"]["price"]["outbound"]["fields"]["price"]["aply"] = []
    assert unknown_keys(schema, schema, typo, "") == [
        ".locations.safety_bufer",
        ".connections.webshop.price.outbound.fields.price.aply",
    ]


def test_the_demo_mapping_is_valid_for_a_json_schema_validator(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((REPO / "mappings").rglob("*.yaml")):
        assert list(validator.iter_errors(demo_data(path))) == [], path
    price = ("connections", "webshop", "price", "outbound", "fields", "price")
    for where, key, value in [
        (price, "apply", ["strnig"]),  # an unknown function
        (price, "apply", [{"round": {"place": 2}}]),  # an unknown parameter
        (price, "apply", [{"replace": ","}]),  # new is required too
        (price, "on", "sometimes"),
        (("locations", 0), "safety_buffer", 1.5),  # a float
        (("locations", 1), "colour", "red"),
    ]:
        broken = demo_data()
        node = broken
        for part in where:
            node = node[part]
        node[key] = value
        errors = list(validator.iter_errors(broken))
        paths = [path for error in errors for path in deepest(error)]
        assert paths and all(path[: len(where)] == where for path in paths), (key, value, paths)
    shorthand = demo_data()
    fields = shorthand["connections"]["webshop"]["price"]["outbound"]["fields"]
    fields["sku"] = "sku"
    fields["title"] = {"from": "name", "apply": "upper"}
    fields["tag"] = {"from": "name", "apply": [{"prefix": "FR-"}, {"round": 0}, "strip"]}
    fields["web"] = {"from": "name", "apply": [{"map": {"A": "B"}}, {"concat": ["a", "b"]}]}
    assert list(validator.iter_errors(shorthand)) == []

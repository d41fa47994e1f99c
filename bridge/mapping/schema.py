"""The JSON Schema of a mapping file, for editors (VS Code's YAML extension and any other
client of yaml-language-server): completion of keys and function names, their parameters
and documentation, and unknown keys underlined as the loader would refuse them.

It is derived from the spec models (``MappingSpec``), then sharpened where the models accept
more shapes than pydantic describes: a field rule may be a plain string, ``apply`` takes one
item or a list of them, each item names one whitelisted function, and decimals are integers
or quoted numbers (floats are refused). The loader stays the judge; the schema only helps.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from functools import cache
from itertools import pairwise
from typing import Any

from pydantic import BaseModel

from bridge.mapping import rulespec, spec
from bridge.mapping.functions import describe, library
from bridge.mapping.spec import MappingSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:brique:mapping:1"
DECIMAL_PATTERN = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
INTEGER_PATTERN = r"^\s*[+-]?\d+\s*$"

DECIMAL: dict[str, Any] = {
    "description": 'A decimal number: an integer or a quoted number such as "0.99" '
    "(floats are refused so money stays exact).",
    "anyOf": [{"type": "integer"}, {"type": "string", "pattern": DECIMAL_PATTERN}],
}


def mapping_json_schema() -> dict[str, Any]:
    """The schema of ``mappings/*.yaml`` (JSON Schema draft 2020-12), JSON-ready."""
    body = MappingSpec.model_json_schema(by_alias=True)
    defs: dict[str, Any] = body.setdefault("$defs", {})
    models = _models()
    for name, node in [("MappingSpec", body), *defs.items()]:
        model = models.get(name)
        if model is not None:
            _describe_properties(node, model)
    body = _decimals(body)
    defs = body["$defs"]
    defs["Decimal"] = DECIMAL
    defs["FieldRule"] = _field_rule(defs["FieldRule"])
    defs["ApplyItem"] = _apply_item()
    body.pop("title", None)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "Brique mapping",
        "description": "A Brique mapping file (mappings/*.yaml): locations, SKU crosswalk, "
        "stock and price rules, and field rules per connection. Check it with "
        "`brique mapping validate`.",
        **body,
    }


# -- descriptions from attribute docstrings ---------------------------------------------------


def _models() -> dict[str, type[BaseModel]]:
    """Spec models by the name pydantic gives their ``$defs`` entry (the class name)."""
    found: dict[str, type[BaseModel]] = {}
    for module in (spec, rulespec):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found.setdefault(value.__name__, value)
    return found


@cache
def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body (and its bases')."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        tree = ast.parse(source)
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, after in pairwise(body):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _describe_properties(node: dict[str, Any], model: type[BaseModel]) -> None:
    properties = node.get("properties", {})
    docs = attribute_docs(model)
    for name, field in model.model_fields.items():
        key = field.alias or name
        doc = field.description or docs.get(name)
        if doc and key in properties and "description" not in properties[key]:
            properties[key]["description"] = doc


# -- decimals ----------------------------------------------------------------------------------

_NUMBER, _STRING = {"type": "number"}, {"type": "string"}


def _decimals(node: Any) -> Any:
    """Replace pydantic's ``number | string`` (a Decimal) by integer-or-quoted-decimal."""
    if isinstance(node, list):
        return [_decimals(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _decimals(value) for key, value in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and _NUMBER in options and _STRING in options:
        rest = [o for o in options if o not in (_NUMBER, _STRING)]
        decimal = {"$ref": "#/$defs/Decimal"}
        if rest:
            out["anyOf"] = [decimal, *rest]
        else:
            del out["anyOf"]
            out.update(decimal)
    return out


# -- field rules and functions -----------------------------------------------------------------


def _field_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A field rule is a mapping, or a plain string that is its ``from`` path."""
    rule = dict(rule)
    properties = dict(rule["properties"])
    apply = properties["apply"]
    item = {"$ref": "#/$defs/ApplyItem"}
    properties["apply"] = {
        key: value for key, value in apply.items() if key not in ("items", "type", "anyOf")
    } | {"anyOf": [item, {"type": "array", "items": item}]}
    properties["from"] = {
        key: value for key, value in properties["from"].items() if key != "anyOf"
    } | {"type": ["string", "null"]}
    rule["properties"] = properties
    title = rule.pop("title", "FieldRule")
    return {
        "title": title,
        "description": "How one target field is filled: a JMESPath (a plain string is "
        "short for `from: <path>`), or a mapping with from/value, apply and on.",
        "anyOf": [
            {"type": "string", "description": "JMESPath selecting the value (short for from)."},
            rule,
        ],
    }


_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": INTEGER_PATTERN}]},
    "boolean": {"type": "boolean"},
    "decimal": {"$ref": "#/$defs/Decimal"},
    "rate": {
        "anyOf": [{"type": "string"}, {"type": "integer"}],
        "description": 'A tax rate name from taxes.rates, or a percent such as "5.5".',
    },
    "list": {"type": "array"},
    "mapping": {"type": "object"},
    "any": {},
}


def _param_schema(param: dict[str, Any]) -> dict[str, Any]:
    schema = dict(_TYPES.get(param["type"], {}))
    if param.get("choices"):
        schema = {"type": "string", "enum": list(param["choices"])}
    if "default" in param:
        if param["default"] is None and param["type"] != "any":
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["default"] = param["default"]
    required = ", required" if param["required"] else ""
    doc = param.get("doc") or ""
    schema["description"] = f"{doc} ({param['type']}{required})".strip()
    return schema


def _arguments(function: dict[str, Any]) -> dict[str, Any]:
    """What may follow ``- name:`` in an apply list for one function."""
    params = function["params"]
    required = [p["name"] for p in params if p["required"]]
    named: dict[str, Any] = {
        "type": "object",
        "properties": {p["name"]: _param_schema(p) for p in params},
        "additionalProperties": False,
    }
    if required:
        named["required"] = required
    options: list[dict[str, Any]] = [named]
    short = library()[function["name"]].shorthand
    if short is not None and set(required) <= {short.name}:
        # one bare value goes to the shorthand parameter: `- round: 2`, `- prefix: "FR-"`
        bare = next(p for p in params if p["name"] == short.name)
        value = _param_schema(bare)
        value["description"] = f"{short.name}: {value['description']}"
        options.append(value)
    if not required:
        options.append({"type": "null"})
    return {"description": _doc(function), "anyOf": options}


def _doc(function: dict[str, Any]) -> str:
    lines = [function["doc"] or function["name"]]
    if function["params"]:
        lines.append("")
        lines.append("Parameters:")
        for p in function["params"]:
            extra = " (required)" if p["required"] else ""
            if "default" in p:
                extra += f" (default {json.dumps(p['default'])})"
            doc = f" - {p['doc']}" if p.get("doc") else ""
            lines.append(f"- {p['name']}: {p['type']}{extra}{doc}")
    if function["source"] != "built-in":
        lines.append(f"\nFrom {function['source']}.")
    return "\n".join(lines)


def _apply_item() -> dict[str, Any]:
    """One ``apply`` item: a function name alone, or ``{name: arguments}``."""
    functions = describe()
    bare = [
        {"const": f["name"], "description": _doc(f)}
        for f in functions
        if not any(p["required"] for p in f["params"])
    ]
    return {
        "title": "Function",
        "description": "One whitelisted transform (see `brique mapping schema`): its name "
        "alone, or a mapping of its name to its arguments.",
        "anyOf": [
            {"type": "string", "oneOf": bare},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "properties": {f["name"]: _arguments(f) for f in functions},
                "additionalProperties": False,
            },
        ],
    }


def function_names(schema: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(names usable alone, names usable with arguments) in a schema built here."""
    bare, named = schema["$defs"]["ApplyItem"]["anyOf"]
    return [c["const"] for c in bare["oneOf"]], list(named["properties"])

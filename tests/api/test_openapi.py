"""`/openapi.json` describes every route the app serves, as a valid OpenAPI 3.1 document."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from adkstream.api import create_app
from adkstream.api.openapi import openapi_document
from tests.api.conftest import Api

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def served(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """(path, method) of every route; HEAD goes with GET, a WebSocket is its GET upgrade,
    a mount of files is `GET <mount>/{path}`."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)  # `{name:path}`: `{name}`
            found |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            found.add((route.path, "get"))
        elif isinstance(route, Mount):
            found.add((f"{route.path}/{{path}}", "get"))
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return found


def described(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_openapi_describes_every_route_and_no_other() -> None:
    app = create_app()
    routes = served(app.routes)
    document = described(openapi_document())
    assert routes - document == set(), "routes the document does not describe"
    assert document - routes == set(), "described paths the app does not serve"


@cache
def openapi_31_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document's structure, as JSON Schema (2020-12).

    The essentials of the official schema (spec.openapis.org/oas/3.1/schema), written
    out because tests use no network: the top-level fields, path items, operations,
    parameters, request bodies and responses."""
    media = {
        "type": "object",
        "properties": {"schema": {"type": ["object", "boolean"]}},
    }
    content = {"type": "object", "additionalProperties": media}
    response = {
        "type": "object",
        "required": ["description"],
        "properties": {"description": {"type": "string"}, "content": content},
        "additionalProperties": False,
    }
    parameter = {
        "type": "object",
        "required": ["name", "in"],
        "properties": {
            "name": {"type": "string"},
            "in": {"enum": ["query", "header", "path", "cookie"]},
            "required": {"type": "boolean"},
            "schema": {"type": ["object", "boolean"]},
        },
        "if": {"properties": {"in": {"const": "path"}}},
        "then": {"required": ["required"], "properties": {"required": {"const": True}}},
    }
    operation = {
        "type": "object",
        "required": ["responses"],
        "properties": {
            "summary": {"type": "string"},
            "description": {"type": "string"},
            "parameters": {"type": "array", "items": parameter},
            "requestBody": {
                "type": "object",
                "required": ["content"],
                "properties": {
                    "required": {"type": "boolean"},
                    "description": {"type": "string"},
                    "content": content,
                },
                "additionalProperties": False,
            },
            "responses": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^([1-5](XX|[0-9]{2})|default)$"},
                "additionalProperties": response,
            },
        },
        "additionalProperties": False,
    }
    path_item = {
        "type": "object",
        "propertyNames": {"enum": sorted(METHODS | {"summary", "description", "parameters"})},
        "additionalProperties": operation,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "properties": {
            "openapi": {"type": "string", "pattern": r"^3\.1\.\d+(-.+)?$"},
            "info": {
                "type": "object",
                "required": ["title", "version"],
                "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
            },
            "paths": {
                "type": "object",
                "propertyNames": {"pattern": "^/"},
                "additionalProperties": path_item,
            },
            "components": {
                "type": "object",
                "properties": {
                    "schemas": {"type": "object", "additionalProperties": {"type": "object"}}
                },
            },
        },
    }


def errors_of(document: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(openapi_31_schema())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_openapi_is_a_valid_openapi_31_document() -> None:
    document = openapi_document()
    assert errors_of(document) == []
    # Every schema in it is valid JSON Schema 2020-12 (OpenAPI 3.1's dialect).
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError naming the fault
    # Every $ref resolves to a component.
    refs = set(_refs(document))
    assert refs, "the document refers to its schemas"
    missing = {
        ref for ref in refs if ref.rsplit("/", 1)[-1] not in document["components"]["schemas"]
    }
    assert missing == set()
    # Every path parameter in a path is declared.
    for path, item in document["paths"].items():
        for op in item.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            named = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert declared == named, path


def test_openapi_check_catches_a_broken_document() -> None:
    broken = json.loads(json.dumps(openapi_document()))
    broken["openapi"] = "3.0.3"
    del broken["paths"]["/v1/runs"]["post"]["responses"]["200"]["description"]
    assert len(errors_of(broken)) == 2


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return own + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


async def test_openapi_is_served_as_built(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(openapi_document()))

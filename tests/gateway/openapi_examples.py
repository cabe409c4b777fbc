"""The examples of an OpenAPI document, found by walking it (not by a list of names), so
that an example a later route or schema brings is checked like the others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jsonschema_rs

Json = Any
Path = tuple[str | int, ...]
DOC = "urn:couponrush:openapi"
# JSON Schema keywords whose value is one subschema, a list of them, or names to them.
_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def pointer(path: Path) -> str:
    """RFC 6901 JSON pointer of a place in the document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def schema_examples(document: Json) -> Iterator[tuple[Path, Json]]:
    """(where the schema is, one example it must admit) for every example in the document:
    a schema's own, and those a parameter, media type or header gives beside its schema."""
    yield from _in_objects(document, ())


def examples_beside(node: Json) -> list[Json]:
    """The examples of a parameter, media type or header object (both spellings)."""
    found = [node["example"]] if "example" in node else []
    for name, example in node.get("examples", {}).items():
        assert "value" in example, f"example {name!r}: only inline values can be checked"
        found.append(example["value"])
    return found


def own_examples(schema: Json) -> list[Json]:
    """A schema's examples (the older single ``example`` too)."""
    if not isinstance(schema, dict):
        return []
    return [*schema.get("examples", []), *([schema["example"]] if "example" in schema else [])]


def _in_objects(node: Json, at: Path) -> Iterator[tuple[Path, Json]]:
    if at == ("components", "schemas"):
        for name, schema in node.items():
            yield from _in_schema(schema, (*at, name))
        return
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _in_objects(item, (*at, index))
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("schema"), dict):
        yield from (((*at, "schema"), example) for example in examples_beside(node))
        yield from _in_schema(node["schema"], (*at, "schema"))
    for key, value in node.items():
        if key not in ("schema", "example", "examples"):
            yield from _in_objects(value, (*at, key))


def _in_schema(schema: Json, at: Path) -> Iterator[tuple[Path, Json]]:
    if not isinstance(schema, dict):
        return
    yield from ((at, example) for example in own_examples(schema))
    for key in _ONE:
        if key in schema:
            yield from _in_schema(schema[key], (*at, key))
    for key in _LIST:
        for index, sub in enumerate(schema.get(key, [])):
            yield from _in_schema(sub, (*at, key, index))
    for key in _MAP:
        for name, sub in schema.get(key, {}).items():
            yield from _in_schema(sub, (*at, key, name))


class Schemas:
    """Validators for places in one document, formats checked, references resolved."""

    def __init__(self, document: Json) -> None:
        self._registry = jsonschema_rs.Registry([(DOC, document)], draft=jsonschema_rs.Draft202012)

    def errors(self, at: Path, instance: Json) -> list[str]:
        validator = jsonschema_rs.Draft202012Validator(
            {"$ref": f"{DOC}#{quote(pointer(at), safe='/~')}"},
            registry=self._registry,
            validate_formats=True,
        )
        return [f"{e.message} (at {e.instance_path})" for e in validator.iter_errors(instance)]

    def resolved(self, schema: Json) -> Json:
        """The schema a ``$ref`` points at (the schema itself when it has none)."""
        if not isinstance(schema, dict) or "$ref" not in schema:
            return schema
        return self._registry.resolver(DOC).lookup(schema["$ref"]).contents


def misfits(document: Json) -> list[str]:
    """Each example that its own schema does not admit, with why."""
    schemas = Schemas(document)
    return [
        f"{pointer(at)}: {example!r}: {error}"
        for at, example in schema_examples(document)
        for error in schemas.errors(at, example)
    ]


# Creating before changing before reading before removing: each example request finds what
# an earlier one made.
_METHODS = ("post", "put", "patch", "get", "head", "options", "delete")


@dataclass(frozen=True)
class ExampleRequest:
    at: Path  # the operation in the document
    url: str  # its path with the parameters' examples filled in
    query: dict[str, Json]
    body: list[Json]  # [] for none, else [the example]
    answers: Json  # the operation's documented responses

    @property
    def method(self) -> str:
        return str(self.at[-1]).upper()

    def __str__(self) -> str:
        return f"{self.method} {self.url} {self.body[0] if self.body else ''}"


def example_requests(document: Json) -> list[ExampleRequest]:
    """One request per body example of each operation (one bare request where it takes no
    body), its parameters from their examples; a required part without one is an error."""
    schemas = Schemas(document)
    found = [
        ("paths", path, method)
        for path, item in document.get("paths", {}).items()
        for method in item
        if method in _METHODS
    ]
    found.sort(key=lambda at: (str(at[1]).count("{"), _METHODS.index(str(at[2])), at[1]))
    requests = []
    for at in found:
        operation = document["paths"][at[1]][at[2]]
        url, query = _parameters(str(at[1]), operation, schemas)
        for body in _bodies(operation, schemas):
            requests.append(ExampleRequest(at, url, query, body, operation["responses"]))
    return requests


def _parameters(url: str, operation: Json, schemas: Schemas) -> tuple[str, dict[str, Json]]:
    query: dict[str, Json] = {}
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        values = [*examples_beside(parameter), *own_examples(schemas.resolved(parameter["schema"]))]
        if not values:
            assert not parameter.get("required"), f"{url}: {where} parameter {name} has no example"
            continue
        assert where in ("path", "query"), f"{url}: a {where} parameter's example is not sent"
        if where == "path":
            url = url.replace(f"{{{name}}}", quote(str(values[0]), safe=""))
        else:
            query[name] = values[0]
    return url, query


def _bodies(operation: Json, schemas: Schemas) -> list[list[Json]]:
    request = operation.get("requestBody", {})
    media = request.get("content", {}).get("application/json")
    found = []
    if media is not None:
        found = [*examples_beside(media), *own_examples(schemas.resolved(media["schema"]))]
    assert found or not request.get("required"), f"a required body has no example: {request}"
    return [[body] for body in found] or [[]]

"""JSON Schema from Python types: the API's answer shapes are TypedDicts, and the
OpenAPI document and the tests read their schemas from here.

Only what the API's shapes use: str, int, bool, None, Literal, unions with None, lists,
TypedDicts (each a named component, strict: every key required unless NotRequired, no
others), and Annotated[..., Meta(...)] for descriptions, patterns and bounds.
"""

from __future__ import annotations

import types
from dataclasses import asdict, dataclass
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

Schema = dict[str, Any]

REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Meta:
    """What a type alone cannot say about a field."""

    description: str | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    minItems: int | None = None
    maxItems: int | None = None
    minLength: int | None = None
    maxLength: int | None = None
    format: str | None = None
    enum: tuple[object, ...] | None = None

    def keywords(self) -> Schema:
        found = {key: value for key, value in asdict(self).items() if value is not None}
        if self.enum is not None:
            found["enum"] = list(self.enum)
        return found


@dataclass(frozen=True)
class Named:
    """Makes an annotated type a named component of its own."""

    name: str


# Keywords for a whole component that no field can carry (a rule between two fields).
EXTRA_KEYWORDS: dict[str, Schema] = {}


class Components:
    """The named schemas met while converting, for the document's components."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def of(self, annotation: Any) -> Schema:
        origin = get_origin(annotation)
        if origin in (NotRequired, Required):
            return self.of(get_args(annotation)[0])
        if origin is Annotated:
            inner, *extras = get_args(annotation)
            schema = self.of(inner)
            for extra in extras:
                if isinstance(extra, Meta):
                    schema = {**schema, **extra.keywords()}
            for extra in extras:
                if isinstance(extra, Named):
                    self.schemas[extra.name] = schema
                    return {"$ref": REF_PREFIX + extra.name}
            return schema
        if is_typeddict(annotation):
            return self._named(annotation)
        if origin is Literal:
            values = list(get_args(annotation))
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin in (Union, types.UnionType):
            return self._union(get_args(annotation))
        if origin is list:
            (item,) = get_args(annotation)
            return {"type": "array", "items": self.of(item)}
        return dict(_PLAIN[annotation])

    def _union(self, members: tuple[Any, ...]) -> Schema:
        others = [m for m in members if m is not type(None)]
        nullable = len(others) < len(members)
        if nullable and len(others) == 1:
            schema = self.of(others[0])
            if isinstance(schema.get("type"), str):
                return {**schema, "type": [schema["type"], "null"]}
        choices = [self.of(m) for m in others] + ([{"type": "null"}] if nullable else [])
        return {"anyOf": choices}

    def _named(self, shape: Any) -> Schema:
        name = shape.__name__
        if name not in self.schemas:
            self.schemas[name] = {}  # a placeholder, for shapes that refer to themselves
            hints = get_type_hints(shape, include_extras=True)
            schema: Schema = {
                "type": "object",
                # Read from the hints: with postponed annotations, __required_keys__
                # does not see NotRequired.
                "required": [
                    key for key, hint in hints.items() if get_origin(hint) is not NotRequired
                ],
                "properties": {key: self.of(hint) for key, hint in hints.items()},
                "additionalProperties": False,
            }
            if shape.__doc__:
                schema["description"] = " ".join(shape.__doc__.split())
            schema.update(EXTRA_KEYWORDS.get(name, {}))
            self.schemas[name] = schema
        return {"$ref": REF_PREFIX + name}


_PLAIN: dict[Any, Schema] = {
    str: {"type": "string"},
    int: {"type": "integer", "format": "int64"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
}

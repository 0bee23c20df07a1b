"""The OpenAPI 3 description of the API, served at /openapi.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def document(endpoints: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Landline", "version": "0.1.0"},
        "paths": {f"/{key}": {} for key in endpoints},
    }

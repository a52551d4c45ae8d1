"""The OpenAPI 3.0 document, built from the same table that routes requests."""

from __future__ import annotations

import re
from typing import Any, Iterable

from pydantic import BaseModel

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
COMMON_ERRORS = {
    400: "Malformed JSON, or a missing Idempotency-Key",
    401: "Missing or wrong API key, or no valid verification token",
    413: "Body too large",
    422: "Invalid fields",
}


def _body_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("definitions", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi_document(operations: Iterable[Any]) -> dict[str, Any]:
    """Return the document for ``operations`` (see app.OPERATIONS)."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", op.path)
        ]
        if op.writes:
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        if op.needs_token:
            parameters.append(
                {
                    "name": "X-Verification-Token",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                }
            )
        responses: dict[str, Any] = {
            str(status): {
                "description": text,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
            for status, text in op.responses.items()
        }
        for status, text in COMMON_ERRORS.items():
            if status in (400, 413, 422) and not op.body and not op.writes:
                continue
            responses.setdefault(
                str(status),
                {
                    "description": text,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}
                        }
                    },
                },
            )
        if op.needs_token or op.body:
            responses.setdefault(
                "404",
                {
                    "description": "Unknown id",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}
                        }
                    },
                },
            )
        entry: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.summary,
            "parameters": parameters,
            "responses": responses,
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.name == "verifyIdentity",
                "content": {
                    "application/json": {"schema": _body_schema(op.body, components)}
                },
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Gracious reference billing service",
            "version": "1.0.0",
            "description": (
                "Customers, subscriptions, retention offers and cancellations. "
                "Every /v1 call needs 'Authorization: Bearer <API key>'; every "
                "write an Idempotency-Key."
            ),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": paths,
    }

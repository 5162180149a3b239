"""The HTTP contract as an OpenAPI 3.1 document, served at ``GET /openapi.json``.

Every path and method, each request body with its exact types and bounds,
every response with the error envelope and headers. ``docs/API.md`` says the
same in prose; ``test/test_openapi.py`` holds this document to the Flask route
table, and CI fuzzes the app against it (schemathesis). Print it with
``python -m batfriend.api.openapi``.
"""

import json
from typing import Any

import batfriend
from batfriend.api.errors import HTTP_CODES
from batfriend.api.validation import LOBBY_NAME, USERNAME
from batfriend.message import MAX_BODY_LENGTH, MESSAGE_ID

Schema = dict[str, Any]

ERROR_CODES = sorted({*HTTP_CODES.values(), "internal_error"})

_WHEN = {
    400: "Not JSON, not an object, a field missing, of the wrong type, out of range, or unknown.",
    401: "No token, a bad or expired token, or wrong credentials.",
    403: "Authenticated, but not allowed.",
    404: "No such agent, message, lobby or pending request.",
    409: "Taken, at a limit, or already in progress.",
    413: "The body is over 64 KiB.",
    415: "The body is not declared as JSON.",
    429: "A rate limit was hit; Retry-After says when to try again.",
    503: "Redis or SQL unreachable or out of memory; try again later (Retry-After where known).",
}


def _string(pattern: str | None = None, min_length: int = 1, max_length: int = 64) -> Schema:
    schema: Schema = {"type": "string", "minLength": min_length, "maxLength": max_length}
    if pattern is not None:
        schema["pattern"] = f"^{pattern}$"
    return schema


USERNAME_SCHEMA = _string(USERNAME.pattern, 3, 32)
LOBBY_SCHEMA = _string(LOBBY_NAME.pattern, 1, 32)
MESSAGE_ID_SCHEMA = _string(MESSAGE_ID.pattern, 1, 64)
BODY_SCHEMA = _string(max_length=MAX_BODY_LENGTH)
# Spaces, dots, hyphens and parentheses are removed before the E.164 check.
PHONE_SCHEMA = _string(r"[ ().-]*\+[ ().-]*([0-9][ ().-]*){8,15}", 1, 32)
TIME_SCHEMA: Schema = {"type": "number", "minimum": 0}
DELIVER_AT_SCHEMA: Schema = {
    **TIME_SCHEMA,
    "description": "Epoch seconds, at most 365 days from now (400); in the past: now.",
}
LIMIT_SCHEMA: Schema = {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """A JSON object with exactly these fields: no others, no nulls for omitted ones."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def _open_object(fields: dict[str, Schema]) -> Schema:
    """A response object: these fields, always there; more may be added later."""
    return {"type": "object", "properties": fields, "required": list(fields)}


NULLABLE_STRING: Schema = {"type": ["string", "null"]}
MESSAGE: Schema = _open_object(
    {
        "id": {"type": "string"},
        "sender": NULLABLE_STRING,
        "to": NULLABLE_STRING,
        "lobby": NULLABLE_STRING,
        "body": {"type": "string"},
        "sent_at": {"type": "number"},
        "deliver_at": {"type": "number"},
        "read": {"type": ["boolean", "null"]},
    }
)
AGENT: Schema = _open_object(
    {
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "created_at": {"type": "number"},
    }
)
LOBBY_SNAPSHOT: Schema = _open_object(
    {
        "lobby": {"type": "string"},
        "members": {"type": "integer", "minimum": 0},
        "online": {"type": "array", "items": {"type": "string"}},
        "messages": {"type": "integer", "minimum": 0},
    }
)
NEXT_BEFORE: Schema = {"type": ["string", "null"]}
EMPTY: Schema = {"type": "object"}
READINESS: Schema = {"type": "string", "enum": ["ok", "down"]}


def _error_response(status: int) -> Schema:
    response: Schema = {
        "description": _WHEN[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def _ok(schema: Schema, description: str = "Done.") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _post(
    summary: str,
    request: Schema,
    status: int,
    answer: Schema,
    errors: tuple[int, ...] = (),
    token: bool = True,
) -> Schema:
    """One JSON POST operation: its body, its answer and every status it may give."""
    statuses = {400, 413, 415, 503, *errors} | ({401} if token else set())
    operation: Schema = {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
        "responses": {
            str(status): _ok(answer),
            **{str(code): _error_response(code) for code in sorted(statuses)},
        },
        "security": [{"bearer": []}] if token else [],
    }
    return {"post": operation}


def _get(summary: str, response: Schema) -> Schema:
    return {"get": {"summary": summary, "security": [], "responses": response}}


BAT_RESPONSE = {
    "200": {
        "description": "An ASCII bat.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
PAGE_FIELDS = {"before": MESSAGE_ID_SCHEMA, "limit": LIMIT_SCHEMA}

PATHS: dict[str, Schema] = {
    "/": _get("The bat: proves the service answers.", BAT_RESPONSE),
    "/status": _get("The bat again: the load balancer's health check.", BAT_RESPONSE),
    "/ready": _get(
        "Whether every Redis accepts writes and SQL answers SELECT 1.",
        {
            "200": _ok(_open_object({"redis": READINESS, "sql": READINESS})),
            "503": {
                "description": "Redis or SQL is down: the envelope plus both states.",
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [
                                {"$ref": "#/components/schemas/Error"},
                                _open_object({"redis": READINESS, "sql": READINESS}),
                            ]
                        }
                    }
                },
            },
        },
    ),
    "/openapi.json": _get(
        "This document.", {"200": _ok({"type": "object"}, "The OpenAPI 3.1 document.")}
    ),
    "/agents/register": _post(
        "Create an account.",
        _object(
            {"username": USERNAME_SCHEMA, "password": _string(min_length=8, max_length=256)},
            {
                "display_name": {
                    **_string(max_length=64),
                    "description": "No control or format characters (Unicode Cc, Cf).",
                }
            },
        ),
        201,
        AGENT,
        (409, 429),
        token=False,
    ),
    "/login": _post(
        "Exchange a username and password for a session token.",
        _object({"username": USERNAME_SCHEMA, "password": _string(max_length=256)}),
        200,
        _open_object({"token": {"type": "string"}, "expires_at": {"type": "number"}}),
        (401, 429),
        token=False,
    ),
    "/logout": _post("End the caller's session at once.", _object({}), 200, EMPTY),
    "/agents/view": _post(
        "An agent's public profile.", _object({"username": USERNAME_SCHEMA}), 200, AGENT, (404,)
    ),
    "/phones/set": _post(
        "Make a number the caller's, releasing the old one.",
        _object({"phone": PHONE_SCHEMA}),
        200,
        _open_object({"phone": {"type": "string"}}),
        (409,),
    ),
    "/phones/discover": _post(
        "Which of these numbers belong to agents, and to whom.",
        _object(
            {"phones": {"type": "array", "items": PHONE_SCHEMA, "minItems": 1, "maxItems": 1000}}
        ),
        200,
        _open_object({"matches": {"type": "object", "additionalProperties": {"type": "string"}}}),
        (429,),
    ),
    "/friends/request": _post(
        "Ask an agent to be friends (friends at once if they had asked first).",
        _object({"username": USERNAME_SCHEMA}),
        200,
        _open_object({"status": {"type": "string", "enum": ["requested", "friends"]}}),
        (404, 409, 429),
    ),
    "/friends/accept": _post(
        "Accept a pending friend request.",
        _object({"username": USERNAME_SCHEMA}),
        200,
        _open_object({"status": {"type": "string", "const": "friends"}}),
        (404, 409),
    ),
    "/friends/remove": _post(
        "End a friendship, or withdraw or decline a request.",
        _object({"username": USERNAME_SCHEMA}),
        200,
        EMPTY,
    ),
    "/friends/list": _post(
        "The caller's friends and pending requests.",
        _object({}),
        200,
        _open_object(
            {
                "friends": {
                    "type": "array",
                    "items": _open_object(
                        {"username": {"type": "string"}, "since": {"type": "number"}}
                    ),
                },
                "incoming": {"type": "array", "items": {"type": "string"}},
                "outgoing": {"type": "array", "items": {"type": "string"}},
            }
        ),
    ),
    "/messages/send": _post(
        "Send a message to a friend, now or at deliver_at (at most 365 days ahead).",
        _object({"to": USERNAME_SCHEMA, "body": BODY_SCHEMA}, {"deliver_at": DELIVER_AT_SCHEMA}),
        201,
        _open_object(
            {
                "id": {"type": "string"},
                "sent_at": {"type": "number"},
                "deliver_at": {"type": "number"},
            }
        ),
        (403, 404, 429),
    ),
    "/messages/reschedule": _post(
        "Deliver a waiting message the caller sent at another time.",
        _object({"id": MESSAGE_ID_SCHEMA, "deliver_at": DELIVER_AT_SCHEMA}),
        200,
        _open_object({"id": {"type": "string"}, "deliver_at": {"type": "number"}}),
        (404,),
    ),
    "/messages/inbox": _post(
        "One page of the caller's inbox, newest first.",
        _object({}, PAGE_FIELDS),
        200,
        _open_object(
            {
                "messages": {"type": "array", "items": MESSAGE},
                "unread": {"type": "integer", "minimum": 0},
                "next_before": NEXT_BEFORE,
            }
        ),
    ),
    "/messages/read": _post(
        "Mark messages of the caller's inbox read.",
        _object(
            {
                "ids": {
                    "type": "array",
                    "items": {
                        **_string(max_length=64),
                        "description": "Ids not in the inbox, of any form, are ignored.",
                    },
                    "minItems": 1,
                    "maxItems": 1000,
                }
            }
        ),
        200,
        _open_object({"unread": {"type": "integer", "minimum": 0}}),
    ),
    "/lobbies/join": _post(
        "Join a lobby (it exists once someone joins).",
        _object({"lobby": LOBBY_SCHEMA}),
        200,
        LOBBY_SNAPSHOT,
    ),
    "/lobbies/leave": _post("Leave a lobby.", _object({"lobby": LOBBY_SCHEMA}), 200, EMPTY),
    "/lobbies/post": _post(
        "Post a message to a lobby the caller has joined.",
        _object({"lobby": LOBBY_SCHEMA, "body": BODY_SCHEMA}),
        201,
        _open_object({"id": {"type": "string"}, "sent_at": {"type": "number"}}),
        (403, 404, 429),
    ),
    "/lobbies/history": _post(
        "One page of a lobby's history, newest first; members only.",
        _object({"lobby": LOBBY_SCHEMA}, PAGE_FIELDS),
        200,
        _open_object({"messages": {"type": "array", "items": MESSAGE}, "next_before": NEXT_BEFORE}),
        (403, 404),
    ),
    "/lobbies/view": _post(
        "A lobby's snapshot.", _object({"lobby": LOBBY_SCHEMA}), 200, LOBBY_SNAPSHOT, (403, 404)
    ),
}

SQS_PATH: Schema = {
    "post": {
        "summary": "The Elastic Beanstalk worker daemon's endpoint (worker tier only).",
        "description": (
            "404 unless BATFRIEND_EXPOSE_SQS=1; only the instance itself may call it (403). "
            "200 tells sqsd to delete the message; each X-Aws-Sqsd-Msgid takes effect once."
        ),
        "security": [],
        "parameters": [
            {
                "name": "X-Aws-Sqsd-Msgid",
                "in": "header",
                "required": True,
                "schema": _string(r"[A-Za-z0-9_.:-]{1,128}", 1, 128),
            },
            {
                "name": "X-Aws-Sqsd-Taskname",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "enum": ["deliver", "sweep", "archive"]},
            },
        ],
        "requestBody": {
            "description": "Required without X-Aws-Sqsd-Taskname; ignored with it.",
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            _object({"type": {"type": "string", "const": "tick"}}),
                            _object(
                                {
                                    "type": {"type": "string", "const": "system_message"},
                                    "to": USERNAME_SCHEMA,
                                    "body": BODY_SCHEMA,
                                }
                            ),
                        ]
                    }
                }
            },
        },
        "responses": {
            "200": _ok(_open_object({"msgid": {"type": "string"}, "ran": {"type": "boolean"}})),
            **{str(code): _error_response(code) for code in (400, 403, 404, 409, 413, 415, 503)},
        },
    }
}


def document() -> Schema:
    """Return the whole OpenAPI 3.1 document (``/sqs`` included: its description says when)."""
    error = _open_object(
        {
            "error": {
                "type": "object",
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": sorted({*HTTP_CODES.values(), "internal_error"}),
                    },
                    "message": {"type": "string"},
                },
                "required": ["code", "message"],
            }
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "batfriend",
            "version": batfriend.__version__,
            "description": "Find your friends and message them. Prose: docs/API.md.",
        },
        "paths": {**PATHS, "/sqs": SQS_PATH},
        "components": {
            "schemas": {"Error": error},
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token from POST /login.",
                }
            },
        },
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, ensure_ascii=False))

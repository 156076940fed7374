"""The OpenAPI document of every route (served, without a token, at ``/v1/openapi.json``).

WebSocket routes are described as the ``GET`` that upgrades (101); their frames are
described in words (OpenAPI has no WebSocket messages).
"""

from __future__ import annotations

from typing import Any

__all__ = ["document"]

_ERRORS = {
    "400": "InvalidArgument (a bad field, value or JSON), FileError",
    "401": "Unauthorized: no token, a wrong one, or one in the query string of an HTTP route",
    "403": "ForbiddenOrigin: a WebSocket from a foreign Origin",
    "404": "UnknownJob (no such process), FileNotFound, NotFound (no such route)",
    "409": "JobStillRunning, ProcessExited, StreamClosed, StreamBroken",
    "413": "PayloadTooLarge: past maxRequestBytes or maxInputBytesPerRequest",
    "422": "CommandNotFound, LaunchError (the command could not start)",
    "429": "JobLimitReached: past maxConcurrentProcesses",
    "501": "NotSupported: the served sandbox's backend lacks the feature",
    "502": "the sandbox failed or cannot be reached",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    ok: tuple[str, dict[str, Any]],
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = ("400", "401", "404", "502"),
    public: bool = False,
) -> dict[str, Any]:
    code, response = ok
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            code: response,
            **{
                e: {"description": _ERRORS[e], **_json(_ref("Error"))}
                for e in errors
                if not (public and e == "401")
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, **body}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def _query(name: str, schema: dict[str, Any], text: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": text,
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_INT = {"type": "integer", "minimum": 0}
_B64 = {"type": "string", "format": "byte", "description": "base64"}
_ARGV = {"type": "array", "items": {"type": "string"}, "minItems": 1}
_ENV = {"type": "object", "additionalProperties": {"type": "string"}}
_STREAM = _query(
    "stream",
    {"type": "string", "enum": ["stdout", "stderr", "combined"]},
    "a process made with combined=true has one stream, combined; others stdout and stderr",
)


def _schemas() -> dict[str, Any]:
    exit_fields = {
        "exitCode": {"type": "integer", "nullable": True},
        "signal": {"type": "string", "nullable": True, "example": "SIGTERM"},
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                        "errno": {"type": "integer"},
                        "command": {"type": "string"},
                    },
                }
            },
        },
        "RunRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["argv"],
            "properties": {
                "argv": _ARGV,
                "cwd": {"type": "string"},
                "env": _ENV,
                "stdin": _B64,
                "timeoutMs": {"type": "integer", "minimum": 1},
                "maxOutputBytes": _INT,
            },
        },
        "RunResult": {
            "type": "object",
            "properties": {
                **exit_fields,
                "stdout": _B64,
                "stderr": _B64,
                "timedOut": {"type": "boolean"},
                "stdoutTruncated": {"type": "boolean"},
                "stderrTruncated": {"type": "boolean"},
                "durationMs": _INT,
            },
        },
        "ProcessRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["argv"],
            "properties": {
                "argv": _ARGV,
                "cwd": {"type": "string"},
                "env": _ENV,
                "tty": {"type": "boolean", "description": "a terminal, held by this server"},
                "rows": {"type": "integer", "minimum": 1, "maximum": 65535},
                "cols": {"type": "integer", "minimum": 1, "maximum": 65535},
                "combined": {
                    "type": "boolean",
                    "description": "one log for stdout and stderr (default: two)",
                },
                "timeoutMs": {"type": "integer", "minimum": 1},
            },
        },
        "Process": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "argv": _ARGV,
                "cwd": {"type": "string", "nullable": True},
                "tty": {"type": "boolean"},
                "streams": {"type": "array", "items": {"type": "string"}},
                "status": {"type": "string", "enum": ["running", "exited", "crashed"]},
                **exit_fields,
                "timedOut": {"type": "boolean"},
                "logTruncated": {"type": "boolean"},
                "createdAtMs": _INT,
                "size": {
                    "type": "object",
                    "properties": {"rows": _INT, "cols": _INT},
                },
            },
        },
        "LogRead": {
            "type": "object",
            "properties": {
                "stream": {"type": "string"},
                "cursor": _INT,
                "nextCursor": _INT,
                "data": _B64,
                "eof": {"type": "boolean"},
                "process": _ref("Process"),
            },
        },
        "Limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: {"type": "integer", "minimum": 1}
                for name in (
                    "maxConcurrentProcesses",
                    "defaultRunTimeoutMs",
                    "maxRunTimeoutMs",
                    "maxOutputBytes",
                    "maxLogBytesPerProcess",
                    "maxInputBytesPerRequest",
                    "maxRequestBytes",
                )
            },
        },
    }


def _paths() -> dict[str, Any]:
    process = ("200", {"description": "the process", **_json(_ref("Process"))})
    empty = ("204", {"description": "done"})
    upgrade = ("101", {"description": "switching to WebSocket"})
    p = "/v1/processes/{id}"
    return {
        "/v1/openapi.json": {
            "get": _op(
                "this document", ("200", {"description": "OpenAPI 3"}), errors=(), public=True
            )
        },
        "/v1/sandbox": {
            "get": _op(
                "the served sandbox's backend and capabilities",
                ("200", {"description": "backend, capabilities"}),
                errors=("401",),
            )
        },
        "/v1/limits": {
            "get": _op(
                "the limits",
                ("200", {"description": "limits", **_json(_ref("Limits"))}),
                errors=("401",),
            ),
            "put": _op(
                "change some limits (the fields given)",
                ("200", {"description": "the new limits", **_json(_ref("Limits"))}),
                body=_json(_ref("Limits")),
                errors=("400", "401", "413"),
            ),
        },
        "/v1/run": {
            "post": _op(
                "run a command to completion (closing the connection first kills it)",
                ("200", {"description": "its result", **_json(_ref("RunResult"))}),
                body=_json(_ref("RunRequest")),
                errors=("400", "401", "413", "422", "501", "502"),
            )
        },
        "/v1/processes": {
            "get": _op(
                "every managed process",
                (
                    "200",
                    {
                        "description": "the processes",
                        **_json(
                            {
                                "type": "object",
                                "properties": {
                                    "processes": {"type": "array", "items": _ref("Process")}
                                },
                            }
                        ),
                    },
                ),
                errors=("401", "502"),
            ),
            "post": _op(
                "start a managed process (a durable job; with tty, a terminal)",
                ("201", {"description": "started", **_json(_ref("Process"))}),
                body=_json(_ref("ProcessRequest")),
                errors=("400", "401", "413", "422", "429", "501", "502"),
            ),
        },
        p: {
            "parameters": [_ID],
            "get": _op("one process", process),
            "delete": _op("forget an ended process", empty, errors=("400", "401", "404", "409")),
        },
        f"{p}/stop": {
            "parameters": [_ID],
            "post": _op(
                "SIGTERM, wait waitMs (default 2000), then SIGKILL",
                process,
                body=_json(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"waitMs": {"type": "integer", "minimum": 0}},
                    }
                ),
            ),
        },
        f"{p}/kill": {
            "parameters": [_ID],
            "post": _op(
                "send a signal (by name, default SIGKILL) to its processes",
                process,
                body=_json(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"signal": {"type": "string", "example": "SIGINT"}},
                    }
                ),
            ),
        },
        f"{p}/input": {
            "parameters": [_ID],
            "post": _op(
                "write to its stdin, then EOF if eof",
                empty,
                body=_json(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"data": _B64, "eof": {"type": "boolean"}},
                    }
                ),
                errors=("400", "401", "404", "409", "413"),
            ),
        },
        f"{p}/resize": {
            "parameters": [_ID],
            "post": _op(
                "resize a terminal",
                process,
                body=_json(
                    {
                        "type": "object",
                        "required": ["rows", "cols"],
                        "properties": {"rows": _INT, "cols": _INT},
                    }
                ),
                errors=("400", "401", "404", "409", "501"),
            ),
        },
        f"{p}/logs": {
            "parameters": [_ID],
            "get": _op(
                "its log from a byte cursor (or its last lines with tail)",
                ("200", {"description": "bytes and the next cursor", **_json(_ref("LogRead"))}),
                params=[
                    _query("cursor", _INT, "byte offset to read from (default 0)"),
                    _query("maxBytes", _INT, "at most this many bytes"),
                    _query("tail", _INT, "the last N lines instead"),
                    _STREAM,
                ],
            ),
        },
        f"{p}/logs/follow": {
            "parameters": [_ID],
            "get": _op(
                "Server-Sent Events: the log from a cursor, then live; each event's id is the "
                "cursor after it (reconnect with Last-Event-ID); an exit event ends it",
                ("200", {"description": "text/event-stream"}),
                params=[
                    _query("cursor", _INT, "byte offset to start at (Last-Event-ID wins)"),
                    _STREAM,
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                ],
            ),
        },
        f"{p}/terminal": {
            "parameters": [_ID],
            "get": _op(
                "WebSocket to a terminal: its recent output, then live, as binary frames; "
                "binary frames in are its input; text frames {type: resize, rows, cols}, "
                "{type: eof}; the server sends {type: exit, ...}. Token: header or ?token=",
                upgrade,
                params=[_query("cursor", _INT, "replay from this offset")],
                errors=("401", "403"),
            ),
        },
        f"{p}/stdio": {
            "parameters": [_ID],
            "get": _op(
                "WebSocket to a process's stdio: binary frames, first byte the channel "
                "(0 stdin, 1 stdout, 2 stderr); text {type: eof} closes stdin; the server "
                "sends {type: exit, ...} at the end",
                upgrade,
                errors=("401", "403"),
            ),
        },
        "/v1/spawn": {
            "get": _op(
                "WebSocket: a process bound to the socket (the Python client's). First "
                "text frame {argv, cwd, env, tty: {rows, cols} | null, stdin}; then {type: "
                "ready} or {type: error}, channel frames as on stdio, {type: eof, stream}, "
                "{type: exit, exitCode, signal}; in: {type: eof | signal | resize}. Closing "
                "the socket while the process runs kills its process group",
                upgrade,
                errors=("401", "403"),
            ),
        },
        "/v1/files": {
            "get": _op(
                "read a file",
                ("200", {"description": "its bytes", "content": {"application/octet-stream": {}}}),
                params=[_query("path", {"type": "string", "minLength": 1}, "absolute path", True)],
                errors=("400", "401", "404", "501", "502"),
            ),
            "put": _op(
                "write a file (created or truncated) from the request body",
                empty,
                body={
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    }
                },
                params=[
                    _query("path", {"type": "string", "minLength": 1}, "absolute path", True),
                    _query("mode", {"type": "string", "pattern": "^[0-7]{1,4}$"}, "octal"),
                ],
                errors=("400", "401", "404", "413", "501", "502"),
            ),
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "sandlot serve",
            "version": "1",
            "description": "One sandbox's process API (see docs/serve.md). Bytes are base64 "
            "in JSON and binary frames on WebSockets.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
    }

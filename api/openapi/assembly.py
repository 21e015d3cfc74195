"""Assembles the document: paths from the operations, parameters, errors, security, caching."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import msgspec

from api.endpoints import Endpoint, ListOf, Operation
from api.idempotency import IDEMPOTENCY_KEY_MAX
from api.middleware import PUBLIC_PATHS, REQUEST_ID
from api.openapi.components import PUBLISHED_VIEWS, response_schemas
from api.openapi.schemas import REF_TEMPLATE, Schema, page_of, ref
from api.openapi.stream import RESUME_FROM
from api.query import PageLimits, Query
from api.ratelimit import RATE_LIMIT_HEADERS, UNLIMITED_PATHS
from api.validation import Body
from runtime.access import keys
from runtime.platform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    UpstreamFailed,
    ValidationError,
)
from runtime.platform.json_input import MAX_DEPTH
from runtime.platform.settings import Settings
from runtime.platform.views import View
from runtime.sessions import store as sessions

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"

SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "researcher": [{"apiKey": []}],
    "respondent": [{"sessionToken": []}],
    "stream": [{"ticket": []}, {"sessionToken": []}, {"apiKey": []}],
    "session": [{"sessionToken": []}, {"apiKey": []}],
    "public": [],
}
ERROR_RESPONSES: dict[int, tuple[str, type[DomainError] | None, str]] = {
    400: ("BadRequest", ValidationError, "The request is not valid (validation_error)"),
    401: ("Unauthorized", Unauthorized, "Missing or invalid credentials (unauthorized)"),
    403: ("Forbidden", Forbidden, "The link or credentials do not allow this (forbidden)"),
    404: ("NotFound", NotFound, "No such resource in this workspace (not_found)"),
    409: ("Conflict", Conflict, "Not allowed in the resource's current state (conflict)"),
    413: ("PayloadTooLarge", PayloadTooLarge, "The body is over the size limit"),
    429: ("RateLimited", RateLimited, "Over the rate limit; retry after Retry-After seconds"),
    500: ("InternalError", None, "Unexpected server error, logged with the request id"),
    502: (
        "BadGateway",
        UpstreamFailed,
        "A provider the request needed (speech recognition) failed or timed out "
        "(upstream_failed, or the code the endpoint names)",
    ),
    503: (
        "Unavailable",
        Unavailable,
        "A store (Redis, the database) is unreachable, too slow or locked; retry after "
        "Retry-After seconds (unavailable)",
    ),
}


def _parameter(
    name: str, where: str, schema: Schema, description: str, required: bool = False
) -> dict[str, Any]:
    """A parameter object: in the query, a header or the path."""
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": schema,
        "description": description,
    }


def _parameters(endpoints: tuple[Endpoint, ...], limits: PageLimits) -> dict[str, Any]:
    """The query parameters the endpoints declare (api.routes.params), and the headers."""
    declared: dict[str, Query[Any]] = {}
    for endpoint in endpoints:
        for param in endpoint.operation.query:
            if declared.setdefault(param.component, param) is not param:
                raise ValueError(f"two query parameters are named {param.component}")
    request_id = re.sub(r"[\^$]", "", REQUEST_ID.pattern)
    return {
        **{name: param.parameter(limits) for name, param in declared.items()},
        "LastEventIdHeader": _parameter(
            "Last-Event-ID",
            "header",
            {"type": "string", "pattern": f"^({RESUME_FROM.strip('^$')})?$"},
            "Resume after this event id (sent by EventSource on reconnect; "
            "takes precedence over last_event_id; empty: as if not sent)",
        ),
        "IdempotencyKey": _parameter(
            "Idempotency-Key",
            "header",
            {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX},
            "Makes the POST safe to retry for 24 h: the same key with the same body answers "
            "the original status and body (with `Idempotent-Replayed: true`); with another "
            "body, or while the first request is still running, 409 conflict",
        ),
        "RequestId": _parameter(
            "X-Request-Id",
            "header",
            {"type": "string"},
            f"Your request id, echoed in the response if it matches "
            f"`{request_id}`; otherwise the server makes one",
        ),
    }


def _error_schema(cls: type[DomainError] | None, more: tuple[str, ...] = ()) -> Schema:
    code = cls.code if cls is not None else "internal_error"
    codes: Schema = {"enum": [code, *more]} if more else {"const": code}
    return {
        "allOf": [
            ref("Error"),
            {"properties": {"error": {"properties": {"code": codes}}}},
        ]
    }


def _response_headers(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}
    for name in RATE_LIMIT_HEADERS:
        headers[name] = {"$ref": f"#/components/headers/{name.replace('-', '')}"}
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWWAuthenticate"}
    if status in (429, 503):
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    return headers


def _error_response(status: int, description: str, more: tuple[str, ...] = ()) -> dict[str, Any]:
    _, cls, _ = ERROR_RESPONSES[status]
    return {
        "description": description,
        "headers": _response_headers(status),
        "content": {"application/json": {"schema": _error_schema(cls, more)}},
    }


def _operation(op: Operation, max_body_bytes: int, max_message_chars: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": SECURITY[op.auth],
    }
    description = op.description
    if op.scope is not None:
        # OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs: the key's scope.
        out["security"] = [
            {name: [op.scope] if name == "apiKey" else [] for name in requirement}
            for requirement in SECURITY[op.auth]
        ]
        out["x-required-scope"] = op.scope
        needs = f"Requires an API key with the `{op.scope}` scope."
        if op.auth == "stream":
            needs = f"With an API key, the key needs the `{op.scope}` scope."
        description = f"{needs} {description}".strip()
    if op.message_limit:
        description = (
            f"{description} This deployment limits content to {max_message_chars} characters "
            "after trimming, tighter than the schema's maxLength."
        ).strip()
    if description:
        out["description"] = description
    params: list[dict[str, Any]] = [
        _parameter(name, "path", {"type": "string"}, meaning, required=True)
        for name, meaning in op.path_params
    ]
    headers = (*op.headers, "IdempotencyKey") if op.method == "post" else op.headers
    names = (*(q.component for q in op.query), *headers)
    params += [{"$ref": f"#/components/parameters/{name}"} for name in names]
    params.append({"$ref": "#/components/parameters/RequestId"})
    out["parameters"] = params
    if op.body is not None:
        media: dict[str, Any] = {"schema": ref(op.body.name)}
        if op.body.examples:
            media["examples"] = {k: {"value": v} for k, v in op.body.examples.items()}
        request_body: dict[str, Any] = {
            "required": op.body_required,
            "content": {"application/json": media},
        }
        if op.body_description:
            request_body["description"] = op.body_description
        out["requestBody"] = request_body
    if op.upload:
        binary = {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
        out["requestBody"] = {"required": True, "content": dict.fromkeys(op.upload, binary)}
    responses: dict[str, Any] = {}
    for reply in op.replies:
        response: dict[str, Any] = {"description": reply.description}
        if not op.websocket:
            response["headers"] = _response_headers(reply.status)
        if op.method == "post":
            response["headers"]["Idempotent-Replayed"] = {
                "$ref": "#/components/headers/IdempotentReplayed"
            }
        if reply.schema is not None:
            schema = reply.schema
            if isinstance(schema, type):
                schema = ref(schema.__name__)
            elif isinstance(schema, ListOf):
                schema = ref(schema.name)
            elif isinstance(schema, str):
                schema = ref(schema)
            response["content"] = {reply.media: {"schema": schema}}
            for extra in reply.also:
                response["content"][extra] = {"schema": {"type": "string"}}
        responses[str(reply.status)] = response
    automatic: set[int] = {500}
    if op.body is not None or op.query or op.headers or op.method == "post":
        automatic.add(400)
    if op.auth != "public":
        automatic.add(401)
    if op.method != "get" and not op.websocket:
        automatic.add(413)
    if op.scope is not None:
        automatic.add(403)
    if op.method == "post":
        automatic.add(409)
    if op.path not in UNLIMITED_PATHS:
        automatic.add(429)
        # Any operation may meet a store that stalls (health probes answer for themselves).
        automatic.add(503)
    if op.websocket:
        automatic = set()  # refusals happen in the handshake; see the description
    for status in sorted(automatic | set(op.errors)):
        specific = op.errors.get(status)
        if status == 409 and op.method == "post":
            specific = (
                f"{specific or 'Not allowed in the current state'}; or the Idempotency-Key "
                "was used with another body, or its first request is still running"
            )
        if status == 403 and op.scope is not None:
            specific = f"The API key lacks the {op.scope} scope (forbidden)"
        if status == 413 and not op.upload:
            specific = f"The body is over {max_body_bytes} bytes (payload_too_large)"
        if specific:
            responses[str(status)] = _error_response(status, specific, op.codes.get(status, ()))
        else:
            responses[str(status)] = {
                "$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"
            }
    out["responses"] = responses
    return out


def _info_description(max_body_bytes: int, page_limit_max: int) -> str:
    return (
        "Rapport: a self-hostable, real-time conversational interview runtime.\n\n"
        "Researcher endpoints take an API key (`Authorization: Bearer rk_live_…`); respondent "
        "endpoints take the session token from starting a session (`Bearer st_…`); live "
        "streams also take a short-lived signed `ticket` in the query string.\n\n"
        "Each researcher operation needs one scope of the key (`x-required-scope`, also listed "
        "in its security requirement); without it the answer is 403 forbidden naming the "
        "scope.\n\n"
        'Errors always have the shape `{"error": {"code", "message", "field"?}}` with stable '
        "codes (validation_error 400, unauthorized 401, forbidden 403, not_found 404, "
        "method_not_allowed 405, conflict 409, payload_too_large 413, rate_limited 429, "
        "internal_error 500, unavailable 503). An unknown path is 404 and "
        "a known path with another method is 405, on any route. Any request body over "
        f"{max_body_bytes} bytes is refused with 413.\n\n"
        "Text no store can hold and give back is refused, on any route: a path holding NUL "
        "(`%00`) or a lone UTF-16 surrogate is 404 (a WebSocket closes with 4404); a query "
        "parameter holding one is 400 naming it (4400). JSON bodies and WebSocket frames "
        f"nest at most {MAX_DEPTH} arrays and objects deep, hold only finite numbers (no NaN, "
        "no integer past 4,300 digits) and no NUL or lone surrogate in any string or field "
        "name: 400 validation_error naming the field.\n\n"
        'Lists answer `{"items", "next_cursor", "has_more"}`, newest first; pass next_cursor '
        f"as `cursor` for the next page; `limit` is 1 to {page_limit_max}.\n\n"
        "Every POST takes an `Idempotency-Key`: a retry with the same key and body within 24 h "
        "gets the original answer; with another body, 409.\n\n"
        "Rate limits: a request with a valid API key counts against the key's plan; one with "
        "a valid session token or stream ticket against its session; everything else (a "
        "credential that fails its check too) against the client address, and starting a "
        "session also against the address's session starts; responses carry "
        "`X-RateLimit-Limit`, `X-RateLimit-Remaining` and "
        "`X-RateLimit-Reset`, and 429 rate_limited comes with `Retry-After`.\n\n"
        "503 unavailable (with `Retry-After`) means a store did not answer in time: Redis "
        "unreachable or frozen, a database table locked, every connection busy. Retry the "
        "same request; a POST /v1/sessions/{id}/messages that got 503 may have been stored, "
        "so retry it with the same client_message_id.\n\n"
        "Every HTTP response carries `X-Request-Id` (yours if you sent a sane one). CORS is "
        f"enabled only for the public respondent paths (`{PUBLIC_PATHS.pattern}`)."
    )


def _structs(types: Iterable[msgspec.inspect.Type]) -> Iterator[msgspec.inspect.StructType]:
    """Every struct in these type trees (a view's nested views, in lists, unions, dicts, and
    under `Annotated[..., Meta(...)]`)."""
    for node in types:
        if isinstance(node, msgspec.inspect.Metadata):
            yield from _structs([node.type])
        elif isinstance(node, msgspec.inspect.StructType):
            yield node
            yield from _structs(f.type for f in node.fields)
        elif isinstance(node, msgspec.inspect.UnionType):
            yield from _structs(node.types)
        elif isinstance(node, (msgspec.inspect.ListType, msgspec.inspect.SetType)):
            yield from _structs([node.item_type])
        elif isinstance(node, msgspec.inspect.DictType):
            yield from _structs([node.key_type, node.value_type])


def view_schemas(views: Iterable[type[View]]) -> dict[str, Schema]:
    """The views and every view nested in them, by class name (msgspec writes each schema
    from the fields' types and `Meta`: runtime.platform.views).

    A view writes every field, defaults included, except one left UNSET: those are the
    required ones, whatever msgspec infers from the defaults; and it writes nothing else.
    """
    ordered = sorted(set(views), key=lambda view: view.__name__)
    _, components = msgspec.json.schema_components(ordered, ref_template=REF_TEMPLATE)
    # msgspec.inspect reports an UNSET default as no default; structs.fields keeps it.
    written = {
        node.cls.__name__: [
            f.encode_name
            for f in msgspec.structs.fields(node.cls)
            if f.default is not msgspec.UNSET
        ]
        for node in _structs(msgspec.inspect.multi_type_info(ordered))
    }
    for name, schema in components.items():
        if "." in name:  # msgspec qualifies a name two views share
            raise ValueError(f"two views are named {name.rsplit('.', 1)[-1]}")
        schema.pop("title", None)  # the component's name already says it
        if name in written:
            schema["required"] = written[name]
            schema["additionalProperties"] = False
    return components


def _published(ops: Sequence[Operation]) -> dict[str, Schema]:
    """Every response schema: the hand-written components, the views replies name (and the
    views those nest), and a page schema for each `ListOf`."""
    replies = [r.schema for op in ops for r in op.replies]
    pages = {r for r in replies if isinstance(r, ListOf)}
    views = {r for r in replies if isinstance(r, type)} | {p.view for p in pages}
    written = response_schemas()
    generated = {
        **view_schemas([*views, *PUBLISHED_VIEWS]),
        **{p.name: page_of(p.view.__name__) for p in pages},
    }
    clash = written.keys() & generated.keys()
    if clash:
        raise ValueError(f"a view is named like another response schema: {sorted(clash)}")
    return {**written, **generated}


@lru_cache(maxsize=8)
def _document(
    endpoints: tuple[Endpoint, ...],
    page_limit_default: int,
    page_limit_max: int,
    max_body_bytes: int,
    max_message_chars: int,
) -> dict[str, Any]:
    ops = [e.operation for e in endpoints]
    bodies: dict[str, Body] = {}
    for op in ops:
        if op.body is not None and bodies.setdefault(op.body.name, op.body) is not op.body:
            raise ValueError(f"two request bodies are named {op.body.name}")
    schemas: dict[str, Schema] = {name: body.shape.schema() for name, body in bodies.items()}
    for name, schema in _published(ops).items():
        if name in schemas:
            raise ValueError(f"{name} is both a request body and a response schema")
        schemas[name] = schema
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        methods = paths.setdefault(op.path, {})
        if op.method in methods:
            raise ValueError(f"{op.method.upper()} {op.path} is declared twice")
        methods[op.method] = _operation(op, max_body_bytes, max_message_chars)
    responses = {
        name: _error_response(status, description)
        for status, (name, _, description) in ERROR_RESPONSES.items()
    }
    tags = {
        "interviews": "Interviews: settings and lifecycle (draft → active ⇄ paused → closed)",
        "guide": "The study guide: sections holding questions and tasks",
        "sessions": "Sessions and transcripts, for researchers",
        "api-keys": "API keys: scoped, shown once, revocable",
        "console": "The researchers' console: signing in with a key, for a short-lived ticket",
        "webhooks": "Webhooks: signed event deliveries (Standard Webhooks) with retries",
        "respondent": "The public respondent API (CORS-enabled)",
        "streams": "Live session events over SSE and WebSocket, resumable from any event id",
        "exports": "Bulk exports of transcripts, audio and PDFs, streamed or as jobs",
        "synthesis": "Analysis across sessions: knowledge graph, saturation, themes, findings",
        "pages": "The respondent page and the researchers' console",
        "operations": "Health, readiness and this document",
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Rapport API",
            "version": API_VERSION,
            "description": _info_description(max_body_bytes, page_limit_max),
        },
        "tags": [{"name": k, "description": v} for k, v in tags.items()],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": _parameters(endpoints, PageLimits(page_limit_default, page_limit_max)),
            "headers": {
                "RequestId": {
                    "description": "The request's id (yours if you sent a sane X-Request-Id); "
                    "quote it when reporting a problem",
                    "schema": {"type": "string"},
                },
                "WWWAuthenticate": {
                    "description": "Bearer (on API key and session token failures)",
                    "schema": {"type": "string"},
                },
                "XRateLimitLimit": {
                    "description": "Requests allowed in the current window of the limit the "
                    "request counted against: a valid API key's plan, a valid session token's "
                    "or ticket's session, the address's session starts, or else the client "
                    "address",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "XRateLimitRemaining": {
                    "description": "Requests left in the current window",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "XRateLimitReset": {
                    "description": "Unix time (seconds) when the window resets",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "IdempotentReplayed": {
                    "description": "true when this is the stored answer to an earlier request "
                    "with the same Idempotency-Key",
                    "schema": {"type": "string", "const": "true"},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer", "minimum": 0},
                },
            },
            "responses": responses,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{keys.KEY_PREFIX}…",
                    "description": "A workspace API key for the researcher endpoints, or a "
                    "console ticket (`ct_…`, POST /v1/console/tickets) standing for one",
                },
                "sessionToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{sessions.SESSION_TOKEN_PREFIX}…",
                    "description": "A respondent's session token, returned when the session starts",
                },
                "ticket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "ticket",
                    "description": "A short-lived signed stream ticket for one session (what "
                    "an EventSource can carry instead of a token)",
                },
            },
        },
    }


def document(settings: Settings, base_url: str, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """The document of `endpoints` (api.catalog's) for this deployment's limits, served from
    `base_url`. The catalog is passed in: it holds the endpoint serving this document."""
    built = _document(
        tuple(endpoints),
        settings.page_limit_default,
        settings.page_limit_max,
        settings.max_body_bytes,
        settings.max_message_chars,
    )
    return {**built, "servers": [{"url": base_url}]}

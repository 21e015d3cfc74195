"""Researcher endpoints for API keys: create (plaintext shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import structlog
from msgspec import UNSET, UnsetType
from redis.exceptions import RedisError
from starlette.responses import Response

from api.auth import services_of
from api.endpoints import Call, Fields, Group, ListOf, Reply
from api.responses import Json, page
from api.routes import params
from api.validation import Str, StrList
from runtime.access import keys
from runtime.live import hub
from runtime.platform.errors import Forbidden

log = structlog.get_logger(__name__)


class ApiKeyCreate(Fields):
    name: Annotated[str, Str(200, 1)]
    scopes: Annotated[
        list[str] | UnsetType | None, StrList(len(keys.ALL_SCOPES), Str(40, enum=keys.ALL_SCOPES))
    ] = UNSET

    examples: ClassVar[dict[str, Any]] = {
        "readOnly": {"name": "dashboard", "scopes": ["interviews:read", "sessions:read"]}
    }


op = Group("api-keys", "researcher", keys.KEYS_MANAGE)


@op(
    "POST /v1/api-keys",
    "createApiKey",
    "Create an API key (the plaintext key is in this response only)",
    Reply(201, "The new key, with its plaintext `key`", keys.ApiKeyCreated),
    errors={403: "The calling key lacks keys:manage, or a scope asked for"},
    body=ApiKeyCreate,
    description="scopes defaults to the calling key's scopes; a key cannot grant a "
    "scope it does not hold. The new key has the calling key's rate-limit plan.",
)
async def create(call: Call[ApiKeyCreate]) -> Response:
    request, principal = call.request, call.key
    body = await call.body()
    scopes = body.scopes if isinstance(body.scopes, list) else None
    wanted = set(principal.scopes if scopes is None else scopes)
    beyond = [s for s in keys.ALL_SCOPES if s in wanted - principal.scopes]
    if beyond:
        raise Forbidden(
            f"a key cannot grant scopes it does not hold: {', '.join(beyond)}", field="scopes"
        )
    # The new key shares its creator's rate-limit plan; only the operator picks plans.
    created = await keys.create_key(
        services_of(request).db,
        principal.workspace_id,
        body.name,
        tuple(wanted),
        principal.plan,
    )
    view = keys.ApiKeyCreated(
        id=created.id,
        name=created.name,
        prefix=created.prefix,
        scopes=list(created.scopes),
        plan=created.plan,
        created_at=created.created_at,
        last_used_at=None,
        key=created.plaintext,
    )
    return Json(view, status_code=201)


@op(
    "GET /v1/api-keys",
    "listApiKeys",
    "List the workspace's live keys, newest first (never the secret)",
    Reply(200, "One page of keys", ListOf(keys.ApiKey)),
    query=(params.LIMIT, params.CURSOR),
)
async def list_(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    items = await keys.list_page(
        services_of(request).db,
        principal.workspace_id,
        call.query(params.CURSOR),
        call.query(params.LIMIT),
    )
    return page(items)


@op(
    "DELETE /v1/api-keys/{id}",
    "revokeApiKey",
    "Revoke a key: it fails from the very next request, on every API process",
    Reply(204, "Revoked"),
    errors={404: "No such live key in this workspace"},
)
async def revoke(call: Call[None]) -> Response:
    request, principal = call.request, call.key
    services = services_of(request)
    key_id = call.path["id"]
    await keys.revoke(services.db, principal.workspace_id, key_id)
    try:
        await hub.announce_revocation(services.redis, key_id)
    except RedisError as exc:
        # Revoked all the same (SQL says so): streams it opened close at their next heartbeat.
        log.warning("keys.revocation_notice_failed", key_id=key_id, error=str(exc))
    return Response(status_code=204)


endpoints = op.endpoints

"""Researcher endpoints for API keys: create (plaintext shown once), list, revoke."""

from __future__ import annotations

import structlog
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.auth import researcher, services_of
from api.responses import Json, page
from api.routes import params
from api.validation import Body, Obj, Str, StrList, parse
from runtime.access import keys
from runtime.live import hub
from runtime.platform.errors import Forbidden

log = structlog.get_logger(__name__)

KEY_CREATE = Body(
    "ApiKeyCreate",
    Obj(
        {
            "name": Str(200, 1),
            "scopes": StrList(len(keys.ALL_SCOPES), Str(40, enum=keys.ALL_SCOPES)),
        },
        required=("name",),
    ),
    examples={"readOnly": {"name": "dashboard", "scopes": ["interviews:read", "sessions:read"]}},
)


async def create(request: Request) -> Response:
    principal = await researcher(request, keys.KEYS_MANAGE)
    fields = await parse(request, KEY_CREATE)
    scopes = fields.get("scopes")
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
        fields["name"],
        tuple(wanted),
        principal.plan,
    )
    view = {
        "id": created.id,
        "name": created.name,
        "prefix": created.prefix,
        "scopes": list(created.scopes),
        "plan": created.plan,
        "created_at": created.created_at,
        "last_used_at": None,
        "key": created.plaintext,
    }
    return Json(view, status_code=201)


async def list_(request: Request) -> Response:
    principal = await researcher(request, keys.KEYS_MANAGE)
    items, cursor = await keys.list_page(
        services_of(request).db,
        principal.workspace_id,
        request.query_params.get("cursor"),
        params.limit(request),
    )
    return page(items, cursor)


async def revoke(request: Request) -> Response:
    principal = await researcher(request, keys.KEYS_MANAGE)
    services = services_of(request)
    key_id = request.path_params["id"]
    await keys.revoke(services.db, principal.workspace_id, key_id)
    try:
        await hub.announce_revocation(services.redis, key_id)
    except RedisError as exc:
        # Revoked all the same (SQL says so): streams it opened close at their next heartbeat.
        log.warning("keys.revocation_notice_failed", key_id=key_id, error=str(exc))
    return Response(status_code=204)


routes = [
    Route("/v1/api-keys", create, methods=["POST"]),
    Route("/v1/api-keys", list_, methods=["GET"]),
    Route("/v1/api-keys/{id}", revoke, methods=["DELETE"]),
]

"""The console's sign-in: an API key exchanged for a short-lived ticket, and signing out."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from api.auth import bearer, services_of
from api.endpoints import Call, Group, Reply
from api.responses import Json
from runtime.access import console_tickets, keys
from runtime.access.keys import Scope
from runtime.platform.errors import Unauthorized
from runtime.platform.views import Meta, Timestamp, View


class ConsoleTicket(View):
    """A console ticket: send it as `Authorization: Bearer ct_…` wherever the key is accepted."""

    ticket: Annotated[str, Meta(description="The ticket (shown in this response only)")]
    expires_at: Timestamp
    key_id: Annotated[str, Meta(description="The API key it stands for")]
    scopes: Annotated[list[Scope], Meta(description="Exactly the key's scopes")]
    workspace_id: str


# The console shows sessions: a key that cannot read them has nothing to sign in to.
op = Group("console", "researcher", keys.SESSIONS_READ)


@op(
    "POST /v1/console/tickets",
    "createConsoleTicket",
    "Exchange an API key (or a live console ticket) for a fresh console ticket",
    Reply(201, "The ticket", ConsoleTicket),
    errors={401: "No API key or ticket, or it is not valid (revoked, expired, unknown)"},
    description="The ticket carries exactly the "
    "key's scopes, stands for it wherever an API key is accepted (`Authorization: Bearer "
    "ct_…`, streams included), expires after RAPPORT_CONSOLE_TICKET_TTL_SECONDS (900 s) "
    "and fails at once, on every node, when the key is revoked (streams opened with it "
    "close). Sent with a live ticket, it renews the sign-in: the console page keeps only "
    "the ticket, never the key. See docs/live-console.md.",
)
async def create(call: Call[None]) -> Response:
    services = services_of(call.request)
    principal = call.key
    ttl = services.settings.console_ticket_ttl_seconds
    issued = await console_tickets.issue(services.redis, principal, ttl)
    view = ConsoleTicket(
        ticket=issued.ticket,
        expires_at=issued.expires_at,
        key_id=principal.key_id,
        scopes=[s for s in keys.ALL_SCOPES if s in principal.scopes],
        workspace_id=principal.workspace_id,
    )
    return Json(view, status_code=201)


@op(
    "DELETE /v1/console/tickets/current",
    "deleteConsoleTicket",
    "Sign out: the console ticket sent fails from the next request on",
    Reply(204, "Signed out"),
    errors={401: "The bearer is not a live console ticket (ct_…): expired, or signed out"},
)
async def delete(call: Call[None]) -> Response:
    token = bearer(call.request) or ""
    if not console_tickets.is_ticket(token):
        raise Unauthorized("send the console ticket to end as 'Authorization: Bearer ct_…'")
    await console_tickets.forget(services_of(call.request).redis, token)
    return Response(status_code=204)


endpoints = op.endpoints

"""Builds the Starlette application around one set of runtime services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from api import errors
from api.boundary import guard
from api.catalog import ENDPOINTS
from api.idempotency import Idempotency
from api.middleware import Edge
from api.routes import pages
from runtime.platform.errors import DomainError
from runtime.platform.settings import Settings
from runtime.roles import StartHook
from runtime.services import Services


def create_app(settings: Settings, on_start: Sequence[StartHook] = ()) -> Starlette:
    """`on_start` hooks run with the opened services and return their own stop function."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = await Services.open(settings)
        app.state.services = services
        stops = [await hook(services) for hook in on_start]
        try:
            yield
        finally:
            for stop in reversed(stops):
                await stop()
            await services.close()

    handlers: dict[Any, Any] = {
        DomainError: errors.domain_error,
        HTTPException: errors.http_error,
        # Store errors from routes are answered inside the middleware (503 unavailable with
        # the request id and security headers; anything else from a store stays a 500).
        RedisError: errors.unexpected,
        SQLAlchemyError: errors.unexpected,
        Exception: errors.unexpected,
    }
    app = Starlette(
        routes=[
            *(endpoint.route() for endpoint in ENDPOINTS),
            *pages.routes,
        ],
        middleware=[
            Middleware(
                Edge, max_body_bytes=settings.max_body_bytes, cors_origins=settings.cors_origins
            ),
            Middleware(Idempotency),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.endpoints = ENDPOINTS  # what GET /v1/openapi.json describes
    # Every route refuses paths and query strings that no store could hold.
    guard(app.router.routes)
    return app

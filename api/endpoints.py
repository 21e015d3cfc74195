"""Each endpoint declared once, beside its handler: the route, the OpenAPI operation, the body
it reads and the scope it checks all come from that one declaration.

    op = Group("interviews", "researcher", keys.INTERVIEWS_WRITE)

    @op("POST /v1/interviews", "createInterview", "Create an interview", Reply(201, ...),
        body=InterviewCreate)
    async def create(call: Call[InterviewCreate]) -> Response:
        fields = await call.body()  # validated, typed
        ...

A researcher endpoint's key is checked for its scope before the handler runs (`call.key`).
Other kinds of credential (session token, ticket, a key or a token) stay with the handler,
which checks them before it reads the body, so a 401 still comes before a 400.

Request bodies are msgspec Structs (`Fields`): msgspec rather than pydantic v2 because it is
5 to 40 times faster than json.dumps on the stream and export hot paths and 3 to 6 times
faster than pydantic (figures in docs/api.md, from `python -m bench.encoding`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_type_hints

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from api import paths
from api.auth import researcher
from api.query import Query
from api.validation import Body, Obj, parse
from runtime.access.keys import Principal
from runtime.platform.views import View

Auth = Literal["researcher", "respondent", "stream", "session", "public"]


class Fields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A JSON request body. Each field is `Annotated` with the check (api.validation) that
    validates it with today's messages and `field`, and documents it; a field with a default
    is optional. `UNSET` marks a field the client did not send (PATCH: leave it as it is)."""

    examples: ClassVar[dict[str, Any]] = {}

    def given(self) -> dict[str, Any]:
        """The fields the client sent, as the runtime's update functions take them."""
        out: dict[str, Any] = {}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not msgspec.UNSET:
                out[name] = value
        return out


F = TypeVar("F", bound=Fields)
T = TypeVar("T")
B = TypeVar("B", bound=Fields | None, covariant=True)


@cache
def spec(cls: type[Fields]) -> Body:
    """The body's check and schema, read from the Struct's annotations (cached per class)."""
    hints = get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in msgspec.structs.fields(cls)}
    # In the order the fields were first declared (a subclass redeclaring one keeps its place).
    names = [name for name in hints if name in fields]
    checks = {name: get_args(hints[name])[1] for name in names}
    required = tuple(name for name in names if fields[name].required)
    return Body(cls.__name__, Obj(checks, required=required), dict(cls.examples))


async def read(request: Request, cls: type[F], *, allow_empty: bool = False) -> F:
    values = await parse(request, spec(cls), allow_empty=allow_empty)
    return msgspec.convert(values, cls)


BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}  # a reply's bytes


@dataclass(frozen=True)
class ListOf:
    """A reply that is one page of a view (runtime.stores.pagination.Page), published as
    `<View>List`."""

    view: type[View]

    @property
    def name(self) -> str:
        return f"{self.view.__name__}List"


@dataclass(frozen=True)
class Reply:
    status: int
    description: str
    # A view struct, a page of one, a component name, an inline schema, or no body.
    schema: type[View] | ListOf | str | dict[str, Any] | None = None
    media: str = "application/json"
    # Further media types the same reply may come as (plain-text bodies: schema string).
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says of one endpoint (api.openapi.assembly renders it)."""

    method: str
    path: str  # OpenAPI's form: {name}, never a Starlette converter
    operation_id: str
    summary: str
    tag: str
    auth: Auth
    replies: tuple[Reply, ...]
    # Error statuses beyond the automatic ones (400 with a body or query, 401 when
    # authenticated, 413 when a body may be sent, 500 always), or a specific description.
    errors: Mapping[int, str] = field(default_factory=dict)
    body: Body | None = None
    body_required: bool = True
    body_description: str = ""
    query: tuple[Query[Any], ...] = ()
    headers: tuple[str, ...] = ()  # components/parameters names
    description: str = ""
    websocket: bool = False
    scope: str | None = None  # the API key scope a researcher operation requires
    # A raw (non-JSON) request body: its media types.
    upload: tuple[str, ...] = ()
    # The body's content is held to the deployment's RAPPORT_MAX_MESSAGE_CHARS too.
    message_limit: bool = False
    # Error codes an endpoint answers at a status beside that status's own (a 400 that may
    # be not_audio or no_speech as well as validation_error).
    codes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def path_params(self) -> tuple[tuple[str, str], ...]:
        """Each path parameter and what it is (api.paths)."""
        return paths.described(self.path)


@dataclass(frozen=True)
class Call(Generic[B]):
    """One request to a declared endpoint: the request, the checked key, and its body."""

    request: Request
    endpoint: Endpoint
    principal: Principal | None
    body_type: type[B] | None

    @property
    def key(self) -> Principal:
        """The researcher's key, already checked for the endpoint's scope."""
        assert self.principal is not None, "only researcher endpoints have a checked key"
        return self.principal

    async def check_key(self) -> Principal:
        """For an endpoint that takes a key or another credential, once the handler knows it
        was given a key: the key, checked for the declared scope."""
        scope = self.endpoint.operation.scope
        assert scope is not None, "this endpoint declares no scope"
        return await researcher(self.request, scope)

    def query(self, param: Query[T]) -> T:
        """A declared query parameter's value (a 400 naming it when it is not valid)."""
        assert param in self.endpoint.operation.query, f"{param.name} is not declared"
        return param(self.request)

    @property
    def path(self) -> Mapping[str, str]:
        return self.request.path_params

    async def body(self) -> B:
        """The validated body (an empty one is the defaults when the body is optional)."""
        cls = self.body_type
        assert cls is not None, "this endpoint declares no body"
        allow_empty = not self.endpoint.operation.body_required
        return await read(self.request, cls, allow_empty=allow_empty)  # type: ignore[type-var]


Handler = Callable[[Call[Any]], Awaitable[Response]]
# Served as it is: a plain ASGI app (a live stream) or a WebSocket function. Either checks its
# credentials itself, as the stream's kinds of credential are its own (api.auth.stream_reader).
Raw = ASGIApp | Callable[[WebSocket], Awaitable[None]]
R = TypeVar("R", bound=Raw)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a catalog caches by it
class Endpoint:
    operation: Operation
    handler: Handler | None
    body_type: type[Fields] | None = None
    route_path: str = ""  # Starlette's, when it has a converter ({key:path}); else the path
    raw: Raw | None = None

    async def handle(self, request: Request) -> Response:
        op = self.operation
        principal = None
        if op.auth == "researcher" and op.scope is not None:
            principal = await researcher(request, op.scope)
        assert self.handler is not None
        return await self.handler(Call(request, self, principal, self.body_type))

    def route(self) -> BaseRoute:
        path = self.route_path or self.operation.path
        if self.operation.websocket:
            return WebSocketRoute(path, self.raw)  # type: ignore[arg-type]
        if self.raw is not None:
            return Route(path, self.raw, methods=[self.operation.method.upper()])
        assert self.handler is not None
        # Starlette names a route after its endpoint; keep the handler's name (metrics, logs).
        return Route(
            path, self.handle, methods=[self.operation.method.upper()], name=self.handler.__name__
        )


class Group:
    """Declares the endpoints of one tag that share an authentication (and usually a scope)."""

    def __init__(self, tag: str, auth: Auth, scope: str | None = None) -> None:
        self.tag = tag
        self.auth = auth
        self.scope = scope
        self.endpoints: list[Endpoint] = []

    def __call__(
        self,
        route: str,
        operation_id: str,
        summary: str,
        *replies: Reply,
        body: type[F] | None = None,
        **more: Any,
    ) -> Callable[[Callable[[Call[F]], Awaitable[Response]]], Endpoint]:
        operation, route_path = self._operation(route, operation_id, summary, replies, body, more)

        def declare(handler: Callable[[Call[F]], Awaitable[Response]]) -> Endpoint:
            endpoint = Endpoint(operation, handler, body, route_path)
            self.endpoints.append(endpoint)
            return endpoint

        return declare

    def raw(
        self, route: str, operation_id: str, summary: str, *replies: Reply, **more: Any
    ) -> Callable[[R], R]:
        """Declares an endpoint served as it is (see `Raw`); `websocket=True` for a WebSocket."""
        operation, route_path = self._operation(route, operation_id, summary, replies, None, more)

        def declare(app: R) -> R:
            self.endpoints.append(Endpoint(operation, None, None, route_path, app))
            return app

        return declare

    def _operation(
        self,
        route: str,
        operation_id: str,
        summary: str,
        replies: tuple[Reply, ...],
        body: type[Fields] | None,
        more: dict[str, Any],
    ) -> tuple[Operation, str]:
        method, route_path = route.split(" ", 1)
        more.setdefault("scope", self.scope)
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route_path)  # OpenAPI names {key:path} {key}
        paths.described(path)  # every parameter is declared, or the declaration fails here
        operation = Operation(
            method.lower(),
            path,
            operation_id,
            summary,
            self.tag,
            self.auth,
            replies,
            body=None if body is None else spec(body),
            **more,
        )
        return operation, route_path

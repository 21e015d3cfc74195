"""The respondent page, the researchers' console, and their static assets."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from api.endpoints import Call, Group, Reply

STATIC = Path(__file__).resolve().parents[2] / "static"

page = Group("pages", "public")


@page(
    "GET /i/{share_token}",
    "respondentPage",
    "The respondent page (HTML)",
    Reply(200, "The page; it loads the interview itself", {"type": "string"}, "text/html"),
    description="Served for any token: the page reports an unknown link itself.",
)
async def respondent_page(call: Call[None]) -> Response:
    return FileResponse(STATIC / "respondent.html", headers={"cache-control": "no-cache"})


@page(
    "GET /console",
    "consolePage",
    "The researchers' live console (HTML)",
    Reply(200, "The page; it signs in with an API key itself", {"type": "string"}, "text/html"),
    description="Watch an interview's sessions live, steer them, take notes. The page keeps "
    "only a console ticket, in memory (docs/live-console.md).",
)
async def console_page(call: Call[None]) -> Response:
    return FileResponse(STATIC / "console.html", headers={"cache-control": "no-cache"})


endpoints = page.endpoints
# Not an operation: the page's scripts and styles.
routes = [
    Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static"),
]

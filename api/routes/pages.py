"""The respondent page and its static assets."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parents[2] / "static"


async def respondent_page(request: Request) -> Response:
    return FileResponse(STATIC / "respondent.html", headers={"cache-control": "no-cache"})


routes = [
    Route("/i/{share_token}", respondent_page, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static"),
]
